"""Production settings: refuse to start without secrets, and pass Django's deployment check."""

from tests.processes import DEPLOYMENT_SETTINGS, run_manage

MASTER_KEY = "q5VwD9xJ2mT8bK4nR7yL1cF6hZ3sA0eP9uG2iO5wX8k="
STRONG_KEY = "k" * 20 + "Zq8#vLp2@xN5!rT7wY0&mB3$cF6^hJ9*" + "s" * 10


def _manage(*args, **env):
    return run_manage(*args, env=env, unset=DEPLOYMENT_SETTINGS)


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", BOUNTY_ENV="production", ALLOWED_HOSTS="desk.example.test")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_a_short_secret_key():
    result = _manage(
        "check", BOUNTY_ENV="production", ALLOWED_HOSTS="desk.example.test", SECRET_KEY="short"
    )

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = _manage("check", BOUNTY_ENV="production", SECRET_KEY=STRONG_KEY)

    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


PRODUCTION = {
    "BOUNTY_ENV": "production",
    "SECRET_KEY": STRONG_KEY,
    "ALLOWED_HOSTS": "desk.example.test",
    "BOUNTY_MASTER_KEY": MASTER_KEY,
    "DATA_REGION": "eu",
}


def test_production_passes_the_deployment_check_with_no_warnings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **PRODUCTION,
        ADMIN_ALLOWED_NETWORKS="10.20.0.0/16,2001:db8:42::/48",
    )

    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_fails_the_deployment_check_without_a_staff_allowlist():
    result = _manage("check", "--deploy", **PRODUCTION)

    assert result.returncode != 0
    assert "ADMIN_ALLOWED_NETWORKS is empty" in result.stderr
    assert "accounts.E004" in result.stderr


def test_production_passes_the_deployment_check_with_an_allowlist_open_by_choice():
    result = _manage("check", "--deploy", **PRODUCTION, ADMIN_ALLOWED_NETWORKS="any")

    assert result.returncode == 0, result.stderr + result.stdout
    assert "ADMIN_ALLOWED_NETWORKS=any" in result.stdout + result.stderr


def test_an_allowlist_of_any_address_and_some_networks_is_refused():
    result = _manage("check", "--deploy", **PRODUCTION, ADMIN_ALLOWED_NETWORKS="any,10.20.0.0/16")

    assert result.returncode != 0
    assert "cannot be combined with networks" in result.stderr


def test_an_unknown_environment_name_is_refused():
    result = _manage("check", BOUNTY_ENV="staging")

    assert result.returncode != 0
    assert "BOUNTY_ENV" in result.stderr
