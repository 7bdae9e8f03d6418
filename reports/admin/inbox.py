"""The report list as the staff inbox: its views with counts, its columns and its order.

What each view selects lives in ``reports.inbox``; this module only shows it in the changelist.
Times read in the active time zone, the program's (``bounty.middleware``), with its name.
"""

from django.contrib import admin
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

from reports import inbox
from reports.models import Deadline, Report

View = inbox.View


class InboxViewFilter(admin.SimpleListFilter):
    """The inbox's views, each with its count; with no choice made, what needs staff."""

    title = "inbox"
    parameter_name = "view"
    template = "admin/reports/report/inbox_filter.html"

    def __init__(self, request, params, model, model_admin):
        # Whose inbox the counts are for: Django hands ``choices`` only the changelist.
        self.request = request
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return [(view.value, rule.label) for view, rule in inbox.VIEWS.items()]

    @classmethod
    def view_named(cls, request) -> View:
        try:
            return View(request.GET.get(cls.parameter_name))
        except ValueError:
            # A search with no view chosen looks through every report: an id or an address
            # should be found whatever state its report is in.
            return View.ALL if request.GET.get("q") else inbox.DEFAULT_VIEW

    def queryset(self, request, queryset):
        return inbox.inbox(queryset, self.view_named(request), request.user)

    def choices(self, changelist):
        chosen = self.view_named(self.request)
        counts = inbox.view_counts(self.request.user)
        for view, rule in inbox.VIEWS.items():
            yield {
                "selected": view == chosen,
                "query_string": changelist.get_query_string(
                    {self.parameter_name: view.value}, ["p", "o"]
                ),
                "display": rule.label,
                "count": counts[view],
                "help": rule.help,
                "urgent": view in (View.OVERDUE, View.REPLIED) and counts[view] > 0,
            }


def deadline_cell(report: Report, now=None):
    """Say when the report's next promise falls due and how long is left, marked by urgency."""
    if report.next_deadline_at is None:
        if report.status == Report.Status.NEEDS_INFO:
            return format_html('<span class="deadline paused">{}</span>', "Paused: waiting")
        return "—"
    now = now or timezone.now()
    due = report.next_deadline_at
    if due < now:
        urgency, left = "overdue", f"overdue by {timesince(due, now, depth=1)}"
    elif due - now < inbox.DUE_SOON:
        urgency, left = "due-soon", f"{timeuntil(due, now, depth=1)} left"
    else:
        urgency, left = "on-time", f"{timeuntil(due, now, depth=1)} left"
    kind = Deadline.Kind(report.next_deadline_kind).label if report.next_deadline_kind else ""
    local = timezone.localtime(due)
    return format_html(
        '<span class="deadline {}">{}</span><br><span class="deadline-when">{} · '
        '<time datetime="{}">{}</time></span>',
        urgency,
        left,
        kind,
        due.isoformat(),
        date_format(local, "D j M H:i T"),
    )


class InboxListMixin:
    """The columns and order of the report list."""

    list_display = (
        "public_id_cell",
        "title_cell",
        "status_cell",
        "severity",
        "next_deadline",
        "assignee_cell",
        "last_activity",
    )
    list_display_links = ("public_id_cell", "title_cell")
    list_select_related = ("reporter", "severity", "assignee")
    list_per_page = 50
    # Counting every filter choice on every page load costs a query per choice.
    show_facets = admin.ShowFacets.NEVER

    def inbox_context(self, request) -> dict:
        """The list's heading names the view; the model menu gives the table its width."""
        view = InboxViewFilter.view_named(request)
        return {"title": inbox.VIEWS[view].label, "is_nav_sidebar_enabled": False}

    def get_ordering(self, request):
        return list(inbox.INBOX_ORDER)

    @admin.display(description="Id", ordering="public_id")
    def public_id_cell(self, obj):
        return format_html('<span class="nowrap public-id">{}</span>', obj.public_id)

    @admin.display(description="Title and researcher", ordering="title")
    def title_cell(self, obj):
        # The researcher under the title: one column fewer keeps the table within 1280 px.
        replied = (
            format_html(
                ' <span class="badge replied" title="Since {}">{}</span>',
                date_format(timezone.localtime(obj.awaiting_staff_since), "D j M H:i T"),
                "researcher replied",
            )
            if obj.awaiting_staff_since
            else ""
        )
        return format_html(
            '{}{}<br><span class="researcher">{}</span>', obj.title, replied, obj.reporter
        )

    @admin.display(description="Status", ordering="status")
    def status_cell(self, obj):
        label = obj.get_status_display()
        if obj.status == Report.Status.CLOSED and obj.resolution:
            label = f"Closed: {obj.get_resolution_display().lower()}"
        return format_html('<span class="nowrap status status-{}">{}</span>', obj.status, label)

    @admin.display(description="Next deadline", ordering="next_deadline_at")
    def next_deadline(self, obj):
        return deadline_cell(obj)

    @admin.display(description="Assignee", ordering="assignee__email")
    def assignee_cell(self, obj):
        if obj.assignee is None:
            return format_html('<span class="unassigned">{}</span>', "nobody")
        # The part before the @ tells a team apart and keeps the column narrow.
        return format_html(
            '<span class="nowrap" title="{}">{}</span>',
            obj.assignee.email,
            obj.assignee.email.split("@")[0],
        )

    @admin.display(description="Last activity", ordering="last_activity_at")
    def last_activity(self, obj):
        return format_html(
            '<span class="nowrap" title="{}">{} ago</span>',
            date_format(timezone.localtime(obj.last_activity_at), "D j M Y, H:i T"),
            timesince(obj.last_activity_at, depth=1),
        )
