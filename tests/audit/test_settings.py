"""AUDIT_RETENTION_DAYS comes from the environment: unset keeps history forever."""

from tests.processes import run_manage


def _retention_days_with(**env):
    return run_manage(
        "shell",
        "--no-imports",
        "--command",
        "from django.conf import settings; print(settings.AUDIT_RETENTION_DAYS)",
        env=env,
        unset=("AUDIT_RETENTION_DAYS",),
    )


def test_history_is_kept_forever_when_audit_retention_days_is_not_set():
    result = _retention_days_with()

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


def test_audit_retention_days_is_read_from_the_environment():
    result = _retention_days_with(AUDIT_RETENTION_DAYS="400")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "400"


def test_a_negative_audit_retention_days_is_refused():
    result = _retention_days_with(AUDIT_RETENTION_DAYS="-1")

    assert result.returncode != 0
    assert "AUDIT_RETENTION_DAYS" in result.stderr
