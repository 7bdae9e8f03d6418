"""The suite runs against the services the environment names: PostgreSQL and Redis in CI."""

import os

import pytest
from django.db import connection

from config.celery_app import app as celery_app


@pytest.mark.django_db
def test_the_database_is_the_one_database_url_names():
    expected = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postg") else "sqlite"

    assert connection.vendor == expected


def test_the_broker_is_redis_when_redis_url_is_set():
    expected = "redis://" if os.environ.get("REDIS_URL") else "filesystem://"

    assert celery_app.conf.broker_url.startswith(expected)
