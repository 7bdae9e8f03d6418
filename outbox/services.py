"""Queue mail with the change that causes it; deliver it once, with retries that back off."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from outbox.models import OutgoingMail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
SWEEP_BATCH_SIZE = 100


def retry_delay(attempts: int) -> timedelta:
    """Wait 1, 2, 4 ... minutes between attempts, at most an hour."""
    return timedelta(minutes=min(2 ** (attempts - 1), 60))


def queue_mail(
    *,
    to: str,
    template: str,
    context: dict,
    report_public_id: str = "",
    dedupe_key: str | None = None,
) -> OutgoingMail:
    """Write a mail to the outbox; it is handed to a worker only once the transaction commits.

    A mail with a ``dedupe_key`` is written once at most: queueing it again returns the first.
    """
    if dedupe_key is not None:
        existing = OutgoingMail.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    context = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{template}.subject.txt", context).split())
    mail = OutgoingMail.objects.create(
        to=to,
        subject=subject,
        body_text=render_to_string(f"emails/{template}.txt", context),
        body_html=render_to_string(f"emails/{template}.html", context),
        template=template,
        report_public_id=report_public_id,
        dedupe_key=dedupe_key,
    )
    transaction.on_commit(lambda: _hand_to_worker(mail.pk), robust=True)
    return mail


def _hand_to_worker(mail_id: int) -> None:
    from outbox.tasks import deliver_mail_task

    try:
        deliver_mail_task.delay(mail_id)
    except Exception:
        # The broker is down: the row stays pending and the periodic sweep delivers it later.
        logger.warning(
            "Mail %s stays in the outbox until the broker answers", mail_id, exc_info=True
        )


def deliver_mail(mail_id: int) -> bool:
    """Send one pending mail unless someone else is sending or has sent it; True if sent now."""
    with transaction.atomic():
        mail = (
            OutgoingMail.objects.select_for_update(skip_locked=True)
            .filter(pk=mail_id, status=OutgoingMail.Status.PENDING)
            .first()
        )
        if mail is None:
            return False
        message = EmailMultiAlternatives(
            subject=mail.subject,
            body=mail.body_text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[mail.to],
        )
        if mail.body_html:
            message.attach_alternative(mail.body_html, "text/html")
        mail.attempts += 1
        try:
            message.send()
        except Exception as error:
            mail.last_error = f"{type(error).__name__}: {error}"
            if mail.attempts >= MAX_ATTEMPTS:
                mail.status = OutgoingMail.Status.FAILED
                logger.error("Gave up on mail %s after %s attempts", mail.pk, mail.attempts)
            else:
                mail.next_attempt_at = timezone.now() + retry_delay(mail.attempts)
            mail.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            return False
        mail.status = OutgoingMail.Status.SENT
        mail.sent_at = timezone.now()
        mail.last_error = ""
        mail.save(update_fields=["attempts", "status", "sent_at", "last_error"])
        return True


def deliver_pending_mail(*, batch_size: int = SWEEP_BATCH_SIZE) -> int:
    """Deliver pending mail whose time has come; return how many were sent."""
    due = OutgoingMail.objects.filter(
        status=OutgoingMail.Status.PENDING, next_attempt_at__lte=timezone.now()
    ).order_by("next_attempt_at", "pk")
    return sum(deliver_mail(pk) for pk in due.values_list("pk", flat=True)[:batch_size])


@transaction.atomic
def retry_failed_mail(mail: OutgoingMail) -> None:
    """Give a mail that was given up on a fresh set of attempts, starting now."""
    mail.status = OutgoingMail.Status.PENDING
    mail.attempts = 0
    mail.next_attempt_at = timezone.now()
    mail.save(update_fields=["status", "attempts", "next_attempt_at"])
    transaction.on_commit(lambda: _hand_to_worker(mail.pk), robust=True)
