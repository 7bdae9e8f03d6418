"""Audit history is kept for AUDIT_RETENTION_DAYS and then deleted, a small batch at a time."""

from datetime import timedelta
from io import StringIO

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit import tasks
from audit.services import delete_expired_history
from bounty.models import Severity
from config.celery_app import app as celery_app
from tests.audit.history import date_history, history_models
from tests.factories import (
    AwardFactory,
    CategoryFactory,
    DeadlineFactory,
    MessageFactory,
    PayoutFactory,
    ReportFactory,
    SeverityFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

RETENTION = timedelta(days=30)
ONE_SECOND = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def thirty_days_retention(settings):
    settings.AUDIT_RETENTION_DAYS = 30


@pytest.fixture
def now():
    return timezone.now()


@pytest.mark.parametrize(
    "factory",
    [
        UserFactory,
        SeverityFactory,
        CategoryFactory,
        ReportFactory,
        MessageFactory,
        DeadlineFactory,
        AwardFactory,
        PayoutFactory,
    ],
    ids=lambda factory: factory._meta.model.__name__,
)
def test_history_a_second_past_the_retention_period_is_deleted_and_a_second_short_kept(
    factory, now
):
    past, short = factory(), factory()
    date_history(past, now - RETENTION - ONE_SECOND)
    date_history(short, now - RETENTION + ONE_SECOND)

    delete_expired_history(now=now)

    assert not past.history.exists()
    assert short.history.exists()


def test_one_run_deletes_the_expired_history_of_every_model_and_counts_it_per_model(now):
    for factory in (ReportFactory, MessageFactory, MessageFactory, PayoutFactory):
        date_history(factory(), now - RETENTION - timedelta(days=365))

    counts = delete_expired_history(now=now)

    assert {label: count for label, count in counts.items() if count} == {
        "reports.HistoricalReport": 1,
        "reports.HistoricalMessage": 2,
        "bounty.HistoricalPayout": 1,
    }
    assert set(counts) == {model._meta.label for model in history_models()}


def test_a_retention_of_zero_keeps_all_history_without_looking_at_it(settings, now):
    settings.AUDIT_RETENTION_DAYS = 0
    report = ReportFactory()
    date_history(report, now - timedelta(days=3650))

    with CaptureQueriesContext(connection) as queries:
        counts = delete_expired_history(now=now)

    assert counts == {}
    assert report.history.exists()
    assert len(queries) == 0


def test_expired_history_is_deleted_in_batches_of_batch_size(now):
    SeverityFactory.create_batch(5)
    Severity.history.update(history_date=now - RETENTION - ONE_SECOND)

    with CaptureQueriesContext(connection) as queries:
        counts = delete_expired_history(now=now, batch_size=2)

    deletes = [query["sql"] for query in queries if query["sql"].startswith("DELETE")]
    assert len(deletes) == 3
    assert counts["bounty.HistoricalSeverity"] == 5
    assert not Severity.history.exists()


def test_a_run_stopped_by_the_time_limit_keeps_the_batches_it_finished(now):
    SeverityFactory.create_batch(5)
    Severity.history.update(history_date=now - RETENTION - ONE_SECOND)
    deletes = 0

    def time_limit_at_the_second_delete(execute, sql, params, many, context):
        nonlocal deletes
        if sql.startswith("DELETE"):
            deletes += 1
            if deletes == 2:
                raise SoftTimeLimitExceeded
        return execute(sql, params, many, context)

    with (
        connection.execute_wrapper(time_limit_at_the_second_delete),
        pytest.raises(SoftTimeLimitExceeded),
    ):
        delete_expired_history(now=now, batch_size=2)

    assert Severity.history.count() == 3


def test_a_batch_size_below_one_is_refused(now):
    with pytest.raises(ValueError, match="batch_size"):
        delete_expired_history(now=now, batch_size=0)


def test_the_retention_task_deletes_expired_history():
    report = ReportFactory()
    date_history(report, timezone.now() - RETENTION - timedelta(days=1))

    counts = tasks.delete_expired_history.apply().get()

    assert counts["reports.HistoricalReport"] == 1
    assert not report.history.exists()


def test_beat_runs_the_retention_task_once_a_day():
    (schedule,) = [
        entry["schedule"]
        for entry in django_settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "audit.delete_expired_history"
    ]

    assert isinstance(schedule, crontab)
    assert (len(schedule.hour), len(schedule.minute)) == (1, 1)
    assert schedule.day_of_week == set(range(7))
    assert schedule.day_of_month == set(range(1, 32))
    assert schedule.month_of_year == set(range(1, 13))
    assert "audit.delete_expired_history" in celery_app.tasks


def test_the_command_prints_how_many_history_rows_it_deleted_per_model():
    for factory in (ReportFactory, MessageFactory, MessageFactory):
        date_history(factory(), timezone.now() - RETENTION - timedelta(days=1))
    out = StringIO()

    call_command("delete_expired_history", "--batch-size=1", stdout=out)

    lines = out.getvalue().splitlines()
    assert "reports.HistoricalReport: 1 deleted" in lines
    assert "reports.HistoricalMessage: 2 deleted" in lines
    assert "bounty.HistoricalPayout: 0 deleted" in lines
    assert lines[-1] == "Deleted 3 history rows older than 30 days."


def test_the_command_says_history_is_kept_forever_when_retention_is_zero(settings):
    settings.AUDIT_RETENTION_DAYS = 0
    report = ReportFactory()
    date_history(report, timezone.now() - timedelta(days=3650))
    out = StringIO()

    call_command("delete_expired_history", stdout=out)

    assert out.getvalue().strip() == (
        "History is kept forever (AUDIT_RETENTION_DAYS is 0): nothing deleted."
    )
    assert report.history.exists()
