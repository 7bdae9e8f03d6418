"""Refuse a deployment that uses another region's database, broker, media folder or master key.

Each region runs its own deployment, and lists the other regions' resources in its settings,
without their secrets:

- ``OTHER_REGION_DATABASE_URLS``: their database URLs (the password may be left out);
- ``OTHER_REGION_BROKER_URLS``: their broker (and cache) URLs;
- ``OTHER_REGION_MEDIA_ROOTS``: the folders their files are stored in;
- ``OTHER_REGION_KEY_FINGERPRINTS``: their master keys' fingerprints
  (``manage.py master_key_fingerprint``), never the keys.

A database or broker is identified by its server (host and port), not only by the database
name: two regions on one server keep both regions' data in one place. A folder is shared when
it is the other's folder or lies inside or around it, so give each region's media a path of its
own even where each runs in its own container. Different names for one server (an IP address
and a host name, a DNS alias) cannot be seen from here.
"""

import re
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages

from encryption import keys

DEVELOPMENT_REGION = "local"
REGION_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
_LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})
_DEFAULT_PORTS = {
    "postgres": 5432,
    "postgresql": 5432,
    "postgis": 5432,
    "pgsql": 5432,
    "mysql": 3306,
    "mysql2": 3306,
    "oracle": 1521,
    "redis": 6379,
    "rediss": 6379,
    "amqp": 5672,
    "amqps": 5671,
}


@checks.register("regions")
def check_data_region(app_configs=None, **kwargs) -> list[checks.Error]:
    """Report a bad region name, or any resource this region shares with another."""
    return [
        *_region_name_errors(),
        *_database_errors(),
        *_broker_errors(),
        *_media_errors(),
        *_key_errors(),
    ]


def refuse_shared_resources() -> None:
    """Raise ImproperlyConfigured if the region check finds anything wrong."""
    errors = check_data_region()
    if errors:
        raise ImproperlyConfigured(
            "This region's configuration is refused:\n"
            + "\n".join(f"{error.id}: {error.msg} {error.hint or ''}".strip() for error in errors)
        )


def _region_name_errors() -> list[checks.Error]:
    region = settings.DATA_REGION
    if not REGION_NAME.fullmatch(region):
        return [
            checks.Error(
                f"DATA_REGION {region!r} is not a region name.",
                hint="Use lower-case letters, digits and dashes, such as 'us' or 'eu-west'.",
                id="regions.E001",
            )
        ]
    if settings.PRODUCTION and region == DEVELOPMENT_REGION:
        return [
            checks.Error(
                f"Production needs DATA_REGION set to this deployment's region, not the "
                f"development default {DEVELOPMENT_REGION!r}.",
                hint="Set DATA_REGION, for example to 'us' or 'eu'.",
                id="regions.E002",
            )
        ]
    return []


def _database_errors() -> list[checks.Error]:
    others, errors = set(), []
    for url in settings.OTHER_REGION_DATABASE_URLS:
        identity = _listed_database_identity(url)
        if identity is not None:
            others.add(identity)
        else:
            errors.append(
                checks.Error(
                    "OTHER_REGION_DATABASE_URLS has an entry that is not a database URL.",
                    hint="Write each as a URL, such as postgres://db.eu.internal:5432/bounty.",
                    id="regions.E007",
                )
            )
    for alias, config in settings.DATABASES.items():
        identity = _database_identity(config)
        if identity in others:
            errors.append(
                checks.Error(
                    f"DATABASES[{alias!r}] is {_describe(identity)}, which "
                    "OTHER_REGION_DATABASE_URLS names as another region's database.",
                    hint="Give each region a database server of its own.",
                    id="regions.E003",
                )
            )
    return errors


def _broker_errors() -> list[checks.Error]:
    others = {_server_identity(url) for url in settings.OTHER_REGION_BROKER_URLS}
    errors = []
    for setting, url in _broker_urls():
        identity = _server_identity(url)
        if identity is not None and identity in others:
            errors.append(
                checks.Error(
                    f"{setting} is {_describe(identity)}, which OTHER_REGION_BROKER_URLS names "
                    "as another region's broker.",
                    hint="Give each region a Redis (broker and cache) of its own.",
                    id="regions.E004",
                )
            )
    return errors


def _media_errors() -> list[checks.Error]:
    others = [Path(root).resolve() for root in settings.OTHER_REGION_MEDIA_ROOTS]
    errors = []
    for setting, root in _media_roots():
        shared = [other for other in others if _overlap(root, other)]
        if shared:
            errors.append(
                checks.Error(
                    f"{setting} ({root}) is, or holds, or lies inside {shared[0]}, which "
                    "OTHER_REGION_MEDIA_ROOTS names as another region's media.",
                    hint="Store each region's files in a folder (and volume) of its own.",
                    id="regions.E005",
                )
            )
    return errors


def _key_errors() -> list[checks.Error]:
    others = {fingerprint.strip().lower() for fingerprint in settings.OTHER_REGION_KEY_FINGERPRINTS}
    shared = [
        fingerprint for fingerprint in keys.master_key_fingerprints() if fingerprint in others
    ]
    if not shared:
        return []
    return [
        checks.Error(
            f"A master key of this region (fingerprint {shared[0]}) is another region's: "
            "OTHER_REGION_KEY_FINGERPRINTS lists it.",
            hint="Generate a master key for each region; never copy one between regions.",
            id="regions.E006",
        )
    ]


def _database_identity(config: dict) -> tuple:
    engine = config.get("ENGINE", "")
    if engine.endswith("sqlite3"):
        return ("file", str(Path(config.get("NAME") or "").resolve()))
    family = engine.rsplit(".", 1)[-1]
    port = config.get("PORT") or _DEFAULT_PORTS.get(family, "")
    return ("server", _host(config.get("HOST")), str(port))


def _listed_database_identity(url: str) -> tuple | None:
    if "://" not in url:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # django-environ warns of unknown schemes
            config = environ.Env.db_url_config(url)
    except (ImproperlyConfigured, KeyError, ValueError):
        return None
    identity = _database_identity(config)
    readable = config.get("ENGINE") and (config.get("HOST") or identity[0] == "file")
    return identity if readable else None


def _server_identity(url: str) -> tuple | None:
    parts = urlsplit(url)
    if parts.scheme in {"filesystem", "memory"}:
        return None  # in-process or local-folder brokers: development only
    if parts.hostname is None and parts.path:
        return ("socket", parts.path)
    try:
        port = parts.port
    except ValueError:
        port = None
    return ("server", _host(parts.hostname), str(port or _DEFAULT_PORTS.get(parts.scheme, "")))


def _broker_urls() -> list[tuple[str, str]]:
    urls = [("CELERY_BROKER_URL", settings.CELERY_BROKER_URL)]
    for alias, config in settings.CACHES.items():
        locations = config.get("LOCATION") or []
        for location in [locations] if isinstance(locations, str) else locations:
            if "://" in location:
                urls.append((f"CACHES[{alias!r}]", location))
    return urls


def _media_roots() -> list[tuple[str, Path]]:
    roots = [("MEDIA_ROOT", Path(settings.MEDIA_ROOT).resolve())]
    location = getattr(storages["encrypted"], "location", None)
    if location and Path(location).resolve() != roots[0][1]:
        roots.append(('STORAGES["encrypted"]', Path(location).resolve()))
    return roots


def _overlap(one: Path, other: Path) -> bool:
    return one == other or one in other.parents or other in one.parents


def _host(host) -> str:
    host = (host or "").strip("[]").lower()
    return "localhost" if host in _LOCAL_HOSTS else host


def _describe(identity: tuple) -> str:
    kind, *rest = identity
    if kind == "server":
        host, port = rest
        return f"the server {host}:{port}" if port else f"the server {host}"
    return f"the {kind} {rest[0]}"
