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
    # Our own words, never the mail's: the rule that withheld it (intake.rules).
    acknowledgement_withheld = models.CharField(
        max_length=200,
        blank=True,
        editable=False,
        help_text="Why the report made of it was not acknowledged by mail; empty if it was.",
    )
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


class BlockedSender(models.Model):
    """An address or a whole domain whose mail the intake records and otherwise ignores.

    An address is personal data: it is stored encrypted and found by its blind index, the
    same one researchers are found by. A domain names an organisation, not a person, and is
    kept in clear so that its subdomains can be matched too.
    """

    class Kind(models.TextChoices):
        ADDRESS = "address", "Address"
        DOMAIN = "domain", "Domain (and its subdomains)"

    kind = models.CharField(max_length=10, choices=Kind, editable=False)
    address = EncryptedCharField(max_length=254, blank=True, editable=False)
    address_index = BlindIndexField(source="address", purpose="email")
    domain = models.CharField(max_length=253, blank=True, editable=False)
    reason = EncryptedTextField(help_text="Why this sender is blocked, for the next person.")
    blocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    blocked_at = models.DateTimeField(default=timezone.now, editable=False)
    # The row's identity in its encrypted values' associated data (encryption.binding).
    row_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-blocked_at", "-pk"]
        verbose_name = "blocked sender"
        constraints = [
            models.UniqueConstraint(
                fields=["address_index"],
                condition=Q(kind="address"),
                name="intake_blocked_address_once",
            ),
            models.UniqueConstraint(
                fields=["domain"], condition=Q(kind="domain"), name="intake_blocked_domain_once"
            ),
            models.CheckConstraint(
                condition=(Q(kind="address") & ~Q(address_index="") & Q(domain=""))
                | (Q(kind="domain") & ~Q(domain="") & Q(address_index="")),
                name="intake_blocked_sender_is_one_thing",
            ),
        ]

    def __str__(self):
        # Never the address: this string reaches logs and the admin's messages.
        if self.kind == self.Kind.DOMAIN:
            return f"Blocked domain {self.domain}"
        return f"Blocked address #{self.pk}"


class HeldMail(models.Model):
    """A mail in a report's thread from someone other than its researcher, held for staff.

    It reached the report by its reply address or its threading, but only the researcher's own
    address makes a mail their reply: a stranger who learned the reply address or a Message-ID,
    or another researcher, could otherwise speak for them. Staff read it here and either attach
    it to the report as an internal note or discard it, with a reason; the researcher never
    sees it, in the portal or by mail.
    """

    class Decision(models.TextChoices):
        PENDING = "pending", "Held for review"
        ATTACHED = "attached", "Attached to the report as an internal note"
        DISCARDED = "discarded", "Discarded"

    class MatchedBy(models.TextChoices):
        REPLY_ADDRESS = "reply_address", "The report's reply address"
        THREADING = "threading", "In-Reply-To or References naming our mail"

    message = models.OneToOneField(
        IntakeMessage, on_delete=models.PROTECT, related_name="held", editable=False
    )
    report = models.ForeignKey(
        "reports.Report", on_delete=models.CASCADE, related_name="held_mail", editable=False
    )
    matched_by = models.CharField(max_length=20, choices=MatchedBy, editable=False)
    # Encrypted like the report's messages: it is what a stranger wrote about the report.
    sender = EncryptedCharField(max_length=254, blank=True, editable=False)
    subject = EncryptedCharField(max_length=255, blank=True, editable=False)
    body = EncryptedTextField(blank=True, editable=False)
    file_names = EncryptedTextField(
        blank=True, editable=False, help_text="The attachments' names, one a line; not kept."
    )
    held_at = models.DateTimeField(default=timezone.now, editable=False)
    decision = models.CharField(
        max_length=10, choices=Decision, default=Decision.PENDING, editable=False
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    reason = EncryptedTextField(blank=True, editable=False, help_text="Why staff decided so.")
    note = models.OneToOneField(
        "reports.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="The internal note it became.",
    )
    # The row's identity in its encrypted values' associated data (encryption.binding).
    row_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-held_at", "-pk"]
        verbose_name = "held mail"
        verbose_name_plural = "held mail"
        permissions = [("review_heldmail", "Can attach held mail to its report or discard it")]
        indexes = [
            # The mailbox status counts what still waits for review, at any size.
            models.Index(
                fields=["held_at"], condition=Q(decision="pending"), name="intake_held_pending"
            ),
        ]

    def __str__(self):
        return f"Held mail #{self.pk} on {self.report.public_id}"


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
