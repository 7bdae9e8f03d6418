from django.db.models import QuerySet

from outbox.models import OutgoingMail


def failed_mail() -> QuerySet[OutgoingMail]:
    """Return the mail the outbox gave up on, which only a person can send again."""
    return OutgoingMail.objects.filter(status=OutgoingMail.Status.FAILED)
