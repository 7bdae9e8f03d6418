"""The program, its severities (and their award ranges) and its categories: the program admin's."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from audit.admin import ReadableHistoryMixin
from bounty.models import Category, Program, Severity


@admin.register(Program)
class ProgramAdmin(ReadableHistoryMixin, SimpleHistoryAdmin):
    list_display = (
        "name",
        "bounties_enabled",
        "first_response_business_days",
        "country",
        "timezone",
    )
    fieldsets = (
        (None, {"fields": ("name", "contact_email", "policy")}),
        (
            "Bounties",
            {
                "fields": (
                    "bounties_enabled",
                    "currency",
                    "dual_approval_threshold",
                    "approval_escalation_business_days",
                )
            },
        ),
        (
            "Business days",
            {"fields": ("first_response_business_days", "country", "subdivision", "timezone")},
        ),
        ("Mail", {"fields": ("titles_in_mail",)}),
    )

    def has_add_permission(self, request):
        # One program per deployment.
        return not Program.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Severity)
class SeverityAdmin(ReadableHistoryMixin, SimpleHistoryAdmin):
    list_display = (
        "name",
        "rank",
        "award_min",
        "award_max",
        "currency",
        "triage_business_days",
        "award_decision_business_days",
        "resolution_business_days",
    )
    search_fields = ("name",)
    ordering = ("-rank",)


@admin.register(Category)
class CategoryAdmin(ReadableHistoryMixin, SimpleHistoryAdmin):
    list_display = ("code", "name", "typical_severity", "is_active")
    list_filter = ("is_active", "typical_severity")
    list_select_related = ("typical_severity",)
    search_fields = ("code", "name")
    autocomplete_fields = ("typical_severity",)
