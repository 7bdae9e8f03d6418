"""Awards and the finance decisions on their payouts: proposing, approving, rejecting, and
escalating approvals that wait too long.

Each use case is one transaction. The unique constraint of one decision per person and payout is
the last line of defence; side effects (mail, the instruction task) leave only when the
transaction commits.
"""

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.history import audited
from accounts.models import User
from bounty import emails
from bounty.models import Award, Payout, PayoutApproval, Program
from bounty.selectors import ProgramNotConfigured, current_program
from bounty.services.payments import _request_instruction
from bounty.services.status import (
    APPROVE_PERMISSION,
    PROPOSE_PERMISSION,
    S,
    _as_system,
    _check_move,
    _locked,
    _require_permission,
    _require_text,
    _set_status,
)
from reports import deadlines
from reports.models import Report, Reporter

AWARDABLE_REPORT_STATUSES = frozenset({Report.Status.TRIAGED, Report.Status.RESOLVED})
CENT = Decimal("0.01")
LARGEST_AMOUNT = Decimal("9999999999.99")


def _money(amount) -> Decimal:
    try:
        amount = Decimal(str(amount))
    except InvalidOperation:
        raise ValidationError("The amount is not a number.", code="invalid_amount") from None
    if not amount.is_finite() or amount <= 0 or amount > LARGEST_AMOUNT:
        raise ValidationError("An award is a positive amount.", code="invalid_amount")
    if amount != amount.quantize(CENT):
        raise ValidationError("An amount has at most two decimal places.", code="invalid_amount")
    return amount.quantize(CENT)


def _refuse_own_proposal(payout: Payout, user: User) -> None:
    if payout.award.proposed_by_id == user.pk:
        raise PermissionDenied("Nobody decides on a payout they proposed themselves.")


def check_award_proposable(report: Report, *, user: User, program: Program | None = None) -> None:
    """Raise PermissionDenied or ValidationError if ``user`` may not propose an award on
    ``report`` now."""
    _require_permission(user, PROPOSE_PERMISSION, "propose awards")
    program = program or current_program()
    if not program.bounties_enabled:
        raise ValidationError(
            "This program offers no awards: it is a disclosure program.", code="bounties_disabled"
        )
    if report.status not in AWARDABLE_REPORT_STATUSES:
        raise ValidationError(
            f"Awards are proposed on triaged or resolved reports; {report.public_id} is "
            f"{report.get_status_display().lower()}.",
            code="not_awardable",
        )
    if report.severity_id is None:
        raise ValidationError(f"{report.public_id} has no severity.", code="no_severity")


def may_propose_award(report: Report, user: User) -> bool:
    try:
        check_award_proposable(report, user=user)
    except (PermissionDenied, ValidationError, ProgramNotConfigured):
        return False
    return True


def approvals_required(
    amount: Decimal, currency: str, *, outside_range: bool, program: Program
) -> int:
    """One finance approval; a second above the program's threshold; one more outside the range."""
    # The threshold is in the program's currency; an amount in another cannot be compared with
    # it, so it gets the stricter treatment.
    above_threshold = currency != program.currency or amount > program.dual_approval_threshold
    return 1 + int(above_threshold) + int(outside_range)


@audited
def propose_award(
    report: Report,
    *,
    acting_user: User,
    amount,
    currency: str,
    kind: str = Award.Kind.BOUNTY,
    justification: str = "",
) -> Award:
    """Propose a bounty, or a bonus on top of one, and ask finance to approve its payout.

    A bounty is inside the severity's range unless justified in writing; a bonus always says why,
    and counts as outside the range when it takes the report's awards above the range's top.
    Outside the range, the payout needs one more approval.
    """
    program = current_program()
    # Locking the report serializes proposals on it: two triagers cannot both add its bounty.
    report = (
        Report.objects.select_for_update(of=("self",))
        .select_related("severity", "reporter")
        .get(pk=report.pk)
    )
    check_award_proposable(report, user=acting_user, program=program)
    amount = _money(amount)
    try:
        kind = Award.Kind(kind)
    except ValueError:
        raise ValidationError(f"No award kind {kind!r}.", code="invalid_kind") from None
    severity = report.severity
    currency = (currency or "").strip().upper()
    if currency != severity.currency:
        raise ValidationError(
            f"Awards for {severity.name} severity are in {severity.currency}.",
            code="wrong_currency",
        )
    standing = Award.objects.filter(report=report, currency=currency).exclude(
        payout__status=S.REJECTED
    )
    has_bounty = standing.filter(kind=Award.Kind.BOUNTY).exists()
    if kind == Award.Kind.BOUNTY and has_bounty:
        raise ValidationError(
            f"{report.public_id} has a bounty already: propose a bonus on top of it.",
            code="bounty_exists",
        )
    if kind == Award.Kind.BONUS and not has_bounty:
        raise ValidationError(
            "A bonus comes on top of a bounty: propose the bounty first.", code="no_bounty"
        )
    if kind == Award.Kind.BOUNTY:
        outside_range = not severity.award_min <= amount <= severity.award_max
    else:
        awarded = standing.aggregate(total=Sum("amount"))["total"] or Decimal(0)
        outside_range = awarded + amount > severity.award_max
    justification = (justification or "").strip()
    if outside_range and not justification:
        raise ValidationError(
            f"{amount} {currency} is outside the {severity.name} range "
            f"({severity.award_range_display()}): justify it in writing.",
            code="justification_required",
        )
    if kind == Award.Kind.BONUS and not justification:
        raise ValidationError("A bonus needs a reason.", code="justification_required")
    award = Award.objects.create(
        report=report,
        kind=kind,
        amount=amount,
        currency=currency,
        justification=justification,
        outside_range=outside_range,
        proposed_by=acting_user,
        proposed_at=timezone.now(),
    )
    # Locking the reporter orders this snapshot with a change of the payment details: the
    # change either comes first and is snapshotted, or comes after and voids this payout.
    reporter = Reporter.objects.select_for_update().get(pk=report.reporter_id)
    payout = Payout.objects.create(
        award=award,
        reporter=reporter,
        amount=amount,
        currency=currency,
        approvals_required=approvals_required(
            amount, currency, outside_range=outside_range, program=program
        ),
        destination_method=reporter.payment_method,
        destination_details=reporter.payment_details,
    )
    deadlines.meet_deadlines(report, deadlines.Kind.AWARD_DECISION)
    emails.mail_award_proposed(payout)
    return award


@audited
def approve_payout(
    payout: Payout, *, acting_user: User, destination_shown_at: datetime | None = None
) -> Payout:
    """Approve a payout; with the last approval it needs it is approved, the researcher is told,
    and its payment instruction is requested. Approving again changes nothing.

    ``destination_shown_at`` says when the approver was shown the payout's destination: an
    approval covers what they saw, so it is refused if the destination changed since.
    """
    _require_permission(acting_user, APPROVE_PERMISSION, "approve payouts")
    payout = _locked(payout)
    _refuse_own_proposal(payout, acting_user)
    mine = payout.approvals.filter(approver=acting_user, voided_at__isnull=True).first()
    if mine is not None and mine.decision == PayoutApproval.Decision.APPROVE:
        return payout
    _check_move(payout, S.APPROVED)
    renewed_at = payout.destination_renewed_at
    if destination_shown_at is not None and renewed_at and renewed_at > destination_shown_at:
        raise ValidationError(
            "The researcher changed their payment details after the page was shown: look at "
            "the new destination before approving.",
            code="destination_changed",
        )
    now = timezone.now()
    PayoutApproval.objects.create(
        payout=payout,
        approver=acting_user,
        decision=PayoutApproval.Decision.APPROVE,
        decided_at=now,
    )
    given = payout.approvals.filter(
        decision=PayoutApproval.Decision.APPROVE, voided_at__isnull=True
    ).count()
    if given >= payout.approvals_required:
        _set_status(payout, S.APPROVED, approved_at=now)
        emails.mail_payout_approved(payout)
        transaction.on_commit(partial(_request_instruction, payout.pk), robust=True)
    return payout


@audited
def reject_payout(payout: Payout, *, acting_user: User, reason: str) -> Payout:
    """Refuse a proposed payout, saying why; the award stays on record, unpaid."""
    reason = _require_text(reason, "A reason for the rejection")
    _require_permission(acting_user, APPROVE_PERMISSION, "reject payouts")
    payout = _locked(payout)
    _refuse_own_proposal(payout, acting_user)
    mine = payout.approvals.filter(approver=acting_user, voided_at__isnull=True).first()
    if mine is not None:
        if mine.decision == PayoutApproval.Decision.REJECT:
            return payout
        raise ValidationError(
            "You approved this payout already: each person decides a payout once.",
            code="already_decided",
        )
    _check_move(payout, S.REJECTED)
    PayoutApproval.objects.create(
        payout=payout,
        approver=acting_user,
        decision=PayoutApproval.Decision.REJECT,
        reason=reason,
        decided_at=timezone.now(),
    )
    _set_status(payout, S.REJECTED, reason=reason, rejection_reason=reason)
    emails.mail_payout_rejected(payout)
    return payout


def escalate_stale_approvals(now=None) -> int:
    """Tell finance and program admins, once per payout, of approvals pending longer than the
    program's business days; return how many payouts were escalated."""
    now = now or timezone.now()
    program = Program.objects.first()
    if program is None:
        return 0
    days = program.approval_escalation_business_days
    # N business days never end sooner than N calendar days: a cheap first cut.
    candidates = Payout.objects.filter(
        status=S.AWAITING_APPROVAL,
        escalated_at__isnull=True,
        created_at__lt=now - timedelta(days=days),
    ).values_list("pk", flat=True)
    return sum(_escalate(pk, program, now) for pk in list(candidates))


def _escalate(payout_id: int, program: Program, now) -> bool:
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("award__report", "award__proposed_by", "reporter")
            .filter(pk=payout_id, status=S.AWAITING_APPROVAL, escalated_at__isnull=True)
            .first()
        )
        if payout is None:
            return False
        due = deadlines.business_days_after(
            payout.created_at, program.approval_escalation_business_days, program
        )
        if now <= due:
            return False
        payout.escalated_at = now
        _as_system(payout, "approval overdue, escalated")
        payout.save(update_fields=["escalated_at", "updated_at"])
        emails.mail_approval_overdue(payout)
        return True
