"""Deadlines in the admin: on their report's page and their own list."""

from django.contrib import admin
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from simple_history.admin import SimpleHistoryAdmin

from audit.admin import ReadableHistoryMixin
from reports.models import Deadline


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


@admin.register(Deadline)
class DeadlineAdmin(ReadableHistoryMixin, SimpleHistoryAdmin):
    list_display = ("report", "kind", "due_at", "met_at", "paused_at", "last_reminder_stage")
    list_filter = ("kind", "last_reminder_stage")
    list_select_related = ("report",)
    search_fields = ("report__public_id",)
    readonly_fields = ("report", "kind", "due_at", "met_at", "paused_at", "last_reminder_stage")
    date_hierarchy = "due_at"

    def has_add_permission(self, request):
        return False
