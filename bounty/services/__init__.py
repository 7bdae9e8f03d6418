"""Every change to an award or a payout: one function per use case, each one transaction.

Admin actions, tasks and the researcher's change of payment details call these functions;
nothing else writes a payout's status. ``status`` holds the moves a payout's status may
make and the checks the use cases share; ``awards`` proposing an award and finance's decisions on
its payout; ``payments`` the payment instruction, the payment and the settlement; ``batches`` the
payment files; ``destinations`` what a change of the researcher's payment details does to payouts
not yet paid. Side effects (mail, the instruction task) leave only when the transaction commits.
"""

from bounty.services.awards import (
    AWARDABLE_REPORT_STATUSES,
    approvals_required,
    approve_payout,
    check_award_proposable,
    escalate_stale_approvals,
    may_propose_award,
    propose_award,
    reject_payout,
)
from bounty.services.batches import (
    BATCH_LINES_PER_INSERT,
    export_payment_batches,
    record_batch_download,
)
from bounty.services.destinations import DESTINATION_CHANGED, renew_payout_destinations
from bounty.services.payments import (
    INSTRUCTION_SWEEP_BATCH_SIZE,
    Outcome,
    SettlementResult,
    SettlementRow,
    create_payment_instruction,
    import_settlement,
    instruct_approved_payouts,
    instruction_reference_for,
    mark_payout_paid,
)
from bounty.services.status import (
    APPROVE_PERMISSION,
    NEXT_STATUSES,
    NOT_YET_PAID,
    PAY_PERMISSION,
    PROPOSE_PERMISSION,
    IllegalPayoutMove,
)

__all__ = [
    "APPROVE_PERMISSION",
    "AWARDABLE_REPORT_STATUSES",
    "BATCH_LINES_PER_INSERT",
    "DESTINATION_CHANGED",
    "INSTRUCTION_SWEEP_BATCH_SIZE",
    "NEXT_STATUSES",
    "NOT_YET_PAID",
    "PAY_PERMISSION",
    "PROPOSE_PERMISSION",
    "IllegalPayoutMove",
    "Outcome",
    "SettlementResult",
    "SettlementRow",
    "approvals_required",
    "approve_payout",
    "check_award_proposable",
    "create_payment_instruction",
    "escalate_stale_approvals",
    "export_payment_batches",
    "import_settlement",
    "instruct_approved_payouts",
    "instruction_reference_for",
    "mark_payout_paid",
    "may_propose_award",
    "propose_award",
    "record_batch_download",
    "reject_payout",
    "renew_payout_destinations",
]
