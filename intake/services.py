"""Every change to intake mail: record a message, make it a report, note who read its source.

Exactly once, in three steps that each commit on their own:

1. ``record_message`` stores the raw mail, encrypted, under its identity (mailbox UIDVALIDITY
   and UID, and its message key); a mail seen before under either is not stored again.
2. ``process_message`` claims a message still "received" and makes its report in the same
   transaction that marks it processed, so a crash leaves it either untouched or done.
3. Only then does the poller settle the mail in the mailbox (``intake.polling``); a crash
   before that leaves a processed message whose mail the next poll settles without a report.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from intake import pgp, rules, threads
from intake.mime import MalformedMail, read_envelope, read_report_mail
from intake.models import IntakeMessage, Mailbox, RawSourceDownload, Signature
from reports import services as report_services
from reports.models import Reporter

logger = logging.getLogger(__name__)

State = IntakeMessage.State
RAW_SOURCE_PERMISSION = "intake.view_raw_source"
# An unexpected error (not a malformed mail) is retried on the next polls this many times in
# all; then the message is failed, with the error, for staff to look at.
MAX_ATTEMPTS = 3

# The moves a message may make; everything else is refused.
NEXT_STATES = {
    State.RECEIVED: {State.PROCESSED, State.IGNORED, State.FAILED},
    State.PROCESSED: set(),
    State.IGNORED: set(),
    State.FAILED: set(),
}


class IllegalIntakeMove(Exception):
    def __init__(self, message: IntakeMessage, state: str):
        super().__init__(f"An intake message that is {message.state} cannot become {state}.")


@dataclass(frozen=True)
class Recorded:
    message: IntakeMessage
    created: bool


def _move(message: IntakeMessage, state: str, *, error: str = "", report=None) -> None:
    if state not in NEXT_STATES[message.state]:
        raise IllegalIntakeMove(message, state)
    message.state = state
    message.error = error
    message.report = report
    message.processed_at = timezone.now()
    message.save(update_fields=["state", "error", "report", "processed_at"])


def record_message(
    raw: bytes,
    *,
    source: str,
    mailbox: Mailbox | None = None,
    uid_validity: int | None = None,
    uid: int | None = None,
    received_at=None,
) -> Recorded:
    """Store a mail, raw and encrypted, once: a mail already recorded is returned instead.

    Nothing is made of it here; ``process_message`` does that after this has committed.
    """
    envelope = read_envelope(raw)
    existing = _recorded(envelope.message_key, mailbox, uid_validity, uid)
    if existing is not None:
        return Recorded(existing, created=False)
    now = timezone.now()
    message = IntakeMessage(
        source=source,
        mailbox=mailbox,
        uid_validity=uid_validity,
        uid=uid,
        message_key=envelope.message_key,
        size=len(raw),
        sender=envelope.sender,
        subject=envelope.subject,
        received_at=min(received_at or envelope.date or now, now),
    )
    # The file is written before its row: a crash between the two leaves an encrypted file that
    # no row names, never a row without its mail (the mail is still unsettled on the server).
    message.raw.save("raw", ContentFile(raw), save=False)
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        # Another poller or import recorded the same mail a moment ago: theirs stands.
        message.raw.storage.delete(message.raw.name)
        existing = _recorded(envelope.message_key, mailbox, uid_validity, uid)
        if existing is None:
            raise
        return Recorded(existing, created=False)
    return Recorded(message, created=True)


def record_oversized_message(
    *, size: int, mailbox: Mailbox, uid_validity: int, uid: int, received_at
) -> Recorded:
    """Record a mail too large to fetch as failed; it stays on the mail server, unread."""
    key = f"oversized:{mailbox.pk}:{uid_validity}:{uid}"
    existing = _recorded(key, mailbox, uid_validity, uid)
    if existing is not None:
        return Recorded(existing, created=False)
    message = IntakeMessage(
        source=IntakeMessage.Source.IMAP,
        mailbox=mailbox,
        uid_validity=uid_validity,
        uid=uid,
        message_key=key,
        size=size,
        received_at=min(received_at or timezone.now(), timezone.now()),
        state=State.FAILED,
        processed_at=timezone.now(),
        error=(
            f"The mail is {size:,} bytes, more than INTAKE_MAX_MESSAGE_BYTES "
            f"({settings.INTAKE_MAX_MESSAGE_BYTES:,}): it was not fetched and stays on the "
            f"mail server, in {mailbox.name} or the processed folder."
        ),
    )
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        existing = _recorded(key, mailbox, uid_validity, uid)
        if existing is None:
            raise
        return Recorded(existing, created=False)
    return Recorded(message, created=True)


def _recorded(key, mailbox, uid_validity, uid) -> IntakeMessage | None:
    found = IntakeMessage.objects.filter(message_key=key).first()
    if found is None and uid is not None:
        found = IntakeMessage.objects.filter(
            mailbox=mailbox, uid_validity=uid_validity, uid=uid
        ).first()
    return found


def process_message(message_id: int) -> IntakeMessage:
    """Make a received message its report, or record why it cannot be one; once only.

    Safe to call from several pollers at once: the first claims the message, and the others
    find it no longer "received" and leave it.
    """
    try:
        with transaction.atomic():
            # A conditional UPDATE claims the row on every database: on PostgreSQL a second
            # claimant waits for the first to commit and then matches nothing; SQLite
            # serialises the writers.
            claimed = IntakeMessage.objects.filter(pk=message_id, state=State.RECEIVED).update(
                attempts=F("attempts")
            )
            message = IntakeMessage.objects.get(pk=message_id)
            if claimed:
                _make_report(message)
    except Exception as error:
        logger.exception("Intake message %s could not be processed", message_id)
        return _record_attempt_failed(message_id, error)
    return message


def _make_report(message: IntakeMessage) -> None:
    try:
        raw = _raw_source(message)
        # Loops and abuse (our own mail, bounces, robots, the blocklist, the rate limit) are
        # decided before the mail is read as a report: a bounce need not be a readable one,
        # and the headers they read are outside any OpenPGP encryption.
        verdict = rules.judge(message, raw)
        if verdict.ignored:
            _move(message, State.IGNORED, error=verdict.ignored)
            return
        # Decrypted before it is read, so a reply in a thread is read in clear as well.
        opened = _opened(message, raw)
        mail = read_report_mail(opened.raw)
    except MalformedMail as malformed:
        _move(message, State.FAILED, error=str(malformed))
        return
    # A mail answering a report is its researcher's reply, or held for staff: never a report.
    try:
        filed = threads.file_in_thread(message, mail)
    except ValidationError as refused:
        _move(message, State.FAILED, error=" ".join(refused.messages))
        return
    if filed is not None:
        _move(message, State.PROCESSED, error=filed.note, report=filed.report)
        return
    try:
        report = report_services.submit_report_received_by_mail(
            sender_email=mail.sender,
            sender_name=mail.sender_name,
            submission=report_services.Submission(
                title=mail.subject,
                description=mail.text,
                steps_to_reproduce="Sent by email: the steps are in the description, if given.",
            ),
            files=[
                SimpleUploadedFile(file.name, file.content, content_type=file.declared_type)
                for file in mail.files
            ],
            received_at=message.received_at,
            acting_user=None,
            acknowledge=not verdict.withheld,
        )
    except ValidationError as refused:
        # The same rules as the portal's form; what they refuse they will refuse every time.
        _move(message, State.FAILED, error=" ".join(refused.messages))
        return
    message.acknowledgement_withheld = verdict.withheld
    message.save(update_fields=["acknowledgement_withheld"])
    if opened.encrypted or opened.signature != Signature.UNSIGNED:
        report_services.record_intake_note(report, body=pgp.signature_note(opened))
    _move(message, State.PROCESSED, report=report)


def _raw_source(message: IntakeMessage) -> bytes:
    if not message.raw:
        raise MalformedMail("Its raw source was not fetched.")
    with message.raw.open() as stored:
        return stored.read()


def _opened(message: IntakeMessage, raw: bytes) -> pgp.Opened:
    """The mail as it is read: decrypted and its signature checked when it is OpenPGP."""
    sender = Reporter.objects.filter(email_index__matches=message.sender).first()
    opened = pgp.open_mail(raw, pgp.sender_key(sender))
    # Saved with the state by _move, in the same transaction.
    message.encrypted = opened.encrypted
    message.signature = opened.signature
    message.signature_key = opened.signature_key
    message.save(update_fields=["encrypted", "signature", "signature_key"])
    return opened


def _record_attempt_failed(message_id: int, error: Exception) -> IntakeMessage:
    with transaction.atomic():
        message = IntakeMessage.objects.select_for_update().get(pk=message_id)
        if message.state != State.RECEIVED:
            return message
        message.attempts += 1
        reason = f"{type(error).__name__}: {error}"
        if message.attempts >= MAX_ATTEMPTS:
            _move(
                message,
                State.FAILED,
                error=f"Processing failed {message.attempts} times; the last error: {reason}",
            )
            message.save(update_fields=["attempts"])
        else:
            message.error = f"Attempt {message.attempts} failed, to be retried: {reason}"
            message.save(update_fields=["attempts", "error"])
    return message


def process_pending_messages(*, limit: int = 100) -> int:
    """Process messages recorded and never processed (a crash, an import stopped halfway)."""
    pending = IntakeMessage.objects.filter(state=State.RECEIVED).order_by("recorded_at", "pk")
    ids = list(pending.values_list("pk", flat=True)[:limit])
    for message_id in ids:
        process_message(message_id)
    return len(ids)


def ingest_raw(raw: bytes) -> Recorded:
    """Record and process a mail read from a file, as the poller does with a fetched one."""
    recorded = record_message(raw, source=IntakeMessage.Source.FILE)
    if recorded.message.state == State.RECEIVED:
        return Recorded(process_message(recorded.message.pk), recorded.created)
    return recorded


def mark_settled(message: IntakeMessage) -> None:
    """Note that the mail was flagged or moved in its mailbox."""
    message.settled_at = timezone.now()
    message.save(update_fields=["settled_at"])


@transaction.atomic
def record_raw_source_download(message: IntakeMessage, *, acting_user: User) -> RawSourceDownload:
    """Record that ``acting_user`` downloads a message's raw source, which holds the whole mail."""
    if not acting_user.has_perm(RAW_SOURCE_PERMISSION):
        raise PermissionDenied("Reading the raw source of intake mail needs its own permission.")
    logger.info("%s downloaded the raw source of intake message %s", acting_user.email, message.pk)
    return RawSourceDownload.objects.create(message=message, downloaded_by=acting_user)
