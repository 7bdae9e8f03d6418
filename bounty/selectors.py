import datetime as dt
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from bounty.models import PaymentBatch, PaymentBatchLine, Payout, PayoutApproval, Program
from reports.deadlines import business_days_after
from reports.models import Reporter


class ProgramNotConfigured(Program.DoesNotExist):
    """The deployment has no program yet: run ``manage.py seed_demo`` or create one in the admin."""


def current_program() -> Program:
    """Return this deployment's program."""
    program = Program.objects.first()
    if program is None:
        raise ProgramNotConfigured(
            "No program is configured: create one in the admin or run `manage.py seed_demo`."
        )
    return program


# Memory while a batch file streams is bounded by one fetch of this many lines, at any size.
BATCH_LINES_PER_FETCH = 1000
APPROVED_NOT_PAID = (Payout.Status.APPROVED, Payout.Status.INSTRUCTED)
SEEN_BY_RESEARCHER = (Payout.Status.APPROVED, Payout.Status.INSTRUCTED, Payout.Status.PAID)


def _undecided_by(user, payouts: QuerySet) -> QuerySet[Payout]:
    if not user.has_perm("bounty.approve_payout"):
        return payouts.none()
    decided_by_user = PayoutApproval.objects.filter(approver=user, voided_at__isnull=True)
    return (
        payouts.filter(status=Payout.Status.AWAITING_APPROVAL)
        .exclude(award__proposed_by=user)
        .exclude(pk__in=decided_by_user.values("payout"))
    )


def payouts_awaiting_approval_by(user, among: QuerySet | None = None) -> QuerySet[Payout]:
    """Return the payouts ``user`` may still decide: awaiting approval, not proposed by them and
    not yet approved by them. ``among`` narrows the choice (the admin passes its own queryset)."""
    standing_approval = Q(
        approvals__decision=PayoutApproval.Decision.APPROVE, approvals__voided_at__isnull=True
    )
    return (
        _undecided_by(user, Payout.objects.all() if among is None else among)
        .annotate(approvals_given=Count("approvals", filter=standing_approval))
        .select_related("award__report__severity", "award__proposed_by", "reporter")
        .order_by("created_at", "pk")
    )


def count_payouts_awaiting_approval_by(user) -> int:
    """Count the payouts in ``user``'s approval queue, as ``payouts_awaiting_approval_by``."""
    return _undecided_by(user, Payout.objects.all()).count()


def approval_overdue_before(program: Program, now=None) -> dt.datetime:
    """Return the moment before which a payout still awaiting approval is overdue.

    The rule is ``escalate_stale_approvals``': overdue once the program's escalation business days
    after the local day it was proposed have passed. That end depends only on the proposal's local
    day and grows with it, so the overdue payouts are those proposed before one local midnight.
    """
    now = now or timezone.now()
    zone = ZoneInfo(program.timezone)
    day = timezone.localtime(now, zone).date()
    days = program.approval_escalation_business_days
    while business_days_after(dt.datetime.combine(day, dt.time.min, zone), days, program) >= now:
        day -= dt.timedelta(days=1)
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, zone)


def stale_approvals(program: Program, now=None) -> QuerySet[Payout]:
    """Return the payouts awaiting approval for longer than the program's escalation threshold."""
    return Payout.objects.filter(
        status=Payout.Status.AWAITING_APPROVAL,
        created_at__lt=approval_overdue_before(program, now),
    )


def open_payment_batches() -> QuerySet[PaymentBatch]:
    """Return the batches that still hold money to pay: a live line whose payout is not paid.

    Read from the instructed payouts, the unpaid work, rather than from every batch ever made.
    """
    unpaid = PaymentBatchLine.objects.filter(
        voided_at__isnull=True, payout__status=Payout.Status.INSTRUCTED
    )
    return PaymentBatch.objects.filter(pk__in=unpaid.values("batch"))


def approved_not_paid_totals() -> list[dict]:
    """Return, per currency, how many payouts are approved or instructed and not paid, and their
    sum; currencies are never added together."""
    return list(
        Payout.objects.filter(status__in=APPROVED_NOT_PAID)
        .values("currency")
        .annotate(total=Sum("amount"), payouts=Count("pk"))
        .order_by("currency")
    )


def batch_lines(batch: PaymentBatch) -> QuerySet[PaymentBatchLine]:
    """Return a batch's lines in the order they were exported, with what their rows show."""
    return (
        batch.lines.select_related("payout__reporter")
        .only(
            "batch_id",
            "reference",
            "voided_at",
            "payout__amount",
            "payout__currency",
            "payout__destination_method",
            "payout__destination_details",
            "payout__reporter__email",
            "payout__reporter__display_name",
            # Encrypted values decrypt with their row's key: left out, each row would load it.
            "payout__row_key",
            "payout__reporter__row_key",
        )
        .order_by("pk")
    )


def payouts_for_report(report) -> QuerySet[Payout]:
    """Return the payouts of a report its researcher may see: approved, instructed or paid.

    A proposal under review and a rejection are staff deliberations; the researcher hears of an
    award once it is approved, and of its payment.
    """
    return (
        Payout.objects.filter(award__report=report, status__in=SEEN_BY_RESEARCHER)
        .select_related("award")
        .order_by("created_at", "pk")
    )


def payouts_for_reporter(reporter) -> QuerySet[Payout]:
    """Return every payout a researcher may see, across their reports, newest first."""
    return (
        Payout.objects.filter(reporter=reporter, status__in=SEEN_BY_RESEARCHER)
        .select_related("award__report")
        .order_by("-created_at", "-pk")
    )


def _amounts_by_status() -> dict:
    # One Sum per status group; a currency is always part of the grouping, so different
    # currencies are never added together.
    return {
        "awaiting_approval": Sum("amount", filter=Q(status=Payout.Status.AWAITING_APPROVAL)),
        "approved_not_paid": Sum("amount", filter=Q(status__in=APPROVED_NOT_PAID)),
        "paid": Sum("amount", filter=Q(status=Payout.Status.PAID)),
        "payouts": Count("pk"),
    }


def payout_totals_per_researcher() -> list[dict]:
    """Return, per researcher and currency, the amounts awaiting approval, approved and paid.

    Each row names its researcher (``researcher``, a Reporter) and is sorted by that name here:
    names and addresses are encrypted, so the database can neither return nor sort them.
    """
    rows = list(
        Payout.objects.exclude(status=Payout.Status.REJECTED)
        .values("reporter", "currency")
        .annotate(**_amounts_by_status())
        .order_by("reporter", "currency")
    )
    researchers = Reporter.objects.in_bulk({row["reporter"] for row in rows})
    for row in rows:
        row["researcher"] = researchers[row["reporter"]]
    return sorted(rows, key=lambda row: (str(row["researcher"]).casefold(), row["currency"]))


def payout_totals_per_severity() -> QuerySet:
    """Return, per severity of the report and currency, the amounts awaiting, approved and paid."""
    return (
        Payout.objects.exclude(status=Payout.Status.REJECTED)
        .values("award__report__severity__name", "award__report__severity__rank", "currency")
        .annotate(**_amounts_by_status())
        .order_by(F("award__report__severity__rank").desc(nulls_last=True), "currency")
    )


def paid_totals_per_month() -> QuerySet:
    """Return, per calendar month of payment and currency, the amount paid and how many payouts."""
    return (
        Payout.objects.filter(status=Payout.Status.PAID)
        .annotate(month=TruncMonth("paid_at"))
        .values("month", "currency")
        .annotate(paid=Sum("amount"), payouts=Count("pk"))
        .order_by("-month", "currency")
    )
