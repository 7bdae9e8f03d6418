"""The container files (compose.yaml, Dockerfile, .dockerignore) describe a deployable desk.

Docker is not needed: the files are read and parsed, and the promises the deployment makes
(pinned images, one shared app definition, healthy dependencies, non-root image) are checked.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from encryption.keys import derive_key, generate_master_key, parse_master_key

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

APP_SERVICES = ("web", "worker", "beat")
CODE_SERVICES = (*APP_SERVICES, "migrate")
REQUIRED_SERVICES = ("db", "redis", "mail", "migrate", "web", "worker", "beat")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, arguments = line.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def command_words(service: dict) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(word) for word in command]


def environment(service: dict) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {key: None if value is None else str(value) for key, value in env.items()}


def healthcheck_text(service: dict) -> str:
    test = (service.get("healthcheck") or {}).get("test", "")
    return " ".join(test) if isinstance(test, list) else str(test)


def depends_on(service: dict) -> dict[str, str]:
    """Service name -> condition; the short list form means only 'service_started'."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def is_pinned(image: str, version_parts: int = 2) -> bool:
    """True for a digest, or for name:tag whose tag starts with an exact release number.

    ``version_parts`` is how many dotted numbers the release needs at least: 2 rejects floating tags
    such as ``postgres:16``, ``redis:7`` or ``latest``; 3 also rejects ``python:3.11-slim``.
    """
    if DIGEST.search(image):
        return True
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag at all (a ':' only in a registry host:port)
        return False
    release = rf"v?\d+(?:\.\d+){{{version_parts - 1},}}(?!\d)"
    return re.match(release, tag) is not None


def volume_mounts(service: dict) -> dict[str, str]:
    """Container path -> source, for the short 'source:target[:mode]' syntax and long syntax."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume["target"]
        mounts[target] = source
    return mounts


# --- compose.yaml ----------------------------------------------------------------------------


def test_pinning_check_rejects_latest_and_untagged_images():
    # Guards the helper the pinning tests rely on.
    assert not is_pinned("postgres")
    assert not is_pinned("postgres:latest")
    assert not is_pinned("postgres:16")
    assert not is_pinned("registry.local:5000/postgres")
    assert not is_pinned("python:3.11-slim", version_parts=3)
    assert is_pinned("postgres:16.15-bookworm")
    assert is_pinned("axllent/mailpit:v1.27.0")
    assert is_pinned("python:3.11.15-slim-bookworm", version_parts=3)
    assert is_pinned("redis@sha256:" + "a" * 64)


def test_compose_file_follows_the_compose_spec_without_a_version_key(compose):
    assert "version" not in compose
    assert isinstance(compose.get("services"), dict)


def test_every_service_the_app_needs_exists(services):
    missing = [name for name in REQUIRED_SERVICES if name not in services]
    assert not missing, f"compose.yaml lacks services: {missing}"


def test_every_image_is_pinned_to_a_version(services):
    for name, service in services.items():
        if "build" in service:
            continue  # built from this repository; its base image is checked in the Dockerfile
        image = service.get("image")
        assert image, f"service {name!r} has neither an image nor a build"
        assert is_pinned(image), f"service {name!r} uses unpinned image {image!r}"


def test_app_services_share_one_build_and_environment(services):
    reference = services["web"]
    assert reference.get("build"), "web must be built from this repository"
    assert environment(reference), "web must have an environment"
    for name in CODE_SERVICES:
        assert services[name].get("build") == reference["build"], f"{name} builds differently"
        assert services[name].get("image") == reference.get("image"), f"{name} tags differently"
        assert environment(services[name]) == environment(reference), f"{name} env differs"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_healthy_db_and_redis_and_finished_migrations(services, name):
    conditions = depends_on(services[name])
    assert conditions.get("db") == "service_healthy"
    assert conditions.get("redis") == "service_healthy"
    assert conditions.get("migrate") == "service_completed_successfully"


def test_migrate_runs_once_after_the_database_is_healthy(services):
    migrate = services["migrate"]
    words = command_words(migrate)
    assert "manage.py" in words
    assert words[words.index("manage.py") + 1] == "migrate"
    assert "--noinput" in words
    assert depends_on(migrate).get("db") == "service_healthy"
    # A one-shot job: restarting it would keep it from ever completing.
    assert migrate.get("restart", "no") == "no"


@pytest.mark.parametrize(
    ("name", "probe"), [("db", "pg_isready"), ("redis", "ping"), ("web", "/healthz")]
)
def test_db_redis_and_web_have_healthchecks(services, name, probe):
    healthcheck = services[name].get("healthcheck") or {}
    assert not healthcheck.get("disable"), f"{name} healthcheck is disabled"
    assert probe in healthcheck_text(services[name]), f"{name} healthcheck does not run {probe}"


def test_web_healthcheck_uses_python_because_the_slim_image_has_no_curl(services):
    text = healthcheck_text(services["web"])
    assert "python" in text
    assert "urllib" in text
    assert "curl" not in text


def test_web_serves_gunicorn_on_port_8000(services):
    web = services["web"]
    words = command_words(web)
    assert words[:2] == ["gunicorn", "config.wsgi:application"]
    assert any(str(port).endswith("8000:8000") for port in web.get("ports", []))


def test_worker_runs_a_celery_worker_without_an_embedded_beat(services):
    words = command_words(services["worker"])
    assert words[0] == "celery"
    assert words[words.index("-A") + 1] == "config"
    assert "worker" in words
    assert "-B" not in words and "--beat" not in words, "beat must run only in the beat service"


def test_beat_runs_celery_beat_exactly_once(services):
    beat = services["beat"]
    words = command_words(beat)
    assert words[0] == "celery"
    assert words[words.index("-A") + 1] == "config"
    assert "beat" in words
    assert (beat.get("deploy") or {}).get("replicas", 1) == 1


def test_app_environment_provides_the_production_settings(services):
    env = environment(services["web"])
    assert env.get("BOUNTY_ENV") == "production"
    assert (env.get("DATABASE_URL") or "").startswith("postgres://")
    assert "@db:5432/" in env["DATABASE_URL"]
    broker = env.get("CELERY_BROKER_URL") or env.get("REDIS_URL") or ""
    assert broker.startswith("redis://redis:6379")
    assert "smtp://mail:1025" in (env.get("EMAIL_URL") or "")
    assert env.get("ALLOWED_HOSTS")


def test_the_app_environment_passes_the_deployment_check_with_its_own_defaults(services, tmp_path):
    # Production refuses an empty staff allowlist, so compose must choose one for `up` to work.
    variables = {"SECRET_KEY": "s" * 20 + "Zq8#vLp2@xN5!rT7wY0&mB3$cF6^hJ9*" + "t" * 10}
    variables["BOUNTY_MASTER_KEY"] = generate_master_key()
    env = {
        name: interpolate(value or "", variables)
        for name, value in environment(services["web"]).items()
    }
    assert env["ADMIN_ALLOWED_NETWORKS"]
    env.update(BOUNTY_DATA_DIR=str(tmp_path), MEDIA_ROOT=str(tmp_path / "media"))
    process_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BOUNTY_", "SECRET_KEY", "ADMIN_", "DATA_REGION", "OTHER_REGION_"))
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env={**process_env, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr + result.stdout
    assert "ADMIN_ALLOWED_NETWORKS" not in result.stderr + result.stdout


def test_secret_key_must_be_supplied_and_has_no_default(services):
    secret = environment(services["web"]).get("SECRET_KEY") or ""
    # ${SECRET_KEY:?message} makes compose refuse to start without it; no literal key is stored.
    assert re.fullmatch(r"\$\{SECRET_KEY:?\?[^}]*\}", secret), secret


def test_database_and_app_data_live_on_named_volumes(compose, services):
    declared = set(compose.get("volumes") or {})
    db_source = volume_mounts(services["db"]).get("/var/lib/postgresql/data")
    assert db_source in declared, "the database needs a named volume"
    for name in CODE_SERVICES:
        app_source = volume_mounts(services[name]).get("/app/var")
        assert app_source in declared, f"{name} needs the shared named volume at /app/var"


def test_compose_explains_how_to_scale_workers_and_that_beat_runs_once():
    header = COMPOSE_FILE.read_text()
    assert "--scale worker=" in header
    assert re.search(r"beat.*exactly once", header, re.IGNORECASE | re.DOTALL)


# --- Dockerfile and .dockerignore -------------------------------------------------------------


def test_dockerfile_base_image_is_pinned_to_a_version(dockerfile_instructions):
    bases = [args.split()[0] for keyword, args in dockerfile_instructions if keyword == "FROM"]
    assert bases, "Dockerfile has no FROM"
    for base in bases:
        # The exact Python patch release, not a floating 3.11 tag.
        assert is_pinned(base, version_parts=3), f"unpinned base image {base!r}"


def test_dockerfile_installs_dependencies_with_require_hashes(dockerfile_instructions):
    installs = [
        args for keyword, args in dockerfile_instructions if keyword == "RUN" and "pip" in args
    ]
    assert installs, "Dockerfile installs no dependencies"
    for args in installs:
        assert "--require-hashes" in args
        assert "requirements.lock" in args


def test_dockerfile_does_not_run_as_root(dockerfile_instructions):
    users = [args for keyword, args in dockerfile_instructions if keyword == "USER"]
    assert users, "Dockerfile has no USER line, so the container runs as root"
    final_user = users[-1].split(":")[0]
    assert final_user not in {"root", "0"}
    keywords = [keyword for keyword, _ in dockerfile_instructions]
    last_user_at = len(keywords) - 1 - keywords[::-1].index("USER")
    assert last_user_at < keywords.index("CMD"), "USER must come before the CMD it applies to"


def test_dockerfile_collects_static_files_without_baking_in_a_secret_key(
    dockerfile_instructions,
):
    runs = " ".join(args for keyword, args in dockerfile_instructions if keyword == "RUN")
    assert "collectstatic --noinput" in runs
    for keyword, args in dockerfile_instructions:
        if keyword in {"ENV", "ARG"}:
            assert "SECRET_KEY" not in args, f"{keyword} {args} would persist a key"


def test_dockerfile_serves_gunicorn_on_port_8000(dockerfile_instructions):
    exposed = [args for keyword, args in dockerfile_instructions if keyword == "EXPOSE"]
    assert "8000" in " ".join(exposed)
    cmd = [args for keyword, args in dockerfile_instructions if keyword == "CMD"][-1]
    assert "gunicorn" in cmd
    assert "config.wsgi:application" in cmd
    assert "0.0.0.0:8000" in cmd


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    missing = {".env", ".git", ".venv", "var"} - patterns
    assert not missing, f".dockerignore lets these into the build context: {missing}"


# --- compose.regions.yaml: two data regions side by side, sharing nothing -----------------------

REGIONS_FILE = ROOT / "compose.regions.yaml"
REGIONS = ("us", "eu")
REGION_ROLES = ("db", "redis", "mail", "migrate", "web", "worker", "beat")
# Settings naming something a region owns: none may have the same value in two regions.
REGION_RESOURCES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "EMAIL_URL",
    "BOUNTY_DATA_DIR",
    "MEDIA_ROOT",
    "SITE_URL",
    "SECRET_KEY",
    "BOUNTY_MASTER_KEY",
)
VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


@pytest.fixture(scope="module")
def region_services() -> dict[str, dict[str, dict]]:
    services = yaml.safe_load(REGIONS_FILE.read_text())["services"]
    return {
        region: {name: spec for name, spec in services.items() if name.startswith(f"{region}-")}
        for region in REGIONS
    }


def region_app_env(region_services, region) -> dict[str, str | None]:
    return environment(region_services[region][f"{region}-web"])


def variables_in(value: str | None) -> set[str]:
    return {match.group(1) for match in VARIABLE.finditer(value or "")}


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Substitute ${NAME}, ${NAME:-default} and ${NAME:?error} as compose does."""

    def substitute(match):
        name, operator, default = match.group(1), match.group(2) or "", match.group(3) or ""
        if name in variables:
            return variables[name]
        assert operator.endswith("-"), f"{name} is required"
        return default

    return VARIABLE.sub(substitute, value)


def test_each_region_runs_the_whole_stack_and_nothing_else_runs(region_services):
    all_services = yaml.safe_load(REGIONS_FILE.read_text())["services"]
    assert sum(len(services) for services in region_services.values()) == len(all_services)
    for region in REGIONS:
        assert set(region_services[region]) == {f"{region}-{role}" for role in REGION_ROLES}


def test_regions_share_no_volume(region_services):
    sources = {
        region: {source for s in services.values() for source in volume_mounts(s).values()}
        for region, services in region_services.items()
    }
    assert all(sources.values())
    assert sources["us"].isdisjoint(sources["eu"])


def test_regions_share_no_network(region_services):
    networks = {}
    for region, services in region_services.items():
        for name, service in services.items():
            # A service without networks joins the project's default network, shared by both.
            assert service.get("networks"), f"{name} would join the shared default network"
        networks[region] = {network for s in services.values() for network in s["networks"]}
    assert networks == {"us": {"us"}, "eu": {"eu"}}


def test_regions_share_no_published_port(region_services):
    ports = {
        region: {str(p).rsplit(":", 1)[0] for s in services.values() for p in s.get("ports", [])}
        for region, services in region_services.items()
    }
    assert ports["us"].isdisjoint(ports["eu"])


def test_regions_share_no_resource_setting_and_no_key_variable(region_services):
    values, key_variables = {}, {}
    for region, services in region_services.items():
        envs = [environment(s) for s in services.values() if "build" in s]
        assert len(envs) == 4, "migrate, web, worker and beat carry the app's settings"
        assert all(env == envs[0] for env in envs), f"{region} app services differ"
        env = envs[0]
        assert env.get("DATA_REGION") == region
        values[region] = {(name, env[name]) for name in REGION_RESOURCES if env.get(name)}
        key_variables[region] = variables_in(env["SECRET_KEY"]) | variables_in(
            env["BOUNTY_MASTER_KEY"]
        )
        for name in ("SECRET_KEY", "BOUNTY_MASTER_KEY"):
            assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", env[name]), f"{region} {name} has a default"
    assert values["us"].isdisjoint(values["eu"])
    assert key_variables["us"].isdisjoint(key_variables["eu"])


def test_each_regions_urls_name_only_its_own_services(region_services):
    for region in REGIONS:
        env = region_app_env(region_services, region)
        for name in ("DATABASE_URL", "REDIS_URL", "EMAIL_URL"):
            host = urlsplit(interpolate(env[name], {})).hostname
            assert host in region_services[region], f"{region} {name} points at {host}"


def test_each_region_lists_the_other_regions_resources_as_forbidden(region_services):
    for region, other in (("us", "eu"), ("eu", "us")):
        mine = region_app_env(region_services, region)
        theirs = region_app_env(region_services, other)
        forbidden_db = urlsplit(mine["OTHER_REGION_DATABASE_URLS"])
        their_db = urlsplit(interpolate(theirs["DATABASE_URL"], {}))
        assert (forbidden_db.hostname, forbidden_db.port) == (their_db.hostname, their_db.port)
        assert forbidden_db.password is None, "another region's password is never listed"
        assert urlsplit(mine["OTHER_REGION_BROKER_URLS"]).hostname == (
            urlsplit(theirs["REDIS_URL"]).hostname
        )
        assert mine["OTHER_REGION_MEDIA_ROOTS"] == theirs["MEDIA_ROOT"]
        [their_key] = variables_in(theirs["BOUNTY_MASTER_KEY"])
        assert variables_in(mine["OTHER_REGION_KEY_FINGERPRINTS"]) == {f"{their_key}_FINGERPRINT"}


def _check_region(env: dict, tmp_path) -> subprocess.CompletedProcess:
    process_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTHER_REGION_", "BOUNTY_", "DATA_REGION", "SECRET_KEY"))
    }
    # The region's settings as deployed, checked in development mode on this machine: the
    # data folder is a temporary one instead of the container's.
    process_env.update(env, BOUNTY_ENV="development", BOUNTY_DATA_DIR=str(tmp_path))
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=process_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_each_region_passes_the_regions_check_and_refuses_the_others_database_and_key(
    region_services, tmp_path
):
    variables = {"SECRET_KEY_US": "s" * 50, "SECRET_KEY_EU": "e" * 50}
    for region in ("US", "EU"):
        key = generate_master_key()
        variables[f"BOUNTY_MASTER_KEY_{region}"] = key
        variables[f"BOUNTY_MASTER_KEY_{region}_FINGERPRINT"] = derive_key(
            parse_master_key(key, setting="test"), "fingerprint"
        ).key_id
    us, eu = (
        {
            name: interpolate(value or "", variables)
            for name, value in region_app_env(region_services, region).items()
        }
        for region in REGIONS
    )

    assert _check_region(us, tmp_path / "us").returncode == 0
    assert _check_region(eu, tmp_path / "eu").returncode == 0
    crossed = _check_region(
        {**us, "DATABASE_URL": eu["DATABASE_URL"], "BOUNTY_MASTER_KEY": eu["BOUNTY_MASTER_KEY"]},
        tmp_path / "crossed",
    )
    assert crossed.returncode != 0
    assert "regions.E003" in crossed.stderr and "regions.E006" in crossed.stderr
