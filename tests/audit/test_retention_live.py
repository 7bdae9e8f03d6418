"""The retention task on a real worker through Redis deletes what expired, even after a crash."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from audit.tasks import delete_expired_history
from reports.models import Report
from tests.audit.history import all_history_rows, date_history
from tests.celery_live import wait_for
from tests.factories import MessageFactory, PayoutFactory, ReportFactory

RETENTION_DAYS = 30
EXPIRED = timedelta(days=RETENTION_DAYS + 1)
NOT_YET_EXPIRED = timedelta(days=RETENTION_DAYS - 1)


@pytest.fixture(scope="module")
def celery_worker_env():
    return {"AUDIT_RETENTION_DAYS": str(RETENTION_DAYS)}


def _history_of(objects, age) -> set[tuple[str, int]]:
    when = timezone.now() - age
    return {
        (obj.history.model._meta.label, history_id)
        for obj in objects
        for history_id in date_history(obj, when)
    }


def _expired_rows_left(rows) -> set[tuple[str, int]]:
    return rows & all_history_rows()


def _someone_waits_for_our_lock() -> bool:
    # pg_locks, unlike pg_stat_activity, is not frozen for the rest of the asking transaction.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks "
            "WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
        )
        return cursor.fetchone()[0] > 0


def test_the_retention_task_deletes_exactly_the_expired_history_on_a_live_worker(
    celery_worker_process,
):
    expired = _history_of([ReportFactory(), MessageFactory(), PayoutFactory()], EXPIRED)
    not_yet_expired = _history_of([ReportFactory(), MessageFactory()], NOT_YET_EXPIRED)
    before = all_history_rows()

    result = delete_expired_history.delay()

    wait_for(lambda: not _expired_rows_left(expired), description="the expired history to go")
    assert all_history_rows() == before - expired
    assert not_yet_expired <= all_history_rows()
    assert f"[{result.id}] succeeded" in celery_worker_process.log_tail()


def test_a_retention_run_killed_with_its_worker_is_redelivered_to_a_restarted_worker(
    celery_worker_process,
):
    reports = ReportFactory.create_batch(3)
    expired = _history_of(reports, EXPIRED)
    not_yet_expired = _history_of([ReportFactory()], NOT_YET_EXPIRED)
    before = all_history_rows()

    with transaction.atomic():
        # A lock on one expired row holds the task's DELETE, so the worker is surely in the
        # middle of the task when it is killed.
        list(Report.history.select_for_update().filter(id=reports[0].pk))
        result = delete_expired_history.delay()
        wait_for(_someone_waits_for_our_lock, description="the task to wait for the lock")
        celery_worker_process.kill()

    assert _expired_rows_left(expired) == expired, "the killed worker's batch was rolled back"

    celery_worker_process.start_after_visibility_timeout()

    wait_for(
        lambda: not _expired_rows_left(expired),
        timeout=30,
        description="the redelivered task to delete the expired history",
    )
    assert all_history_rows() == before - expired
    assert not_yet_expired <= all_history_rows()
    log = celery_worker_process.log_tail(lines=200)
    assert log.count(f"[{result.id}] received") == 2
    assert f"[{result.id}] succeeded" in log
