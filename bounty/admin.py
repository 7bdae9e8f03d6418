from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from bounty.models import Award, Category, Payout, PayoutApproval, Program, Severity


@admin.register(Program)
class ProgramAdmin(SimpleHistoryAdmin):
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
    )

    def has_add_permission(self, request):
        # One program per deployment.
        return not Program.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Severity)
class SeverityAdmin(SimpleHistoryAdmin):
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
class CategoryAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "typical_severity", "is_active")
    list_filter = ("is_active", "typical_severity")
    list_select_related = ("typical_severity",)
    search_fields = ("code", "name")
    autocomplete_fields = ("typical_severity",)


class PayoutApprovalInline(admin.TabularInline):
    model = PayoutApproval
    extra = 0
    can_delete = False
    fields = ("approver", "decision", "reason", "decided_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Award)
class AwardAdmin(SimpleHistoryAdmin):
    list_display = (
        "report",
        "kind",
        "amount",
        "currency",
        "outside_range",
        "proposed_by",
        "proposed_at",
    )
    list_filter = ("kind", "outside_range", "currency")
    list_select_related = ("report", "proposed_by")
    search_fields = ("report__public_id", "report__title")
    autocomplete_fields = ("report",)
    readonly_fields = ("outside_range", "proposed_by", "proposed_at")
    date_hierarchy = "proposed_at"


@admin.register(Payout)
class PayoutAdmin(SimpleHistoryAdmin):
    list_display = (
        "id",
        "report_public_id",
        "reporter",
        "amount",
        "currency",
        "status",
        "approvals_required",
        "created_at",
        "paid_at",
    )
    list_filter = ("status", "currency")
    list_select_related = ("award__report", "reporter")
    search_fields = ("award__report__public_id", "reporter__email", "payment_reference")
    date_hierarchy = "created_at"
    inlines = [PayoutApprovalInline]
    readonly_fields = (
        "award",
        "reporter",
        "amount",
        "currency",
        "status",
        "approvals_required",
        "payment_method",
        "instruction_reference",
        "instructed_at",
        "payment_reference",
        "paid_at",
        "rejection_reason",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request):
        # Payouts come from proposed awards, never from a blank form.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Report", ordering="award__report__public_id")
    def report_public_id(self, obj):
        return obj.award.report.public_id


@admin.register(PayoutApproval)
class PayoutApprovalAdmin(SimpleHistoryAdmin):
    list_display = ("payout", "approver", "decision", "decided_at")
    list_filter = ("decision",)
    list_select_related = ("payout__reporter", "approver")
    search_fields = ("approver__email", "payout__award__report__public_id")
    readonly_fields = ("payout", "approver", "decision", "reason", "decided_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
