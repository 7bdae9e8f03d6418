"""The app's settings plus the test-only app that the encryption tests store their rows in."""

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.encryption_app"]
