import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from encryption.fields import EncryptedEmailField, EncryptedTextField


class OutgoingMail(models.Model):
    """A mail written in the same transaction as the change it reports, delivered after commit.

    The row is the source of truth: a lost task, a broker outage or a crashed worker only delays
    delivery, because the periodic sweep delivers whatever is still pending, and whatever a
    worker claimed for sending and never finished once its claim has run out. Delivery is
    therefore at least once; a resend carries the same Message-ID, so receivers can drop it.

    Mail carries no report content, but its recipient is a researcher's contact details, and
    its bodies and a delivery error can repeat them: those are encrypted. The subject (a public
    id and a title, both clear on the report too) stays in clear to list and search by.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending (claimed by a worker)"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    to = EncryptedEmailField()
    subject = models.CharField(max_length=255)
    body_text = EncryptedTextField()
    body_html = EncryptedTextField(blank=True)
    template = models.CharField(max_length=60, help_text="Which mail this is, for filtering.")
    report_public_id = models.CharField(max_length=24, blank=True, db_index=True)
    dedupe_key = models.CharField(
        max_length=200,
        null=True,
        blank=True,
        unique=True,
        help_text="Mail that must go out once at most (a reminder, a digest) carries a key.",
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = EncryptedTextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a worker last claimed the mail for sending; a stale claim is taken over.",
    )
    message_id = models.CharField(
        max_length=255,
        blank=True,
        help_text="The Message-ID header, fixed at the first claim so every resend repeats it.",
    )
    headers = models.JSONField(
        default=dict,
        blank=True,
        help_text="Further headers: a researcher's mail carries its report's reply address "
        "(Reply-To) and thread (In-Reply-To, References).",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The row's identity in its encrypted values' associated data (encryption.binding).
    row_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "outgoing mail"
        verbose_name_plural = "outgoing mail"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="outbox_pending_due",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=Q(status="sending"),
                name="outbox_sending_claimed",
            ),
            # Program admins' first page counts the failed mail: as many as failed, at any size.
            models.Index(
                fields=["created_at"],
                condition=Q(status="failed"),
                name="outbox_failed",
            ),
        ]

    def __str__(self):
        return f"{self.subject} (to {self.to})"
