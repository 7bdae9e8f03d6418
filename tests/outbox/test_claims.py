"""Mail goes out with no row locked while the mail server is talked to, at least once.

A worker claims a mail in one short transaction, sends it with EMAIL_TIMEOUT, and records the
outcome in another. A worker that dies between sending and recording leaves a claim the sweep
takes over once it runs out: the resend carries the same Message-ID, so receivers can drop it.
"""

import socket
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection, connections, transaction
from django.urls import reverse
from django.utils import timezone

from outbox import services
from outbox.models import OutgoingMail
from outbox.tasks import deliver_mail_task
from tests.processes import run_manage

S = OutgoingMail.Status


class MailServer:
    """What the blocking backend below sends through: it holds every send until released."""

    entered = threading.Event()
    release = threading.Event()


class BlockingBackend(LocmemBackend):
    """Deliver like the test outbox, but only once the test lets the mail server answer."""

    def send_messages(self, messages):
        MailServer.entered.set()
        assert MailServer.release.wait(timeout=30), "the test never released the mail server"
        return super().send_messages(messages)


class WorkerKilled(BaseException):
    """The worker process ends mid-task (a hard time limit, a lost machine): no code runs after."""


class DeliveredThenKilledBackend(LocmemBackend):
    def send_messages(self, messages):
        super().send_messages(messages)
        raise WorkerKilled


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server refused the connection")


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    # The tests deliver themselves; nothing goes to a broker.
    monkeypatch.setattr(deliver_mail_task, "delay", lambda mail_id: None)


@pytest.fixture
def blocking_mail_server(settings):
    settings.EMAIL_BACKEND = "tests.outbox.test_claims.BlockingBackend"
    MailServer.entered.clear()
    MailServer.release.clear()
    yield MailServer
    MailServer.release.set()


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent connections need PostgreSQL")


def _queue():
    return services.queue_mail(
        to="alice@example.test",
        template="report_new_message",
        context={"public_id": "VR-TEST", "report": {"title": "Fish"}, "status": "x"},
        report_public_id="VR-TEST",
    )


def _in_a_worker(mail_id):
    """Deliver the mail in another thread, on its own database connection, as a worker would."""
    outcome = {}

    def work():
        try:
            outcome["sent"] = services.deliver_mail(mail_id)
        finally:
            connections.close_all()

    thread = threading.Thread(target=work)
    thread.start()
    return thread, outcome


def _message_id_on_the_wire(sent) -> str:
    return sent.message()["Message-ID"]


def _claimed_long_ago(queued):
    OutgoingMail.objects.filter(pk=queued.pk).update(
        claimed_at=timezone.now() - services.claim_lease() - timedelta(seconds=1)
    )


@pytest.mark.django_db(transaction=True)
def test_no_row_lock_is_held_while_the_mail_server_hangs(postgresql, blocking_mail_server):
    queued = _queue()
    worker, outcome = _in_a_worker(queued.pk)
    assert blocking_mail_server.entered.wait(timeout=10)

    # Anyone else may lock and change the row while the worker waits on the mail server.
    with transaction.atomic():
        row = OutgoingMail.objects.select_for_update(nowait=True).get(pk=queued.pk)
        assert row.status == S.SENDING and row.claimed_at is not None
        row.save(update_fields=["subject"])

    blocking_mail_server.release.set()
    worker.join(timeout=10)
    queued.refresh_from_db()
    assert outcome == {"sent": True}
    assert queued.status == S.SENT


@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_the_same_mail_at_once_send_it_once(
    postgresql, blocking_mail_server
):
    queued = _queue()
    first, first_outcome = _in_a_worker(queued.pk)
    assert blocking_mail_server.entered.wait(timeout=10)

    assert services.deliver_mail(queued.pk) is False
    assert services.deliver_pending_mail() == 0

    blocking_mail_server.release.set()
    first.join(timeout=10)
    assert first_outcome == {"sent": True}
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_worker_killed_after_sending_leads_to_a_resend_with_the_same_message_id(settings):
    settings.EMAIL_BACKEND = "tests.outbox.test_claims.DeliveredThenKilledBackend"
    queued = _queue()
    with pytest.raises(WorkerKilled):
        services.deliver_mail(queued.pk)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    queued.refresh_from_db()
    assert queued.status == S.SENDING
    assert services.deliver_pending_mail() == 0, "the claim has not run out yet"
    _claimed_long_ago(queued)
    assert services.deliver_pending_mail() == 1

    first, resent = mail.outbox
    queued.refresh_from_db()
    assert queued.status == S.SENT and queued.attempts == 2
    assert _message_id_on_the_wire(first) == _message_id_on_the_wire(resent) == queued.message_id
    assert queued.message_id.endswith("@localhost>")


@pytest.mark.django_db
def test_every_mail_gets_its_own_message_id():
    queued = [_queue(), _queue()]

    services.deliver_pending_mail()

    on_the_wire = {_message_id_on_the_wire(sent) for sent in mail.outbox}
    assert len(on_the_wire) == 2
    assert on_the_wire == {OutgoingMail.objects.get(pk=one.pk).message_id for one in queued}


@pytest.mark.django_db
def test_a_claim_is_left_alone_until_it_runs_out_then_the_sweep_takes_it_over():
    queued = _queue()
    OutgoingMail.objects.filter(pk=queued.pk).update(
        status=S.SENDING, claimed_at=timezone.now() - timedelta(minutes=1), attempts=1
    )

    assert services.deliver_mail(queued.pk) is False
    assert services.deliver_pending_mail() == 0
    _claimed_long_ago(queued)
    assert services.deliver_pending_mail() == 1
    assert len(mail.outbox) == 1


def test_a_claim_outlives_any_task_so_a_living_worker_keeps_it(settings):
    assert services.claim_lease() > timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)


@pytest.mark.django_db
def test_a_mail_whose_workers_keep_dying_is_given_up_after_the_last_attempt():
    queued = _queue()
    OutgoingMail.objects.filter(pk=queued.pk).update(
        status=S.SENDING, attempts=services.MAX_ATTEMPTS
    )
    _claimed_long_ago(queued)

    assert services.deliver_pending_mail() == 0

    queued.refresh_from_db()
    assert queued.status == S.FAILED
    assert "stopped" in queued.last_error
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_failed_send_gives_the_claim_back_for_a_later_attempt(settings):
    settings.EMAIL_BACKEND = "tests.outbox.test_claims.RefusingBackend"
    queued = _queue()

    assert services.deliver_mail(queued.pk) is False

    queued.refresh_from_db()
    assert queued.status == S.PENDING and queued.attempts == 1
    assert queued.next_attempt_at > timezone.now()


@pytest.mark.django_db
def test_a_hung_mail_server_fails_the_attempt_after_email_timeout(settings):
    # A server that accepts the connection and never says a word.
    with socket.create_server(("127.0.0.1", 0)) as hung:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = hung.getsockname()
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 1
        queued = _queue()

        started = timezone.now()
        assert services.deliver_mail(queued.pk) is False

    assert timezone.now() - started < timedelta(seconds=10)
    queued.refresh_from_db()
    assert queued.status == S.PENDING and queued.attempts == 1
    assert "timed out" in queued.last_error


SMTP_TIMEOUT_PROBE = (
    "from django.core.mail import get_connection; "
    "print(get_connection('django.core.mail.backends.smtp.EmailBackend').timeout)"
)


@pytest.mark.parametrize(("configured", "expected"), [(None, "30"), ("7", "7")])
def test_the_smtp_backend_gives_up_after_email_timeout_seconds(configured, expected):
    env = {"EMAIL_URL": "smtp://mail.example.test:25"}
    if configured:
        env["EMAIL_TIMEOUT"] = configured

    result = run_manage(
        "shell", "--no-imports", "-c", SMTP_TIMEOUT_PROBE, env=env, unset=("EMAIL_",), check=True
    )

    assert result.stdout.strip().splitlines()[-1] == expected


@pytest.mark.django_db
def test_staff_see_a_mail_being_sent_and_its_message_id_in_the_admin(client, superuser):
    queued = _queue()
    OutgoingMail.objects.filter(pk=queued.pk).update(
        status=S.SENDING, claimed_at=timezone.now(), message_id="<claimed@localhost>"
    )
    client.force_login(superuser)

    listing = client.get(
        reverse("admin:outbox_outgoingmail_changelist"), {"status__exact": "sending"}
    )
    page = client.get(reverse("admin:outbox_outgoingmail_change", args=[queued.pk]))

    assert "Sending (claimed by a worker)" in listing.content.decode()
    assert queued.subject in listing.content.decode()
    assert "&lt;claimed@localhost&gt;" in page.content.decode()
