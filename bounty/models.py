import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from audit.models import StatusChange
from encryption.fields import EncryptedTextField

currency_code = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, such as USD.")


def money_field(**kwargs):
    return models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))], **kwargs
    )


def currency_field(**kwargs):
    return models.CharField(max_length=3, default="USD", validators=[currency_code], **kwargs)


class Program(models.Model):
    """The one disclosure or bounty program this deployment runs."""

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    name = models.CharField(max_length=200)
    policy = models.TextField(help_text="The public policy, in Markdown.")
    contact_email = models.EmailField(help_text="Where researchers may also report by email.")
    bounties_enabled = models.BooleanField(
        default=True, help_text="Off: a pure disclosure program that offers no awards."
    )
    currency = currency_field(help_text="Currency of the bounty table and of awards.")
    first_response_business_days = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1)]
    )
    country = models.CharField(
        max_length=2,
        default="US",
        help_text="ISO 3166 country code whose public holidays are not business days.",
    )
    subdivision = models.CharField(
        max_length=10, blank=True, help_text="Optional state or region for regional holidays."
    )
    timezone = models.CharField(max_length=64, default="UTC")
    dual_approval_threshold = money_field(
        default=Decimal("1000.00"),
        help_text="Payouts above this amount need two distinct finance approvers.",
    )
    approval_escalation_business_days = models.PositiveSmallIntegerField(
        default=3, help_text="Approvals pending longer than this are escalated."
    )
    titles_in_mail = models.BooleanField(
        default=False,
        help_text="On: mail about a report names its title and category too. Off: only its "
        "public id and status, since mail is not end-to-end secure.",
    )

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="bounty_program_singleton"),
        ]

    def __str__(self):
        return self.name


class Severity(models.Model):
    """A severity level with its award range and its service-level targets."""

    name = models.CharField(max_length=40, unique=True)
    rank = models.PositiveSmallIntegerField(unique=True, help_text="Higher is more severe.")
    award_min = money_field()
    award_max = money_field()
    currency = currency_field()
    triage_business_days = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1)], help_text="Triage within this many business days."
    )
    award_decision_business_days = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1)],
        help_text="Decide on the award within this many business days of triage.",
    )
    resolution_business_days = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1)],
        help_text="Resolve within this many business days of triage.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-rank"]
        verbose_name_plural = "severities"
        constraints = [
            models.CheckConstraint(
                condition=Q(award_min__lte=F("award_max")), name="bounty_severity_range_ordered"
            ),
        ]

    def __str__(self):
        return self.name

    def award_range_display(self):
        return f"{self.award_min:,.0f} to {self.award_max:,.0f} {self.currency}"


class Category(models.Model):
    """A class of vulnerability the program names, such as P0 supply chain attack."""

    code = models.CharField(max_length=10, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    typical_severity = models.ForeignKey(
        Severity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(default=True, help_text="Offered on the submit form.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "categories"

    def __str__(self):
        return f"{self.code} {self.name}"


class Award(models.Model):
    """A bounty (or a bonus on top of one) proposed by staff for a report.

    A justification, like a rejection's reason, is staff's words about the flaw: encrypted.
    """

    class Kind(models.TextChoices):
        BOUNTY = "bounty", "Bounty"
        BONUS = "bonus", "Bonus"

    report = models.ForeignKey("reports.Report", on_delete=models.PROTECT, related_name="awards")
    kind = models.CharField(max_length=10, choices=Kind, default=Kind.BOUNTY)
    amount = money_field()
    currency = currency_field()
    justification = EncryptedTextField(
        blank=True, help_text="Required for a bonus and for an amount outside the severity range."
    )
    outside_range = models.BooleanField(default=False, editable=False)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposed_awards"
    )
    # The row's identity in its encrypted values' associated data (encryption.binding).
    row_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    proposed_at = models.DateTimeField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["-proposed_at"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} {self.currency} for {self.report}"


class Payout(models.Model):
    """The money for one award: approved by finance, instructed, then paid exactly once."""

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        APPROVED = "approved", "Approved"
        INSTRUCTED = "instructed", "Payment instructed"
        PAID = "paid", "Paid"
        REJECTED = "rejected", "Rejected"

    award = models.OneToOneField(Award, on_delete=models.PROTECT, related_name="payout")
    reporter = models.ForeignKey(
        "reports.Reporter", on_delete=models.PROTECT, related_name="payouts"
    )
    amount = money_field()
    currency = currency_field()
    status = models.CharField(
        max_length=20, choices=Status, default=Status.AWAITING_APPROVAL, editable=False
    )
    approvals_required = models.PositiveSmallIntegerField(default=1, editable=False)
    # Where the money goes, as the researcher's payment details stood when the award was
    # proposed: approval covers this destination, and a change of it voids the approvals.
    # The method is one of four, as on the reporter; the account is the secret.
    destination_method = models.CharField(max_length=20, blank=True, editable=False)
    destination_details = EncryptedTextField(blank=True, editable=False)
    destination_renewed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the researcher's changed payment details last voided its approvals.",
    )
    instruction_reference = models.CharField(
        max_length=40, blank=True, editable=False, help_text="Idempotency key of the instruction."
    )
    instructed_at = models.DateTimeField(null=True, blank=True, editable=False)
    payment_reference = models.CharField(max_length=120, blank=True, editable=False)
    paid_at = models.DateTimeField(null=True, blank=True, editable=False)
    rejection_reason = EncryptedTextField(blank=True, editable=False)
    approved_at = models.DateTimeField(null=True, blank=True, editable=False)
    escalated_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When its overdue approval was escalated."
    )
    # The row's identity in its encrypted values' associated data (encryption.binding).
    row_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("approve_payout", "Can approve or reject payouts (finance)"),
            ("pay_payout", "Can export payment instructions and record payments (finance)"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=["instructed", "paid"]) | ~Q(instruction_reference=""),
                name="bounty_payout_instructed_has_reference",
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | ~Q(payment_reference=""),
                name="bounty_payout_paid_has_reference",
            ),
            models.UniqueConstraint(
                fields=["instruction_reference"],
                condition=~Q(instruction_reference=""),
                name="bounty_payout_instruction_once",
            ),
            models.UniqueConstraint(
                fields=["payment_reference"],
                condition=~Q(payment_reference=""),
                name="bounty_payout_payment_reference_once",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"Payout {self.amount} {self.currency} to {self.reporter}"


class PayoutApproval(models.Model):
    """One finance user's decision on a payout; a person decides a payout at most once."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"

    payout = models.ForeignKey(Payout, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payout_approvals"
    )
    decision = models.CharField(max_length=10, choices=Decision)
    reason = EncryptedTextField(blank=True)
    # The row's identity in its encrypted values' associated data (encryption.binding).
    row_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    decided_at = models.DateTimeField()
    voided_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When a change of the payout's destination made this decision void.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["decided_at"]
        constraints = [
            # A void approval covered another destination: its approver may decide anew.
            models.UniqueConstraint(
                fields=["payout", "approver"],
                condition=Q(voided_at__isnull=True),
                name="bounty_payoutapproval_once_per_person",
            ),
        ]

    def __str__(self):
        return f"{self.get_decision_display()} by {self.approver} on {self.payout_id}"


class PaymentBatch(models.Model):
    """One export of payment instructions: the instructed payouts in one currency that no
    earlier batch holds, numbered, with who exported them, their total and their count."""

    number = models.PositiveIntegerField(unique=True, editable=False)
    currency = currency_field(editable=False)
    total = models.DecimalField(max_digits=18, decimal_places=2, editable=False)
    count = models.PositiveIntegerField(editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payment_batches"
    )
    created_at = models.DateTimeField(editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-number"]
        verbose_name_plural = "payment batches"

    def __str__(self):
        return f"Payment batch {self.number}"


class PaymentBatchLine(models.Model):
    """One payout's line in a batch. A line is void once its payout's destination changed:
    the batch file that carries it must not be paid from, and settlement refuses it."""

    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="lines")
    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="batch_lines")
    reference = models.CharField(max_length=40, help_text="The payout's instruction reference.")
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["batch", "pk"]
        constraints = [
            # Two exports never both carry a payout: it is paid from one batch at most. A void
            # line stays as the record of what was exported, and its payout may be exported anew
            # once it is approved again for its new destination.
            models.UniqueConstraint(
                fields=["payout"],
                condition=Q(voided_at__isnull=True),
                name="bounty_paymentbatchline_payout_in_one_batch",
            ),
            models.UniqueConstraint(
                fields=["batch", "reference"], name="bounty_paymentbatchline_reference_once"
            ),
        ]

    def __str__(self):
        return f"{self.reference} in batch {self.batch.number}"


class PaymentBatchDownload(models.Model):
    """Who downloaded a batch's file, and when; every download after the first is a
    re-download, and its file says so."""

    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="downloads")
    downloaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    downloaded_at = models.DateTimeField()
    redownload = models.BooleanField()

    class Meta:
        ordering = ["downloaded_at", "pk"]

    def __str__(self):
        copy = "Re-download" if self.redownload else "Download"
        return f"{copy} of batch {self.batch.number} by {self.downloaded_by}"


class AwaitingApprovalManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(status=Payout.Status.AWAITING_APPROVAL)


class PayoutAwaitingMyApproval(Payout):
    """The finance queue: payouts awaiting a decision, seen through the admin as their own list."""

    objects = AwaitingApprovalManager()

    class Meta:
        proxy = True
        verbose_name = "payout awaiting my approval"
        verbose_name_plural = "payouts awaiting my approval"


class PayoutStatusChange(StatusChange):
    """One decision on a payout: a status move with who made it, when and why.

    Written in the transaction of the move itself, and never touched by audit retention.
    """

    payout = models.ForeignKey(Payout, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField("from", max_length=20, choices=Payout.Status)
    to_status = models.CharField("to", max_length=20, choices=Payout.Status)

    class Meta(StatusChange.Meta):
        indexes = [models.Index(fields=["payout", "at"])]

    def __str__(self):
        return f"{self.get_from_status_display()} → {self.get_to_status_display()} by {self.actor}"
