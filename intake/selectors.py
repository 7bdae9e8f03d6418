"""What the admin's first page reads of the intake: the mailbox's last poll and the day's mail."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, F, Q, QuerySet

from intake.models import IntakeMessage, Mailbox

RECENT = timedelta(days=1)
State = IntakeMessage.State


@dataclass(frozen=True)
class RecentMail:
    failed: int
    ignored: int


def polled_mailbox() -> Mailbox | None:
    """The mailbox polled most recently (a desk polls one), or None before the first poll."""
    return Mailbox.objects.order_by(F("last_poll_started_at").desc(nulls_last=True), "-pk").first()


def recent_messages(now) -> QuerySet[IntakeMessage]:
    """Mail recorded in the last day: what the first page counts and its links list."""
    return IntakeMessage.objects.filter(recorded_at__gt=now - RECENT)


def recent_mail(now) -> RecentMail:
    """Count the last day's failed and ignored mail, in one query."""
    counts = recent_messages(now).aggregate(
        failed=Count("pk", filter=Q(state=State.FAILED)),
        ignored=Count("pk", filter=Q(state=State.IGNORED)),
    )
    return RecentMail(**counts)
