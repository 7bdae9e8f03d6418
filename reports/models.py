import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from audit.models import StatusChange
from encryption.blind_index import BlindIndexField
from encryption.fields import (
    EncryptedCharField,
    EncryptedEmailField,
    EncryptedFileField,
    EncryptedTextField,
)
from encryption.storage import encrypted_storage
from reports.placeholders import PLACEHOLDERS, validate_placeholders

# Crockford's base32 without the look-alikes: readable aloud and in mail subjects.
_PUBLIC_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PUBLIC_ID_LENGTH = 16  # 80 random bits: not enumerable, not guessable


def new_public_id() -> str:
    """Return an unguessable report id such as ``VR-7K3M-Q9XD-2HPA-B4TN``."""
    raw = "".join(secrets.choice(_PUBLIC_ID_ALPHABET) for _ in range(_PUBLIC_ID_LENGTH))
    return "VR-" + "-".join(raw[i : i + 4] for i in range(0, _PUBLIC_ID_LENGTH, 4))


def new_mail_token() -> str:
    """Return the secret half of a report's reply address: 96 random bits, in lower case
    because mail servers may fold the case of an address's local part."""
    return secrets.token_hex(12)


class Reporter(models.Model):
    """A researcher: someone with an account, or only an email address until they sign up.

    Contact and payment details are encrypted; the address is found through its blind index
    (``Reporter.objects.filter(email_index__matches=address)``), which ignores case.
    """

    class PaymentMethod(models.TextChoices):
        NONE = "", "Not given"
        PAYPAL = "paypal", "PayPal"
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        OTHER = "other", "Other"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reporter",
    )
    email = EncryptedEmailField()
    email_index = BlindIndexField(source="email", purpose="email")
    display_name = EncryptedCharField(max_length=120, blank=True)
    payment_method = models.CharField(
        max_length=20, choices=PaymentMethod, default=PaymentMethod.NONE, blank=True
    )
    payment_details = EncryptedTextField(
        blank=True, help_text="How to pay this researcher. Shown to finance only."
    )
    # Encrypted like the address: its user IDs name the researcher.
    pgp_public_key = EncryptedTextField(
        "OpenPGP public key",
        blank=True,
        help_text="Mail to this researcher is encrypted to it (outbox.pgp).",
    )
    # The row's identity in its encrypted values' associated data (encryption.binding).
    row_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        # The email is encrypted, so ordering by it would order by ciphertext: at random.
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("view_payment_details", "Can view researchers' payment details"),
            ("relink_reporter", "Can re-link a researcher to another account, giving a reason"),
        ]
        constraints = [
            # One researcher per address, whatever its case (the index folds case). While a key
            # rotation is under way an address indexed under the old key and the same address
            # under the new one differ, so the services look addresses up under every key first.
            models.UniqueConstraint(fields=["email_index"], name="reports_reporter_email_unique"),
        ]

    def __str__(self):
        return self.display_name or self.email

    def validate_constraints(self, exclude=None):
        # The constraint is on the index, which no form edits, so forms would skip it and hit
        # the database's refusal instead; checking the address says which field is wrong.
        super().validate_constraints(exclude=exclude)
        if self.email and "email" not in (exclude or ()):
            taken = Reporter.objects.filter(email_index__matches=self.email).exclude(pk=self.pk)
            if taken.exists():
                raise ValidationError(
                    {"email": "Another researcher already has this email address."},
                    code="unique",
                )


class Report(models.Model):
    """A vulnerability report, from submission to its resolution or closure."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        NEEDS_INFO = "needs_info", "Needs information"
        TRIAGED = "triaged", "Triaged"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class Resolution(models.TextChoices):
        NONE = "", "—"
        FIXED = "fixed", "Fixed"
        DUPLICATE = "duplicate", "Duplicate"
        INFORMATIVE = "informative", "Informative"
        NOT_APPLICABLE = "not_applicable", "Not applicable"
        OUT_OF_SCOPE = "out_of_scope", "Out of scope"
        SPAM = "spam", "Spam"
        WONT_FIX = "wont_fix", "Won't fix"

    class Channel(models.TextChoices):
        PORTAL = "portal", "Portal"
        EMAIL = "email", "Email"

    public_id = models.CharField(max_length=24, unique=True, default=new_public_id, editable=False)
    reporter = models.ForeignKey(Reporter, on_delete=models.PROTECT, related_name="reports")
    # A capability: whoever holds it can write into the report's mail thread (intake.threads).
    # It goes out only in mail to the researcher, and a reply still needs their address.
    mail_token = models.CharField(max_length=24, default=new_mail_token, editable=False)
    title = models.CharField(max_length=200)
    category = models.ForeignKey(
        "bounty.Category", null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    severity = models.ForeignKey(
        "bounty.Severity", null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    # What the researcher wrote, and the vector that details the flaw, are encrypted; what the
    # desk lists, filters and sorts by (title, status, severity, score, dates) stays in clear.
    cvss_vector = EncryptedCharField("CVSS vector", max_length=255, blank=True)
    cvss_score = models.DecimalField(
        "CVSS score", max_digits=3, decimal_places=1, null=True, blank=True, editable=False
    )
    affected_asset = EncryptedCharField(max_length=255, blank=True)
    affected_version = EncryptedCharField(max_length=120, blank=True)
    description = EncryptedTextField()
    steps_to_reproduce = EncryptedTextField()
    impact = EncryptedTextField(blank=True)
    status = models.CharField(
        max_length=20, choices=Status, default=Status.SUBMITTED, editable=False
    )
    status_before_info_request = models.CharField(
        max_length=20, choices=Status, blank=True, editable=False
    )
    resolution = models.CharField(
        max_length=20, choices=Resolution, default=Resolution.NONE, blank=True, editable=False
    )
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
        editable=False,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_reports",
        limit_choices_to={"is_staff": True},
    )
    received_at = models.DateTimeField(default=timezone.now, editable=False)
    # Which door the report came in by: the portal form, or mail to the intake address
    # (polled, imported with ingest_mail, or retyped by staff).
    channel = models.CharField(
        max_length=10, choices=Channel, default=Channel.PORTAL, editable=False
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True, editable=False)
    triaged_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The row's identity in its encrypted values' associated data (encryption.binding).
    row_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    last_activity_at = models.DateTimeField(default=timezone.now, editable=False)
    # The inbox orders and filters by the next promise due; reports.deadlines keeps these two in
    # step with the deadline rows, so the list reads one indexed column, not every deadline.
    next_deadline_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_deadline_kind = models.CharField(max_length=20, blank=True, editable=False)
    awaiting_staff_since = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the researcher wrote and staff have not written back yet.",
    )

    history = HistoricalRecords(
        # Bookkeeping for the inbox, not a decision: not worth a history row each time.
        excluded_fields=["next_deadline_at", "next_deadline_kind", "awaiting_staff_since"]
    )

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["status", "-received_at"]),
            models.Index(fields=["reporter", "-last_activity_at"]),
            models.Index(
                fields=["next_deadline_at"],
                condition=Q(status__in=["submitted", "acknowledged", "needs_info", "triaged"]),
                name="reports_report_inbox_order",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="closed") | ~Q(resolution=""),
                name="reports_report_closed_has_resolution",
            ),
            models.CheckConstraint(
                condition=Q(duplicate_of__isnull=True) | Q(resolution="duplicate"),
                name="reports_report_duplicate_of_only_for_duplicates",
            ),
        ]

    def __str__(self):
        return f"{self.public_id} {self.title}"


class Message(models.Model):
    """A note on a report: public (the researcher sees it) or internal (staff only)."""

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        INTERNAL = "internal", "Internal"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for messages the system writes.",
    )
    visibility = models.CharField(max_length=10, choices=Visibility, default=Visibility.PUBLIC)
    # A researcher who writes by mail before they have an account has no user to be the author.
    by_researcher = models.BooleanField(
        default=False, editable=False, help_text="Written by the report's researcher."
    )
    # The row's identity in its encrypted values' associated data (encryption.binding).
    row_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    body = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["report", "created_at"])]

    def __str__(self):
        return f"{self.get_visibility_display()} message on {self.report.public_id}"


def attachment_path(instance, filename):
    # The stored name is random: the researcher's file name never reaches the filesystem.
    return f"attachments/{secrets.token_hex(16)}"


class Attachment(models.Model):
    """A file a researcher or staff attached to a report, stored encrypted with its name."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    file = EncryptedFileField(upload_to=attachment_path, storage=encrypted_storage)
    original_name = EncryptedCharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    # The row's identity in its encrypted values' associated data (encryption.binding).
    row_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.original_name


class Deadline(models.Model):
    """A promise with a due time on a report: first response, triage, award decision, resolution."""

    class Kind(models.TextChoices):
        FIRST_RESPONSE = "first_response", "First response"
        TRIAGE = "triage", "Triage"
        AWARD_DECISION = "award_decision", "Award decision"
        RESOLUTION = "resolution", "Resolution"

    class ReminderStage(models.IntegerChoices):
        NONE = 0, "None sent"
        DUE_SOON = 1, "Due-soon reminder sent"
        DUE = 2, "Due reminder sent"
        ESCALATED = 3, "Overdue escalation sent"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="deadlines")
    kind = models.CharField(max_length=20, choices=Kind)
    due_at = models.DateTimeField()
    met_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the report was closed before this was met."
    )
    paused_at = models.DateTimeField(
        null=True, blank=True, help_text="Set while the clock waits for the researcher."
    )
    last_reminder_stage = models.PositiveSmallIntegerField(
        choices=ReminderStage, default=ReminderStage.NONE
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "kind"], name="reports_deadline_one_per_kind"
            ),
        ]
        indexes = [
            # The reminder sweep reads only the deadlines that may still owe a reminder, in due
            # order: its cost follows the reminders due, not the size of the table.
            models.Index(
                fields=["due_at"],
                condition=Q(
                    met_at__isnull=True,
                    cancelled_at__isnull=True,
                    paused_at__isnull=True,
                    last_reminder_stage__lt=3,
                ),
                name="reports_deadline_to_remind",
            ),
            # The deadline list's order and date drill-down, and the deadlines missed in a
            # month on program admins' first page: a range of due times, not the whole table.
            models.Index(fields=["due_at"], name="reports_deadline_due"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.report.public_id}"

    @property
    def is_open(self):
        return self.met_at is None and self.cancelled_at is None


class ReportStatusChange(StatusChange):
    """One decision on a report: a status move with who made it, when and why.

    Written in the transaction of the move itself, by the workflow services only, and never
    touched by audit retention: the researcher's timeline and who decided outlive history rows.
    """

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(
        "from",
        max_length=20,
        choices=Report.Status,
        blank=True,
        help_text="Empty for the submission.",
    )
    to_status = models.CharField("to", max_length=20, choices=Report.Status)
    resolution = models.CharField(
        max_length=20,
        choices=Report.Resolution,
        blank=True,
        help_text="The report's resolution after the move.",
    )

    class Meta(StatusChange.Meta):
        indexes = [models.Index(fields=["report", "at"])]

    def __str__(self):
        before = self.get_from_status_display() or "Submission"
        return f"{before} → {self.get_to_status_display()} by {self.actor}"


class SavedReply(models.Model):
    """A canned answer the program keeps for staff to start a message from.

    Program text, kept in clear like the policy: it names no report until staff use it, and
    what it becomes then is a message, encrypted like every other.
    """

    name = models.CharField(
        max_length=100,
        unique=True,
        help_text="What staff pick it by, such as “Ask for steps to reproduce”.",
    )
    body = models.TextField(
        validators=[validate_placeholders],
        help_text="Markdown. Placeholders: "
        + ", ".join(f"{{{name}}} for {meaning}" for name, meaning in PLACEHOLDERS.items())
        + ". Write {{ or }} for a brace itself. Keep report details out: this text is not "
        "encrypted.",
    )
    is_active = models.BooleanField("active", default=True, help_text="Offered when writing.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "saved replies"

    def __str__(self):
        return self.name
