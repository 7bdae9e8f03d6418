from celery import shared_task

from intake import polling, services


@shared_task(name="intake.poll_intake_mailbox")
def poll_intake_mailbox_task() -> int:
    """Poll the intake mailbox, then process whatever was recorded and never processed."""
    result = polling.poll_intake_mailbox()
    services.process_pending_messages()
    return len(result.messages) if result else 0
