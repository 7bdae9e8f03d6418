"""Liveness of the parts the desk cannot work without: the database and the broker."""

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery_app import app as celery_app

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2


def database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("Health check: the database does not answer")
        return False


def broker_answers() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
        return True
    except Exception:
        logger.exception("Health check: the broker does not answer")
        return False


@never_cache
@require_GET
def healthz(request):
    """Answer 200 when the database and the broker both answer, 503 naming what fails."""
    checks = {"database": database_answers(), "broker": broker_answers()}
    healthy = all(checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": {name: "ok" if ok else "unreachable" for name, ok in checks.items()},
    }
    return JsonResponse(body, status=200 if healthy else 503)
