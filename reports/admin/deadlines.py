"""Deadlines in the admin: on their report's page and their own list."""

from django.contrib import admin
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from simple_history.admin import SimpleHistoryAdmin

from audit.admin import ReadableHistoryMixin
from reports.models import Deadline
from reports.selectors import deadlines_missed_in_month


class DeadlineInline(admin.TabularInline):
    model = Deadline
    extra = 0
    fields = (
        "kind",
        "due_at",
        "time_left",
        "met_at",
        "cancelled_at",
        "paused_at",
        "last_reminder_stage",
    )
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Time left")
    def time_left(self, obj):
        if obj.met_at:
            return "met"
        if obj.cancelled_at:
            return "not owed: the report was closed"
        if obj.paused_at:
            return "paused: waiting for the researcher"
        now = timezone.now()
        if obj.due_at >= now:
            return f"{timeuntil(obj.due_at, now)} left"
        return f"overdue by {timesince(obj.due_at, now)}"


class MissedFilter(admin.SimpleListFilter):
    """Promises broken, by the calendar month they fell due in, in the program's time zone."""

    title = "missed"
    parameter_name = "missed"
    MONTHS_BACK = {"this_month": 0, "last_month": 1}

    def lookups(self, request, model_admin):
        return [("this_month", "Due this month"), ("last_month", "Due last month")]

    def queryset(self, request, queryset):
        months_back = self.MONTHS_BACK.get(self.value())
        if months_back is None:
            return queryset
        # Admin pages run in the program's time zone (bounty.middleware): its months count.
        return deadlines_missed_in_month(
            timezone.get_current_timezone(), months_back=months_back, among=queryset
        )


@admin.register(Deadline)
class DeadlineAdmin(ReadableHistoryMixin, SimpleHistoryAdmin):
    list_display = ("report", "kind", "due_at", "met_at", "paused_at", "last_reminder_stage")
    list_filter = (MissedFilter, "kind", "last_reminder_stage")
    list_select_related = ("report",)
    search_fields = ("report__public_id",)
    readonly_fields = ("report", "kind", "due_at", "met_at", "paused_at", "last_reminder_stage")
    date_hierarchy = "due_at"

    def has_add_permission(self, request):
        return False
