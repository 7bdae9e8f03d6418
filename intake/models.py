"""Mail that reached the intake address: each message recorded once, raw and encrypted.

A message is recorded (``IntakeMessage``, state "received") before anything is made of it,
then processed in a transaction of its own (a report, or a clear failure), and only after
that commits is it flagged or moved in the mailbox. Its identity is held by two unique
constraints: the mailbox's UIDVALIDITY and UID, and the message key (its Message-ID, or a
hash of its bytes when it has none), so a crash, a second poller or the same mail arriving
twice leaves one record and one report.
"""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from encryption.blind_index import BlindIndexField
from encryption.fields import EncryptedCharField, EncryptedFileField, EncryptedTextField
from encryption.storage import encrypted_storage


class Mailbox(models.Model):
    """An IMAP folder the desk polls, with the lease that keeps two pollers from sharing it."""

    name = models.CharField(
        max_length=255, unique=True, help_text="user@host:port/folder, never the password."
    )
    uid_validity = models.BigIntegerField(
        null=True, blank=True, help_text="The folder's UIDVALIDITY at the last poll."
    )
    poll_lease_until = models.DateTimeField(null=True, blank=True)
    poll_token = models.CharField(max_length=32, blank=True)
    last_poll_started_at = models.DateTimeField(null=True, blank=True)
    last_poll_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(
        blank=True, help_text="Why the last poll failed (connection, login, folder); empty if not."
    )

    class Meta:
        verbose_name_plural = "mailboxes"

    def __str__(self):
        return self.name


def raw_message_path(instance, filename):
    # A random stored name: nothing of the mail reaches the filesystem in clear.
    return f"intake/{secrets.token_hex(16)}"


class Signature(models.TextChoices):
    """What an OpenPGP signature on a mail says, checked against the sender's key on file."""

    UNSIGNED = "unsigned", "Not signed"
    GOOD = "good", "Good signature by the sender's key"
    BAD = "bad", "Bad signature: the mail was changed, or the signature is forged"
    UNKNOWN_KEY = "unknown_key", "Signed by a key the desk does not hold for the sender"


class IntakeMessage(models.Model):
    """One mail to the intake address, its raw source kept encrypted, and what became of it."""

    Signature = Signature

    class State(models.TextChoices):
        RECEIVED = "received", "Received, not yet processed"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        IMAP = "imap", "Mailbox (IMAP)"
        FILE = "file", "File (ingest_mail)"

    source = models.CharField(max_length=10, choices=Source, editable=False)
    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    uid_validity = models.BigIntegerField("UIDVALIDITY", null=True, blank=True, editable=False)
    uid = models.BigIntegerField("UID", null=True, blank=True, editable=False)
    # A SHA-256 of the Message-ID rather than a keyed index: it must stay the same across key
    # rotations, or an archive imported after one would make its reports again.
    message_key = models.CharField(max_length=80, unique=True, editable=False)
    raw = EncryptedFileField(
        "raw source", upload_to=raw_message_path, storage=encrypted_storage, blank=True
    )
    size = models.PositiveBigIntegerField(help_text="Bytes of the raw source.")
    sender = EncryptedCharField(max_length=254, blank=True)
    sender_index = BlindIndexField(source="sender", purpose="email")
    subject = EncryptedCharField(max_length=255, blank=True)
    received_at = models.DateTimeField(
        help_text="When the mail server took it (IMAP INTERNALDATE); for a file, its Date."
    )
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    state = models.CharField(max_length=10, choices=State, default=State.RECEIVED, editable=False)
    # Encrypted: a reason may quote the mail (a file name, an address).
    error = EncryptedTextField(blank=True, help_text="Why it failed or was ignored.")
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Processing attempts that ended in an unexpected error."
    )
    processed_at = models.DateTimeField(null=True, blank=True, editable=False)
    report = models.ForeignKey(
        "reports.Report",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="intake_messages",
        editable=False,
    )
    settled_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When it was flagged or moved in the mailbox, after its processing committed.",
    )
    encrypted = models.BooleanField(
        "OpenPGP encrypted", default=False, editable=False, help_text="Decrypted on intake."
    )
    signature = models.CharField(
        "OpenPGP signature",
        max_length=12,
        choices=Signature,
        blank=True,
        editable=False,
        help_text="Empty until the message is processed.",
    )
    signature_key = models.CharField(
        "signing key",
        max_length=64,
        blank=True,
        editable=False,
        help_text="The fingerprint (or key ID) of the key that made the signature.",
    )
    # The row's identity in its encrypted values' associated data (encryption.binding).
    row_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = "intake message"
        permissions = [("view_raw_source", "Can download the raw source of intake mail")]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "uid_validity", "uid"],
                condition=Q(uid__isnull=False),
                name="intake_message_one_per_mailbox_uid",
            ),
        ]
        indexes = [
            models.Index(fields=["-received_at", "-id"], name="intake_message_received"),
            # The sweep reads only what still waits to be processed.
            models.Index(
                fields=["recorded_at"],
                condition=Q(state="received"),
                name="intake_message_pending",
            ),
        ]

    def __str__(self):
        return f"Intake message #{self.pk}"

    @property
    def is_settled_in_database(self) -> bool:
        """Whether processing has reached its end, so the mailbox may be told."""
        return self.state != self.State.RECEIVED


class RawSourceDownload(models.Model):
    """Who downloaded an intake message's raw source, and when: it holds the whole mail."""

    message = models.ForeignKey(
        IntakeMessage, on_delete=models.PROTECT, related_name="raw_source_downloads"
    )
    downloaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    downloaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["downloaded_at", "pk"]

    def __str__(self):
        return f"Raw source of intake message #{self.message_id} by {self.downloaded_by}"


class ProgramKey(models.Model):
    """The program's OpenPGP key: researchers encrypt reports to it, the desk signs with it.

    One key is active; earlier ones are kept, retired, so mail encrypted to them still opens.
    The secret part is encrypted with the master key and never leaves the desk.
    """

    fingerprint = models.CharField(max_length=64, unique=True, editable=False)
    public_key = models.TextField(editable=False, help_text="ASCII-armored, as published.")
    secret_key = EncryptedTextField(editable=False)
    is_active = models.BooleanField(default=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    retired_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The row's identity in its encrypted values' associated data (encryption.binding).
    row_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)

    class Meta:
        ordering = ["-is_active", "-created_at", "-pk"]
        verbose_name = "program OpenPGP key"
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=Q(is_active=True),
                name="intake_program_key_one_active",
            ),
        ]

    def __str__(self):
        return f"OpenPGP key {self.fingerprint.upper()}"
