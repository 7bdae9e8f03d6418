"""Production refuses to start without a valid master key; development makes its own."""

import stat

from encryption.keys import generate_master_key
from tests.processes import run_manage

STRONG_SECRET_KEY = "k" * 20 + "Zq8#vLp2@xN5!rT7wY0&mB3$cF6^hJ9*" + "s" * 10
PRODUCTION = {
    "BOUNTY_ENV": "production",
    "SECRET_KEY": STRONG_SECRET_KEY,
    "ALLOWED_HOSTS": "desk.example.test",
    "DATA_REGION": "eu",
}


def _manage(*args, **env):
    return run_manage(*args, env=env, unset=("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "BOUNTY_"))


def test_production_refuses_to_start_without_a_master_key():
    result = _manage("check", **PRODUCTION)

    assert result.returncode != 0
    assert "BOUNTY_MASTER_KEY" in result.stderr


def test_production_refuses_a_malformed_master_key_without_printing_it():
    result = _manage("check", BOUNTY_MASTER_KEY="hunter2-is-not-a-key", **PRODUCTION)

    assert result.returncode != 0
    assert "BOUNTY_MASTER_KEY" in result.stderr
    assert "hunter2" not in result.stderr


def test_a_malformed_old_key_is_refused_as_well():
    result = _manage(
        "check",
        BOUNTY_MASTER_KEY=generate_master_key(),
        BOUNTY_OLD_MASTER_KEYS="short",
        **PRODUCTION,
    )

    assert result.returncode != 0
    assert "BOUNTY_OLD_MASTER_KEYS" in result.stderr


def test_production_starts_with_a_valid_master_key():
    result = _manage("check", BOUNTY_MASTER_KEY=generate_master_key(), **PRODUCTION)

    assert result.returncode == 0, result.stderr


def test_development_keeps_its_own_private_master_key_beside_the_database(tmp_path):
    result = _manage("check", BOUNTY_DATA_DIR=str(tmp_path))

    assert result.returncode == 0, result.stderr
    key_file = tmp_path / "dev-master-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first_key = key_file.read_text()
    assert _manage("check", BOUNTY_DATA_DIR=str(tmp_path)).returncode == 0
    assert key_file.read_text() == first_key
