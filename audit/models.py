import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from encryption.fields import EncryptedTextField


class StatusChange(models.Model):
    """One decision on a record: a status move with who made it, when and why.

    Subclasses add the record and its statuses. Written in the transaction of the move itself,
    by its services only; these are not history rows, so audit retention never deletes them:
    the researcher's timeline and who decided outlive the history.
    """

    row_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Who decided, as it read at the time: survives the account being deleted.
    actor = models.CharField("who", max_length=254)
    at = models.DateTimeField("when", default=timezone.now)
    # Staff's words (a question, a closing note, a rejection): encrypted like the messages.
    reason = EncryptedTextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["at", "pk"]
        verbose_name = "status change"
