from celery import shared_task

from bounty import services


@shared_task(name="bounty.create_payment_instruction", acks_late=True)
def create_payment_instruction_task(payout_id: int) -> bool:
    """Create an approved payout's payment instruction; a retry or a redelivery finds it done."""
    return services.create_payment_instruction(payout_id)


@shared_task(name="bounty.instruct_approved_payouts", acks_late=True)
def instruct_approved_payouts_task() -> int:
    """Create the instructions whose task never reached the broker (run by beat)."""
    return services.instruct_approved_payouts()


@shared_task(name="bounty.escalate_stale_approvals", acks_late=True)
def escalate_stale_approvals_task() -> int:
    """Escalate approvals pending longer than the program allows (run hourly by beat)."""
    return services.escalate_stale_approvals()
