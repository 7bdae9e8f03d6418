"""The regions check: a deployment refuses another region's database, broker, media or key."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from encryption.keys import (
    derive_key,
    generate_master_key,
    master_key_fingerprint,
    parse_master_key,
)
from regions.checks import check_data_region
from tests.processes import run_manage

ROOT = Path(__file__).resolve().parents[2]
STRONG_SECRET_KEY = "k" * 20 + "Zq8#vLp2@xN5!rT7wY0&mB3$cF6^hJ9*" + "s" * 10


def error_ids() -> list[str]:
    return [error.id for error in check_data_region()]


def fingerprint_of(master_key: str) -> str:
    return derive_key(parse_master_key(master_key, setting="test"), "fingerprint").key_id


@pytest.fixture(autouse=True)
def nothing_listed(settings):
    settings.OTHER_REGION_DATABASE_URLS = []
    settings.OTHER_REGION_BROKER_URLS = []
    settings.OTHER_REGION_MEDIA_ROOTS = []
    settings.OTHER_REGION_KEY_FINGERPRINTS = []


def test_a_region_that_shares_nothing_passes(settings, tmp_path):
    settings.OTHER_REGION_DATABASE_URLS = ["postgres://eu-db:5432/bounty"]
    settings.OTHER_REGION_BROKER_URLS = ["redis://eu-redis:6379/0"]
    settings.OTHER_REGION_MEDIA_ROOTS = [str(tmp_path / "eu" / "media")]
    settings.OTHER_REGION_KEY_FINGERPRINTS = [fingerprint_of(generate_master_key())]

    assert error_ids() == []


@pytest.mark.parametrize("name", ["EU", "eu west", "-eu", "", "e" * 33])
def test_a_region_name_is_lower_case_letters_digits_and_dashes(settings, name):
    settings.DATA_REGION = name

    assert error_ids() == ["regions.E001"]


def test_production_needs_a_real_region_name(settings):
    settings.PRODUCTION = True
    settings.DATA_REGION = "local"

    assert error_ids() == ["regions.E002"]


@pytest.mark.parametrize(
    "listed",
    ["redis://EU-REDIS/3", "redis://:password@eu-redis:6379/0", "rediss://eu-redis:6379"],
)
def test_another_regions_redis_is_refused_as_broker_whatever_its_database_number(settings, listed):
    settings.CELERY_BROKER_URL = "redis://eu-redis:6379/0"
    settings.OTHER_REGION_BROKER_URLS = [listed]

    assert error_ids() == ["regions.E004"]


def test_a_cache_on_another_regions_redis_is_refused(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://eu-redis:6379/1",
        }
    }
    settings.OTHER_REGION_BROKER_URLS = ["redis://eu-redis:6379/0"]

    assert error_ids() == ["regions.E004"]
    assert "CACHES['default']" in check_data_region()[0].msg


@pytest.mark.parametrize("other", ["media", "media/eu", "."])
def test_media_in_around_or_at_another_regions_folder_is_refused(settings, tmp_path, other):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.OTHER_REGION_MEDIA_ROOTS = [str(tmp_path / other)]

    assert error_ids() == ["regions.E005"]


def test_a_sibling_media_folder_is_not_shared(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "us" / "media"
    settings.OTHER_REGION_MEDIA_ROOTS = [str(tmp_path / "eu" / "media")]

    assert error_ids() == []


def test_another_regions_master_key_is_refused_by_its_fingerprint(settings):
    settings.OTHER_REGION_KEY_FINGERPRINTS = [f" {master_key_fingerprint().upper()} "]

    assert error_ids() == ["regions.E006"]


def test_another_regions_key_kept_as_an_old_key_is_refused_too(settings):
    theirs = generate_master_key()
    settings.BOUNTY_OLD_MASTER_KEYS = [theirs]
    settings.OTHER_REGION_KEY_FINGERPRINTS = [fingerprint_of(theirs)]

    assert error_ids() == ["regions.E006"]


def test_a_database_url_that_cannot_be_read_is_reported(settings):
    settings.OTHER_REGION_DATABASE_URLS = ["not a url"]

    assert error_ids() == ["regions.E007"]


def test_the_fingerprint_command_prints_the_current_keys_fingerprint_only(settings):
    out = StringIO()

    call_command("master_key_fingerprint", stdout=out)

    assert out.getvalue().strip() == master_key_fingerprint()
    assert settings.BOUNTY_MASTER_KEY not in out.getvalue()


# Whole processes, configured from the environment as deployed


def _manage(*args, **env):
    return run_manage(
        *args, env=env, unset=("OTHER_REGION_", "BOUNTY_", "DATA_REGION", "SECRET_KEY")
    )


def test_the_check_refuses_another_regions_database_server(tmp_path):
    result = _manage(
        "check",
        BOUNTY_DATA_DIR=str(tmp_path),
        DATABASE_URL="postgres://bounty:secret-us@db.us.internal/bounty_us",
        OTHER_REGION_DATABASE_URLS="postgres://db.US.internal:5432/bounty_eu",
    )

    assert result.returncode != 0
    assert "regions.E003" in result.stderr
    assert "db.us.internal:5432" in result.stderr
    assert "secret-us" not in result.stderr


def test_production_refuses_to_start_in_the_development_region(tmp_path):
    result = _manage(
        "check",
        BOUNTY_ENV="production",
        SECRET_KEY=STRONG_SECRET_KEY,
        ALLOWED_HOSTS="desk.example.test",
        BOUNTY_MASTER_KEY=generate_master_key(),
        BOUNTY_DATA_DIR=str(tmp_path),
    )

    assert result.returncode != 0
    assert "regions.E002" in result.stderr


def test_production_refuses_to_start_with_another_regions_key(tmp_path):
    key = generate_master_key()
    result = _manage(
        "check",
        BOUNTY_ENV="production",
        SECRET_KEY=STRONG_SECRET_KEY,
        ALLOWED_HOSTS="desk.example.test",
        BOUNTY_MASTER_KEY=key,
        BOUNTY_DATA_DIR=str(tmp_path),
        DATA_REGION="eu",
        OTHER_REGION_KEY_FINGERPRINTS=fingerprint_of(key),
    )

    assert result.returncode != 0
    assert "regions.E006" in result.stderr
    assert key not in result.stderr
