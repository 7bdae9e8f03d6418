"""AUDIT_RETENTION_DAYS comes from the environment: unset keeps history forever."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _retention_days_with(**env):
    environment = {key: value for key, value in os.environ.items() if key != "AUDIT_RETENTION_DAYS"}
    environment.update(env)
    return subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "--command",
            "from django.conf import settings; print(settings.AUDIT_RETENTION_DAYS)",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
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
