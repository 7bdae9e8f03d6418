"""Queue mail with the change that causes it; deliver it at least once, retrying with backoff."""

import logging
from datetime import timedelta
from email.utils import make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from outbox.models import OutgoingMail
from outbox.pgp import encrypt_for

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
    message_id: str = "",
    headers: dict[str, str] | None = None,
) -> OutgoingMail:
    """Write a mail to the outbox; it is handed to a worker only once the transaction commits.

    A mail with a ``dedupe_key`` is written once at most: queueing it again returns the first.
    Its Message-ID is fixed now (``message_id``, or a fresh one), so that mail queued after it
    can refer to it before it is sent; ``headers`` are sent as given besides From, To, Subject
    and the Message-ID (Auto-Submitted, Reply-To, References).
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
        message_id=message_id or _message_id(),
        headers=dict(headers or {}),
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


def claim_lease() -> timedelta:
    """Say how long a claim holds before the sweep may take the mail over.

    Longer than a task may live (Celery kills it at CELERY_TASK_TIME_LIMIT), so a claim runs
    out only when its worker is gone, never while a slow but living worker is still sending.
    """
    return timedelta(seconds=2 * settings.CELERY_TASK_TIME_LIMIT)


def _abandoned(now) -> Q:
    """Select mail a worker claimed and never finished: its claim has run out."""
    return Q(status=OutgoingMail.Status.SENDING, claimed_at__lte=now - claim_lease())


def _message_id() -> str:
    # The sender's own domain, rather than this host's name, which is nobody's business.
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


@transaction.atomic
def _claim(mail_id: int) -> OutgoingMail | None:
    """Mark a pending (or abandoned) mail as being sent by this worker, in a short transaction."""
    now = timezone.now()
    mail = (
        OutgoingMail.objects.select_for_update(skip_locked=True)
        .filter(Q(status=OutgoingMail.Status.PENDING) | _abandoned(now), pk=mail_id)
        .first()
    )
    if mail is None:
        return None
    if mail.status == OutgoingMail.Status.SENDING and mail.attempts >= MAX_ATTEMPTS:
        # Every worker that took this mail died with it; another try would only die again.
        mail.status = OutgoingMail.Status.FAILED
        mail.last_error = "The worker sending this mail stopped before it finished."
        mail.save(update_fields=["status", "last_error"])
        logger.error("Gave up on mail %s after %s attempts", mail.pk, mail.attempts)
        return None
    mail.status = OutgoingMail.Status.SENDING
    mail.claimed_at = now
    mail.attempts += 1
    mail.message_id = mail.message_id or _message_id()
    mail.save(update_fields=["status", "claimed_at", "attempts", "message_id"])
    return mail


@transaction.atomic
def _record_sent(mail: OutgoingMail) -> None:
    mail = OutgoingMail.objects.select_for_update().get(pk=mail.pk)
    mail.status = OutgoingMail.Status.SENT
    mail.sent_at = timezone.now()
    mail.last_error = ""
    mail.save(update_fields=["status", "sent_at", "last_error"])


@transaction.atomic
def _record_failure(claimed: OutgoingMail, error: Exception) -> None:
    mail = OutgoingMail.objects.select_for_update().get(pk=claimed.pk)
    if mail.status != OutgoingMail.Status.SENDING or mail.claimed_at != claimed.claimed_at:
        return  # another worker took the claim over; the outcome is its to record
    mail.last_error = f"{type(error).__name__}: {error}"
    if mail.attempts >= MAX_ATTEMPTS:
        mail.status = OutgoingMail.Status.FAILED
        logger.error("Gave up on mail %s after %s attempts", mail.pk, mail.attempts)
    else:
        mail.status = OutgoingMail.Status.PENDING
        mail.next_attempt_at = timezone.now() + retry_delay(mail.attempts)
    mail.save(update_fields=["last_error", "status", "next_attempt_at"])


def sent_headers(mail: OutgoingMail) -> dict[str, str]:
    """The headers a mail goes out with besides From, To and Subject; its Message-ID last, so
    that no stored header can replace the one its bounces are matched by."""
    return {**mail.headers, "Message-ID": mail.message_id}


def deliver_mail(mail_id: int) -> bool:
    """Send one mail unless someone else is sending or has sent it; True if sent now.

    No transaction is open while the mail server is talked to: the claim is committed first,
    and the send gives up after EMAIL_TIMEOUT. A worker that dies between sending and recording
    it leaves a claim the sweep takes over once it runs out, so the mail may go out twice, with
    the same Message-ID both times.
    """
    mail = _claim(mail_id)
    if mail is None:
        return False
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mail.to],
        headers=sent_headers(mail),
    )
    if mail.body_html:
        message.attach_alternative(mail.body_html, "text/html")
    try:
        message = encrypt_for(mail.to, message)
        message.send()
    except Exception as error:
        _record_failure(mail, error)
        return False
    _record_sent(mail)
    return True


def deliver_pending_mail(*, batch_size: int = SWEEP_BATCH_SIZE) -> int:
    """Deliver pending mail whose time has come, and mail abandoned mid-send; return how many."""
    now = timezone.now()
    due = OutgoingMail.objects.filter(
        Q(status=OutgoingMail.Status.PENDING, next_attempt_at__lte=now) | _abandoned(now)
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


# A bounce may name a mail whose worker died after the server took it (still "sending") or one
# sent; a pending mail has not gone out, and one already bounced keeps its first notification.
BOUNCEABLE = (OutgoingMail.Status.SENT, OutgoingMail.Status.SENDING)


@transaction.atomic
def record_bounce(message_id: str, *, reason: str, at=None) -> OutgoingMail | None:
    """Mark the mail sent under ``message_id`` as bounced, with the notification's reason.

    Return the mail, or None when no mail of ours has that Message-ID. A second notification
    for the same mail (a relay and the final server both reporting) changes nothing.
    """
    mail = (
        OutgoingMail.objects.select_for_update()
        .filter(message_id__in=_message_id_forms(message_id))
        .order_by("pk")
        .first()
    )
    if mail is None:
        return None
    if mail.status in BOUNCEABLE:
        mail.status = OutgoingMail.Status.BOUNCED
        mail.bounced_at = at or timezone.now()
        mail.bounce_reason = reason
        mail.save(update_fields=["status", "bounced_at", "bounce_reason"])
        logger.info("Mail %s bounced", mail.pk)
    return mail


def _message_id_forms(message_id: str) -> list[str]:
    # Stored as make_msgid writes it, in angle brackets; a notification may quote it without.
    bare = message_id.strip().strip("<>")
    return [f"<{bare}>", bare] if bare else []
