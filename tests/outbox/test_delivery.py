"""Mail is written with its change, handed to a worker after commit, sent once, retried."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone

from outbox import services
from outbox.models import OutgoingMail
from outbox.tasks import deliver_mail_task, deliver_pending_mail_task

pytestmark = pytest.mark.django_db


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server refused the connection")


def _queue(**overrides):
    fields = {
        "to": "alice@example.test",
        "template": "report_new_message",
        "context": {"public_id": "VR-TEST", "title": "Fish & chips", "status": "x"},
        "report_public_id": "VR-TEST",
    }
    fields.update(overrides)
    return services.queue_mail(**fields)


def test_a_queued_mail_is_sent_once_however_often_delivery_runs():
    queued = _queue()

    assert services.deliver_pending_mail() == 1
    assert services.deliver_pending_mail() == 0
    assert services.deliver_mail(queued.pk) is False

    assert len(mail.outbox) == 1
    queued.refresh_from_db()
    assert queued.status == OutgoingMail.Status.SENT and queued.sent_at is not None


def test_text_mail_is_not_html_escaped_and_html_mail_is():
    _queue()
    services.deliver_pending_mail()

    sent = mail.outbox[0]
    assert "Fish & chips" in sent.body
    assert "Fish &amp; chips" in sent.alternatives[0].content


def test_the_subject_is_one_line_even_if_a_title_carries_newlines():
    queued = _queue(template="new_report", context={"public_id": "VR-X", "title": "a\nBcc: x"})

    assert "\n" not in queued.subject


def test_the_mail_is_handed_to_a_worker_only_after_commit(
    monkeypatch, django_capture_on_commit_callbacks
):
    handed = []
    monkeypatch.setattr(deliver_mail_task, "delay", handed.append)

    with django_capture_on_commit_callbacks(execute=True):
        queued = _queue()
        assert handed == []

    assert handed == [queued.pk]


def test_a_broker_outage_leaves_the_mail_pending_for_the_sweep(
    monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(deliver_mail_task, "delay", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        queued = _queue()

    queued.refresh_from_db()
    assert queued.status == OutgoingMail.Status.PENDING
    assert deliver_pending_mail_task() == 1
    assert len(mail.outbox) == 1


def test_a_failed_send_is_retried_later_with_backoff(settings):
    settings.EMAIL_BACKEND = "tests.outbox.test_delivery.RefusingBackend"
    queued = _queue()

    services.deliver_pending_mail()

    queued.refresh_from_db()
    assert queued.status == OutgoingMail.Status.PENDING
    assert queued.attempts == 1
    assert "refused" in queued.last_error
    assert queued.next_attempt_at > timezone.now() + timedelta(seconds=50)
    # Not retried before its time comes.
    assert services.deliver_pending_mail() == 0
    assert OutgoingMail.objects.get(pk=queued.pk).attempts == 1


def test_backoff_doubles_up_to_an_hour():
    assert [services.retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 4, 8, 20)] == [
        1,
        2,
        4,
        8,
        60,
        60,
    ]


def test_after_the_last_attempt_the_mail_is_marked_failed_and_kept(settings):
    settings.EMAIL_BACKEND = "tests.outbox.test_delivery.RefusingBackend"
    queued = _queue()
    OutgoingMail.objects.filter(pk=queued.pk).update(attempts=services.MAX_ATTEMPTS - 1)

    services.deliver_mail(queued.pk)

    queued.refresh_from_db()
    assert queued.status == OutgoingMail.Status.FAILED
    assert OutgoingMail.objects.filter(pk=queued.pk).exists()


def test_staff_see_failed_mail_in_the_admin_and_can_retry_it(client, superuser, settings):
    settings.EMAIL_BACKEND = "tests.outbox.test_delivery.RefusingBackend"
    queued = _queue()
    OutgoingMail.objects.filter(pk=queued.pk).update(attempts=services.MAX_ATTEMPTS - 1)
    services.deliver_mail(queued.pk)
    client.force_login(superuser)
    changelist = reverse("admin:outbox_outgoingmail_changelist")

    page = client.get(changelist, {"status__exact": "failed"})
    client.post(changelist, {"action": "retry_now", "_selected_action": [queued.pk]})

    assert queued.subject.encode() in page.content
    queued.refresh_from_db()
    assert queued.status == OutgoingMail.Status.PENDING and queued.attempts == 0
