"""Reminders and mail on a real worker through Redis: crashes, concurrent sweeps, broker outages."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from outbox.models import OutgoingMail
from outbox.tasks import deliver_mail_task, deliver_pending_mail_task
from reports.models import Deadline, Report
from reports.tasks import send_deadline_reminders_task
from tests.celery_live import wait_for
from tests.processes import run_manage


@pytest.fixture(scope="module")
def worker_mail_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("worker-mail")


@pytest.fixture(scope="module")
def celery_worker_env(worker_mail_dir):
    # The worker writes each mail it sends to a file; django-environ drops one leading slash.
    return {"EMAIL_URL": f"filemail:///{worker_mail_dir}"}


@pytest.fixture
def mail_dir(worker_mail_dir):
    for path in worker_mail_dir.glob("*"):
        path.unlink()
    return worker_mail_dir


def _mails_written(mail_dir) -> list[str]:
    """Return every message the worker wrote; one file may hold several, each closed by a rule."""
    rule = "\n" + "-" * 79 + "\n"
    return [
        message
        for path in sorted(mail_dir.glob("*.log"))
        for message in path.read_text(errors="replace").split(rule)
        if message.strip()
    ]


def _someone_waits_for_our_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks "
            "WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
        )
        return cursor.fetchone()[0] > 0


def test_a_delivery_killed_with_its_worker_is_redelivered_and_sent_once(
    celery_worker_process, mail_dir
):
    mail = OutgoingMail.objects.create(
        to="alice@example.test", subject="Once only", body_text="Hello", template="test"
    )

    with transaction.atomic():
        # Holding the table lock stops the worker inside the task, before it can send.
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE outbox_outgoingmail IN EXCLUSIVE MODE")
        deliver_mail_task.delay(mail.pk)
        wait_for(_someone_waits_for_our_lock, description="the delivery to wait for the lock")
        celery_worker_process.kill()

    assert _mails_written(mail_dir) == []
    celery_worker_process.start_after_visibility_timeout()
    wait_for(
        lambda: OutgoingMail.objects.get(pk=mail.pk).status == OutgoingMail.Status.SENT,
        timeout=30,
        description="the redelivered task to send the mail",
    )
    # A duplicate of the task (a retry, a second worker) finds the mail sent.
    deliver_mail_task.delay(mail.pk)
    deliver_pending_mail_task.delay()
    wait_for(lambda: "deliver_pending_mail" in celery_worker_process.log_tail(10), timeout=10)
    assert len(_mails_written(mail_dir)) == 1
    assert "Once only" in _mails_written(mail_dir)[0]


def test_two_sweeps_at_once_remind_each_deadline_once(
    celery_worker_process, mail_dir, submit, triager
):
    reports = [submit(title=f"Late {n}") for n in range(6)]
    Deadline.objects.filter(report__in=reports, kind="first_response").update(
        due_at=timezone.now() - timedelta(hours=1)
    )

    send_deadline_reminders_task.delay()
    send_deadline_reminders_task.delay()

    wait_for(
        lambda: OutgoingMail.objects.filter(template="deadline_due").count() >= 6,
        timeout=30,
        description="six reminders",
    )
    deliver_pending_mail_task.delay()
    wait_for(
        lambda: not OutgoingMail.objects.filter(status="pending", template="deadline_due").exists(),
        timeout=30,
        description="the reminders to be delivered",
    )
    reminders = [text for text in _mails_written(mail_dir) if "is due now" in text]
    assert len(reminders) == 6
    assert OutgoingMail.objects.filter(template="deadline_due").count() == 6


def test_a_report_submitted_while_the_broker_is_down_is_saved_and_mailed_later(
    celery_worker_process, mail_dir, program, researcher, triager
):
    submit_without_broker = (
        "from reports import services; from reports.models import Reporter; "
        "alice = Reporter.objects.get(email_index__matches='alice@example.test'); "
        "services.submit_report(reporter=alice, "
        "submission=services.Submission(title='Broker down', description='d', "
        "steps_to_reproduce='1. a\\n2. b'), acting_user=None)"
    )

    result = run_manage(
        "shell",
        "-c",
        submit_without_broker,
        env={
            "DATABASE_URL": celery_worker_process.env["DATABASE_URL"],
            "REDIS_URL": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
            "CELERY_BROKER_URL": "",
        },
    )

    assert result.returncode == 0, result.stderr
    report = Report.objects.get(title="Broker down")
    pending = OutgoingMail.objects.filter(report_public_id=report.public_id)
    assert pending.count() == 2 and all(m.status == "pending" for m in pending)
    # The broker is back: the periodic sweep delivers what waited in the outbox.
    deliver_pending_mail_task.delay()
    wait_for(
        lambda: all(m.status == "sent" for m in pending.all()),
        timeout=30,
        description="the waiting mail to be sent",
    )
    assert sum(report.public_id in text for text in _mails_written(mail_dir)) == 2
