"""Run manage.py in a fresh process, configured from its environment as a deployment is."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What decides how a deployment starts; a test about starting sets these itself.
DEPLOYMENT_SETTINGS = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    "BOUNTY_ENV",
    "BOUNTY_MASTER_KEY",
    "ADMIN_ALLOWED_NETWORKS",
)


def run_manage(*args, env=None, unset=(), check=False) -> subprocess.CompletedProcess:
    """Run ``manage.py args`` without the variables starting with any of ``unset``, plus ``env``.

    The test run's own settings (a database URL, a broker) pass through unless unset, so the
    process sees the same services; what a test is about is given explicitly.
    """
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(tuple(unset))
    }
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )
