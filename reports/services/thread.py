"""The rare correction of a report's thread: the thread is the record, so only a superuser.

Staff add messages (``workflow.add_staff_message``) and never rewrite them. A superuser may
correct a message posted wrongly (a secret pasted in, an internal note sent as public) or remove
it; either leaves the old text in the message's history, with who did it, and a warning in the log.
"""

import logging

from django.core.exceptions import PermissionDenied, ValidationError

from accounts.history import audited
from accounts.models import User
from reports.models import Message

logger = logging.getLogger(__name__)


def _check_superuser(acting_user: User) -> None:
    if not (acting_user.is_superuser and acting_user.is_active):
        raise PermissionDenied("Only a superuser corrects or deletes a message of the thread.")


@audited
def correct_message(message: Message, *, body: str, visibility: str, acting_user: User) -> Message:
    """Rewrite a message's text or who sees it."""
    _check_superuser(acting_user)
    if not body.strip():
        raise ValidationError({"body": "A message needs some text; delete it instead."})
    if visibility not in Message.Visibility.values:
        raise ValidationError({"visibility": "Choose public or internal."})
    message = Message.objects.select_for_update().get(pk=message.pk)
    message.body = body
    message.visibility = visibility
    message._change_reason = f"Corrected by superuser {acting_user.email}"
    message.save(update_fields=["body", "visibility"])
    logger.warning(
        "%s corrected message %s on report %s", acting_user.email, message.pk, message.report_id
    )
    return message


@audited
def delete_message(message: Message, *, acting_user: User) -> None:
    """Remove a message from its thread; its history keeps what it said."""
    _check_superuser(acting_user)
    message = Message.objects.select_for_update().get(pk=message.pk)
    message._change_reason = f"Deleted by superuser {acting_user.email}"
    logger.warning(
        "%s deleted message %s on report %s", acting_user.email, message.pk, message.report_id
    )
    message.delete()
