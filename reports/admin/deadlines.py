"""Deadlines in the admin: their own list (the report page shows them from reports.workspace)."""

from django.contrib import admin
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from audit.admin import ReadableHistoryMixin
from reports.models import Deadline
from reports.selectors import deadlines_missed_in_month


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
