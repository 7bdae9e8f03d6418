"""The staff inbox: which reports need someone now, in the order their promises fall due.

Each view is a filter on the report table that reads the inbox columns the deadlines and the
workflow keep on each report (``next_deadline_at``, ``awaiting_staff_since``), so a view is an
indexed read and all the counts are one query.
"""

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.db.models import Count, F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from reports.models import Report
from reports.transitions import OPEN

S = Report.Status
DUE_SOON = timedelta(hours=24)
# Open and not waiting on the researcher: the desk owes the next step.
NEEDS_STAFF = OPEN - {S.NEEDS_INFO}


class View(StrEnum):
    NEEDS_STAFF = "needs_staff"
    MINE = "mine"
    UNASSIGNED = "unassigned"
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    REPLIED = "replied"
    WAITING = "waiting"
    ALL = "all"


@dataclass(frozen=True)
class ViewRule:
    label: str
    help: str


VIEWS: dict[View, ViewRule] = {
    View.NEEDS_STAFF: ViewRule("Needs staff", "Open reports where the next step is ours."),
    View.MINE: ViewRule("Mine", "Open reports assigned to you."),
    View.UNASSIGNED: ViewRule("Unassigned", "Reports that need staff and have no assignee."),
    View.OVERDUE: ViewRule("Overdue", "A promise to the researcher is past due."),
    View.DUE_SOON: ViewRule("Due within a day", "The next promise falls due within 24 hours."),
    View.REPLIED: ViewRule(
        "Researcher replied", "The researcher wrote and staff have not written back."
    ),
    View.WAITING: ViewRule("Waiting on the researcher", "We asked a question; clocks are paused."),
    View.ALL: ViewRule("All reports", "Every report, open or closed."),
}
DEFAULT_VIEW = View.NEEDS_STAFF


def view_condition(view: View, user, now) -> Q:
    """Return the filter that selects the reports of ``view`` for ``user`` at ``now``."""
    open_ = Q(status__in=OPEN)
    return {
        View.NEEDS_STAFF: Q(status__in=NEEDS_STAFF),
        View.MINE: open_ & Q(assignee_id=user.pk),
        View.UNASSIGNED: Q(status__in=NEEDS_STAFF, assignee__isnull=True),
        View.OVERDUE: open_ & Q(next_deadline_at__lt=now),
        View.DUE_SOON: open_ & Q(next_deadline_at__gte=now, next_deadline_at__lt=now + DUE_SOON),
        View.REPLIED: open_ & Q(awaiting_staff_since__isnull=False),
        View.WAITING: Q(status=S.NEEDS_INFO),
        View.ALL: Q(),
    }[view]


def inbox(queryset: QuerySet[Report], view: View, user, now=None) -> QuerySet[Report]:
    """Narrow ``queryset`` to ``view``."""
    return queryset.filter(view_condition(view, user, now or timezone.now()))


# The next promise first; reports with none running (paused, closed) after, newest first.
INBOX_ORDER = (F("next_deadline_at").asc(nulls_last=True), F("received_at").desc(), F("pk").desc())


def view_counts(user, now=None) -> dict[View, int]:
    """Count every view's reports for ``user`` in one query."""
    now = now or timezone.now()
    totals = Report.objects.aggregate(
        **{
            view.value: Count("pk", filter=view_condition(view, user, now))
            if view != View.ALL
            else Count("pk")
            for view in View
        }
    )
    return {view: totals[view.value] for view in View}


def view_url(view: View) -> str:
    """Return the admin report list showing ``view``."""
    return f"{reverse('admin:reports_report_changelist')}?view={view.value}"
