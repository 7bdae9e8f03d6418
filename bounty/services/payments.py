"""Paying an approved payout: its payment instruction, recording the payment, and importing a
bank's settlement file.

The unique constraints of one payout per instruction and per payment reference are the last line
of defence; an instruction's reference is derived from the payout, so every attempt at it carries
the same idempotency key.
"""

import logging
from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.history import audited
from accounts.models import User
from bounty import emails
from bounty.models import PaymentBatch, PaymentBatchLine, Payout
from bounty.payment_csv import SettlementLine, read_settlement
from bounty.services.status import (
    PAY_PERMISSION,
    IllegalPayoutMove,
    S,
    _as_system,
    _check_move,
    _locked,
    _require_permission,
    _require_text,
    _set_status,
)

logger = logging.getLogger(__name__)

INSTRUCTION_SWEEP_BATCH_SIZE = 100
PAYMENT_REFERENCE_MAX_LENGTH = Payout._meta.get_field("payment_reference").max_length


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
