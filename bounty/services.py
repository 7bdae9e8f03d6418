"""Every change to an award or a payout: one function per use case, each one transaction.

A payout moves awaiting approval -> approved -> instructed -> paid, or is rejected; NEXT_STATUSES
is the single source of truth for those moves and nothing else writes a payout's status. A payout
carries the destination its approvals cover (the researcher's payment details when the award was
proposed); when the researcher changes them before the payment, the approvals are void and an
approved or instructed payout goes back to awaiting approval, its batch line void. Approving
and paying lock the payout's row and re-check its status under the lock, so two clicks, two finance
users or two workers acting at once change it once. The unique constraints (one decision per
person and payout, one payout per instruction and per payment reference) are the last line of
defence. Side effects (mail, the instruction task) leave only when the transaction commits.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.utils import timezone

from accounts.history import actor_label, audited, history_user_of
from accounts.models import User
from bounty import emails
from bounty.models import (
    Award,
    PaymentBatch,
    PaymentBatchDownload,
    PaymentBatchLine,
    Payout,
    PayoutApproval,
    PayoutStatusChange,
    Program,
)
from bounty.payment_csv import SettlementLine, read_settlement
from bounty.selectors import ProgramNotConfigured, current_program
from reports import deadlines
from reports.models import Report, Reporter

logger = logging.getLogger(__name__)

PROPOSE_PERMISSION = "bounty.add_award"
APPROVE_PERMISSION = "bounty.approve_payout"
PAY_PERMISSION = "bounty.pay_payout"
AWARDABLE_REPORT_STATUSES = frozenset({Report.Status.TRIAGED, Report.Status.RESOLVED})
INSTRUCTION_SWEEP_BATCH_SIZE = 100
BATCH_LINES_PER_INSERT = 2000
CENT = Decimal("0.01")
LARGEST_AMOUNT = Decimal("9999999999.99")
PAYMENT_REFERENCE_MAX_LENGTH = Payout._meta.get_field("payment_reference").max_length

S = Payout.Status
NEXT_STATUSES: dict[str, frozenset[str]] = {
    S.AWAITING_APPROVAL: frozenset({S.APPROVED, S.REJECTED}),
    # Back to awaiting approval: the researcher changed their payment details before the payment.
    S.APPROVED: frozenset({S.INSTRUCTED, S.AWAITING_APPROVAL}),
    S.INSTRUCTED: frozenset({S.PAID, S.AWAITING_APPROVAL}),
    S.PAID: frozenset(),
    S.REJECTED: frozenset(),
}
NOT_YET_PAID = (S.AWAITING_APPROVAL, S.APPROVED, S.INSTRUCTED)


class IllegalPayoutMove(Exception):
    """A payout status change that NEXT_STATUSES does not allow from the payout's status."""

    def __init__(self, payout: Payout, status: str):
        self.payout = payout
        self.status = status
        super().__init__(
            f"Payout {payout.pk} is {payout.get_status_display().lower()}: "
            f"it cannot become {S(status).label.lower()}."
        )


def _check_move(payout: Payout, status: str) -> None:
    if status not in NEXT_STATUSES[payout.status]:
        raise IllegalPayoutMove(payout, status)


def _set_status(payout: Payout, status: str, *, reason: str = "", **fields) -> None:
    _check_move(payout, status)
    previous = payout.status
    payout.status = status
    for name, value in fields.items():
        setattr(payout, name, value)
    payout.save()
    # Whoever the history row names decided: the service's acting user, or nobody in a task.
    actor = history_user_of(payout)
    PayoutStatusChange.objects.create(
        payout=payout,
        from_status=previous,
        to_status=status,
        acting_user=actor,
        actor=actor_label(actor),
        at=payout.updated_at,
        reason=reason or getattr(payout, "_change_reason", ""),
    )


def _as_system(payout: Payout, reason: str) -> None:
    # No person acts in a task or a sweep: the history names no user, and says so.
    payout._history_user = None
    payout._change_reason = f"system: {reason}"


def _locked(payout: Payout | int) -> Payout:
    # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
    return (
        Payout.objects.select_for_update(of=("self",))
        .select_related("award__report", "award__proposed_by", "reporter")
        .get(pk=getattr(payout, "pk", payout))
    )


def _require_permission(user: User | None, permission: str, what: str) -> None:
    if user is None or not user.has_perm(permission):
        raise PermissionDenied(f"You may not {what}.")


def _require_text(value: str, what: str, *, max_length: int | None = None) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(f"{what} is required.", code="required")
    if max_length is not None and len(value) > max_length:
        raise ValidationError(f"{what} is at most {max_length} characters.", code="too_long")
    return value


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


def instruction_reference_for(payout: Payout) -> str:
    """Return the idempotency key of the payout's payment instruction."""
    # Derived from the payout alone, so every attempt at the same instruction (a retried task,
    # a second worker, the sweep) carries the same key, and a bank seeing it twice can refuse.
    return f"BD-PAY-{payout.pk:08d}"


def _request_instruction(payout_id: int) -> None:
    from bounty.tasks import create_payment_instruction_task

    try:
        create_payment_instruction_task.delay(payout_id)
    except Exception:
        logger.warning(
            "The broker did not take the instruction task for payout %s; the sweep creates it",
            payout_id,
            exc_info=True,
        )


@transaction.atomic
def create_payment_instruction(payout_id: int) -> bool:
    """Create the payment instruction of an approved payout; return False, changing nothing, if
    it has one already or is not approved."""
    payout = _locked(payout_id)
    if payout.status != S.APPROVED:
        return False
    _as_system(payout, "payment instruction created")
    _set_status(
        payout,
        S.INSTRUCTED,
        instruction_reference=instruction_reference_for(payout),
        instructed_at=timezone.now(),
    )
    return True


def instruct_approved_payouts(*, batch_size: int = INSTRUCTION_SWEEP_BATCH_SIZE) -> int:
    """Create the instructions that approval's task did not (the broker was down); return how
    many were created."""
    approved = Payout.objects.filter(status=S.APPROVED).order_by("approved_at", "pk")
    return sum(
        create_payment_instruction(pk)
        for pk in list(approved.values_list("pk", flat=True))[:batch_size]
    )


DESTINATION_CHANGED = "the researcher changed their payment details"


@audited
def renew_payout_destinations(reporter: Reporter, *, acting_user: User | None) -> list[Payout]:
    """Point every not-yet-paid payout of the researcher at their payment details as they are
    now; return the payouts whose destination changed.

    Such a payout's approvals covered another destination: they are void, an approved or
    instructed payout goes back to awaiting approval, and a line of it in a payment batch is
    void, so that the old destination is never paid from the file that carries it.
    """
    now = timezone.now()
    destination = (reporter.payment_method, reporter.payment_details)
    renewed = []
    for payout in (
        Payout.objects.select_for_update(of=("self",))
        .select_related("award__report", "award__proposed_by", "reporter")
        .filter(reporter=reporter, status__in=NOT_YET_PAID)
        .order_by("pk")
    ):
        if (payout.destination_method, payout.destination_details) == destination:
            continue
        _renew_destination(payout, destination, now)
        renewed.append(payout)
    return renewed


def _renew_destination(payout: Payout, destination: tuple[str, str], now) -> None:
    for approval in payout.approvals.filter(voided_at__isnull=True):
        approval.voided_at = now
        approval._change_reason = f"void: {DESTINATION_CHANGED}"
        approval.save(update_fields=["voided_at"])
    for line in payout.batch_lines.filter(voided_at__isnull=True):
        line.voided_at = now
        line.void_reason = f"The payout's destination changed: {DESTINATION_CHANGED}."
        line.save(update_fields=["voided_at", "void_reason"])
    method, details = destination
    fields = {
        "destination_method": method,
        "destination_details": details,
        "destination_renewed_at": now,
        "approved_at": None,
        "instruction_reference": "",
        "instructed_at": None,
    }
    payout._change_reason = f"{DESTINATION_CHANGED}: approvals void, back for approval"
    if payout.status == S.AWAITING_APPROVAL:
        for name, value in fields.items():
            setattr(payout, name, value)
        payout.save()
    else:
        _set_status(payout, S.AWAITING_APPROVAL, **fields)
    emails.mail_payout_destination_changed(payout)


@audited
def export_payment_batches(*, acting_user: User) -> list[PaymentBatch]:
    """Put the instructed payouts that no batch holds yet into new numbered batches, one per
    currency; return them (none when there is nothing to pay)."""
    _require_permission(acting_user, PAY_PERMISSION, "export payment batches")
    # One export at a time: the program's row is the lock, so two finance users exporting at
    # once neither take the same payouts nor the same number. The payouts are locked as well,
    # so that a change of destination and the export do not interleave.
    if Program.objects.select_for_update().first() is None:
        return []
    in_a_batch = PaymentBatchLine.objects.filter(voided_at__isnull=True).values("payout")
    waiting = (
        Payout.objects.select_for_update(of=("self",))
        .filter(status=S.INSTRUCTED)
        .exclude(pk__in=in_a_batch)
        .order_by("currency", "instructed_at", "pk")
        .values_list("pk", "currency", "amount", "instruction_reference")
    )
    per_currency: dict[str, list[tuple]] = {}
    for payout_id, currency, amount, reference in waiting:
        per_currency.setdefault(currency, []).append((payout_id, amount, reference))
    number = PaymentBatch.objects.aggregate(last=Max("number"))["last"] or 0
    now = timezone.now()
    batches = []
    for currency, payouts in per_currency.items():
        number += 1
        batch = PaymentBatch.objects.create(
            number=number,
            currency=currency,
            total=sum(amount for _, amount, _ in payouts),
            count=len(payouts),
            created_by=acting_user,
            created_at=now,
        )
        PaymentBatchLine.objects.bulk_create(
            (
                PaymentBatchLine(batch=batch, payout_id=payout_id, reference=reference)
                for payout_id, _, reference in payouts
            ),
            batch_size=BATCH_LINES_PER_INSERT,
        )
        batches.append(batch)
    return batches


@audited
def record_batch_download(batch: PaymentBatch, *, acting_user: User) -> PaymentBatchDownload:
    """Record that ``acting_user`` downloads the batch's file; every download after the first
    is a re-download."""
    _require_permission(acting_user, PAY_PERMISSION, "download payment batches")
    batch = PaymentBatch.objects.select_for_update().get(pk=batch.pk)
    return PaymentBatchDownload.objects.create(
        batch=batch,
        downloaded_by=acting_user,
        downloaded_at=timezone.now(),
        redownload=batch.downloads.exists(),
    )


def _pay(payout: Payout, payment_reference: str) -> bool:
    """Mark a locked payout paid; return False if it is paid with this reference already."""
    if payout.status == S.PAID and payout.payment_reference == payment_reference:
        return False
    if payout.status == S.PAID:
        raise ValidationError(
            f"Payout {payout.pk} is paid already, under the payment reference "
            f"{payout.payment_reference}.",
            code="paid_already",
        )
    _check_move(payout, S.PAID)
    if Payout.objects.filter(payment_reference=payment_reference).exclude(pk=payout.pk).exists():
        raise ValidationError(
            f"The payment reference {payment_reference} is recorded for another payout.",
            code="reference_used",
        )
    _set_status(payout, S.PAID, payment_reference=payment_reference, paid_at=timezone.now())
    emails.mail_payout_paid(payout)
    return True


@audited
def mark_payout_paid(payout: Payout, *, acting_user: User, payment_reference: str) -> Payout:
    """Record that the payment went out, under the bank's reference; recording the same payment
    again changes nothing."""
    _require_permission(acting_user, PAY_PERMISSION, "record payments")
    payment_reference = _require_text(
        payment_reference, "A payment reference", max_length=PAYMENT_REFERENCE_MAX_LENGTH
    )
    payout = _locked(payout)
    _pay(payout, payment_reference)
    return payout


class Outcome(StrEnum):
    PAID = "paid"
    ALREADY_PAID = "already paid"
    UNKNOWN = "unknown reference"
    MISMATCH = "mismatch"
    REFUSED = "refused"
    VOID = "void line"
    BAD_ROW = "bad row"


@dataclass(frozen=True)
class SettlementRow:
    line: int
    reference: str
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True)
class SettlementResult:
    rows: list[SettlementRow]

    @property
    def paid(self) -> list[SettlementRow]:
        return [row for row in self.rows if row.outcome == Outcome.PAID]

    @property
    def problems(self) -> list[SettlementRow]:
        """Every row not paid now, each with the reason: reported, never silently dropped."""
        return [row for row in self.rows if row.outcome != Outcome.PAID]


def _settle(line: SettlementLine) -> SettlementRow:
    def outcome(kind, detail=""):
        return SettlementRow(line.line, line.reference, kind, detail)

    if line.problem:
        return outcome(Outcome.BAD_ROW, line.problem)
    if not PaymentBatch.objects.filter(number=line.batch).exists():
        return outcome(Outcome.UNKNOWN, f"No payment batch has the number {line.batch}.")
    batch_line = PaymentBatchLine.objects.filter(
        batch__number=line.batch, reference=line.reference
    ).first()
    if batch_line is None:
        return outcome(Outcome.UNKNOWN, f"Batch {line.batch} has no line with this reference.")
    payout = (
        Payout.objects.select_for_update(of=("self",))
        .select_related("award__report", "reporter")
        .get(pk=batch_line.payout_id)
    )
    # Read again under the payout's lock, which a change of destination holds while voiding.
    batch_line.refresh_from_db(fields=["voided_at", "void_reason"])
    if batch_line.voided_at is not None:
        return outcome(
            Outcome.VOID,
            f"Line {line.reference} of batch {line.batch} is void: {batch_line.void_reason} "
            "Not paid.",
        )
    if (payout.amount, payout.currency) != (line.amount, line.currency):
        return outcome(
            Outcome.MISMATCH,
            f"The instruction is for {payout.amount} {payout.currency}; "
            f"the row says {line.amount} {line.currency}. Not paid.",
        )
    try:
        with transaction.atomic():
            paid_now = _pay(payout, line.payment_reference)
    except IllegalPayoutMove as error:
        return outcome(Outcome.REFUSED, str(error))
    except ValidationError as error:
        return outcome(Outcome.REFUSED, " ".join(error.messages))
    except IntegrityError:
        return outcome(Outcome.REFUSED, "The payment reference is recorded for another payout.")
    if not paid_now:
        return outcome(Outcome.ALREADY_PAID, "Paid with this payment reference already.")
    return outcome(Outcome.PAID, line.payment_reference)


@audited
def import_settlement(csv_file, *, acting_user: User) -> SettlementResult:
    """Mark paid every payout a bank settlement file confirms, each row matched to its line in
    a payment batch by batch number and reference, and report every other row."""
    _require_permission(acting_user, PAY_PERMISSION, "record payments")
    return SettlementResult([_settle(line) for line in read_settlement(csv_file.read())])
