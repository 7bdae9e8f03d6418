from django.db.models import QuerySet

from outbox.models import OutgoingMail


def failed_mail() -> QuerySet[OutgoingMail]:
    """Return the mail the outbox gave up on, which only a person can send again."""
    return OutgoingMail.objects.filter(status=OutgoingMail.Status.FAILED)


def last_bounce_to(address: str, *, report_public_id: str) -> OutgoingMail | None:
    """Return the latest mail about a report that bounced from ``address``, if any.

    The recipient is encrypted, so it is compared here, among the few bounced mail of one report.
    """
    bounced = OutgoingMail.objects.filter(
        report_public_id=report_public_id, status=OutgoingMail.Status.BOUNCED
    ).order_by("-bounced_at", "-pk")[:20]
    wanted = address.strip().lower()
    return next((mail for mail in bounced if mail.to.strip().lower() == wanted), None)
