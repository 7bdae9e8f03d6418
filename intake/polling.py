"""Poll the intake mailbox: fetch the mail not settled yet, record it, process it, settle it.

One poller at a time holds a mailbox's lease, a time-limited claim on its row written by one
conditional UPDATE (so it works alike on PostgreSQL and SQLite, holds no transaction open
while the IMAP server talks, and survives a pooled connection, where a session advisory lock
would not). A poller that dies leaves a lease that runs out after ``POLL_LEASE``. The lease
only saves work: two pollers that did run at once (a lease outlived by a slow server) would
still make one report per mail, because each mail is recorded and processed exactly once
(``intake.services``).
"""

import logging
import secrets
import ssl
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from imapclient.exceptions import IMAPClientError

from intake import imap, services
from intake.models import IntakeMessage, Mailbox

logger = logging.getLogger(__name__)

POLL_LEASE = timedelta(minutes=5)
# Mail taken per poll, so that one poll ends well within a task's time limit; the rest waits
# for the next poll, a minute later.
POLL_BATCH = 100


@dataclass
class PollResult:
    mailbox: str = ""
    busy: bool = False
    error: str = ""
    recorded: int = 0
    settled: int = 0
    messages: list[IntakeMessage] = field(default_factory=list)


def poll_intake_mailbox() -> PollResult | None:
    """Poll the mailbox INTAKE_IMAP_URL names; None when intake is off."""
    url = imap.configured_mailbox()
    if url is None:
        return None
    return poll_mailbox(url)


def poll_mailbox(url: imap.MailboxURL) -> PollResult:
    result = PollResult(mailbox=url.name)
    mailbox, _ = Mailbox.objects.get_or_create(name=url.name)
    token = _claim(mailbox)
    if token is None:
        result.busy = True
        logger.info("Another poller is reading %s; this one leaves it", url.name)
        return result
    try:
        with imap.connect(url) as client:
            selected = client.select_folder(url.folder)
            uid_validity = int(selected[b"UIDVALIDITY"])
            Mailbox.objects.filter(pk=mailbox.pk).update(uid_validity=uid_validity)
            settler = imap.Settler(client, selected, settings.INTAKE_PROCESSED_FOLDER)
            for uid in settler.unsettled()[:POLL_BATCH]:
                _take(client, settler, mailbox, uid_validity, uid, result)
                _renew(mailbox, token)
    except (IMAPClientError, OSError, ssl.SSLError) as error:
        # Nothing is lost: what was recorded stays, and the rest is read on the next poll.
        result.error = f"{type(error).__name__}: {error}"
        logger.warning("Polling %s failed: %s", url.name, result.error)
    finally:
        _release(mailbox, token, result.error)
    return result


def _take(client, settler, mailbox, uid_validity, uid, result: PollResult) -> None:
    message = IntakeMessage.objects.filter(
        mailbox=mailbox, uid_validity=uid_validity, uid=uid
    ).first()
    if message is None:
        message = _fetch_and_record(client, mailbox, uid_validity, uid, result)
        if message is None:
            return  # gone from the folder since the search
    if message.state == IntakeMessage.State.RECEIVED:
        message = services.process_message(message.pk)
    result.messages.append(message)
    if not message.is_settled_in_database:
        return  # to be retried: the mail stays unsettled, and is read again next time
    # Only now, with the outcome committed, is the mailbox told.
    settler.settle(uid)
    result.settled += 1
    if (message.mailbox_id, message.uid_validity, message.uid) == (mailbox.pk, uid_validity, uid):
        services.mark_settled(message)


def _fetch_and_record(client, mailbox, uid_validity, uid, result) -> IntakeMessage | None:
    sized = client.fetch([uid], ["RFC822.SIZE", "INTERNALDATE"]).get(uid)
    if sized is None:
        return None
    size, received_at = sized[b"RFC822.SIZE"], sized[b"INTERNALDATE"]
    if size > settings.INTAKE_MAX_MESSAGE_BYTES:
        recorded = services.record_oversized_message(
            size=size,
            mailbox=mailbox,
            uid_validity=uid_validity,
            uid=uid,
            received_at=received_at,
        )
    else:
        # PEEK: reading the mail does not mark it read for the people who share the mailbox.
        fetched = client.fetch([uid], ["BODY.PEEK[]"]).get(uid)
        if fetched is None:
            return None
        recorded = services.record_message(
            fetched[b"BODY[]"],
            source=IntakeMessage.Source.IMAP,
            mailbox=mailbox,
            uid_validity=uid_validity,
            uid=uid,
            received_at=received_at,
        )
    result.recorded += int(recorded.created)
    return recorded.message


def _claim(mailbox: Mailbox) -> str | None:
    now = timezone.now()
    token = secrets.token_hex(16)
    claimed = (
        Mailbox.objects.filter(pk=mailbox.pk)
        .filter(Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lte=now))
        .update(poll_lease_until=now + POLL_LEASE, poll_token=token, last_poll_started_at=now)
    )
    return token if claimed else None


def _renew(mailbox: Mailbox, token: str) -> None:
    Mailbox.objects.filter(pk=mailbox.pk, poll_token=token).update(
        poll_lease_until=timezone.now() + POLL_LEASE
    )


def _release(mailbox: Mailbox, token: str, error: str) -> None:
    Mailbox.objects.filter(pk=mailbox.pk, poll_token=token).update(
        poll_lease_until=None,
        poll_token="",
        last_poll_finished_at=timezone.now(),
        last_error=error,
    )
