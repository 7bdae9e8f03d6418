import logging

from celery import shared_task

from intake import imap, polling, services

logger = logging.getLogger(__name__)


@shared_task(name="intake.poll_intake_mailbox")
def poll_intake_mailbox_task() -> int:
    """Poll the intake mailbox, then process whatever was recorded and never processed."""
    try:
        result = polling.poll_intake_mailbox()
    except imap.InvalidMailboxURL as error:
        # The system check says so too; mail already recorded is still processed below.
        logger.error("INTAKE_IMAP_URL is malformed: %s", error)
        result = None
    services.process_pending_messages()
    return len(result.messages) if result else 0
