"""Every task is acknowledged late, retried on a passing database failure, and bounded."""

import pytest
from django.db import OperationalError

from config.celery_app import app


def _desk_tasks():
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_the_desk_has_its_tasks():
    assert {"outbox.deliver_mail", "reports.send_deadline_reminders"} <= set(_desk_tasks())


@pytest.mark.parametrize("name", sorted(_desk_tasks()))
def test_each_task_is_late_acknowledged_and_retried_a_bounded_number_of_times(name):
    task = _desk_tasks()[name]

    assert task.acks_late and task.reject_on_worker_lost
    assert issubclass(OperationalError, task.autoretry_for)
    assert task.max_retries == 5
    assert task.retry_backoff


def test_a_passing_database_failure_is_retried(monkeypatch):
    task = _desk_tasks()["outbox.deliver_pending_mail"]
    calls = []

    def database_away():
        calls.append(1)
        raise OperationalError("server closed the connection")

    monkeypatch.setattr("outbox.services.deliver_pending_mail", database_away)
    monkeypatch.setattr(task, "max_retries", 2)

    result = task.apply()

    assert len(calls) == 3  # the first run and two retries
    assert isinstance(result.result, OperationalError)


def test_only_json_crosses_the_broker():
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert app.conf.broker_transport_options["visibility_timeout"] > app.conf.task_time_limit
