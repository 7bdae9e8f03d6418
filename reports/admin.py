from django.contrib import admin
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from simple_history.admin import SimpleHistoryAdmin

from bounty.models import Award
from reports.models import Attachment, Deadline, Message, Report, Reporter


def may_see_payment_details(request) -> bool:
    return request.user.has_perm("reports.view_payment_details")


@admin.register(Reporter)
class ReporterAdmin(SimpleHistoryAdmin):
    list_display = ("email", "display_name", "has_account", "report_count", "created_at")
    list_filter = ("payment_method",)
    search_fields = ("email", "display_name")
    autocomplete_fields = ("user",)
    readonly_fields = ("created_at",)

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(num_reports=Count("reports"))

    def get_fields(self, request, obj=None):
        fields = ["email", "display_name", "user", "created_at"]
        if may_see_payment_details(request):
            fields += ["payment_method", "payment_details"]
        return fields

    def get_list_filter(self, request):
        return self.list_filter if may_see_payment_details(request) else ()

    @admin.display(boolean=True, description="Account")
    def has_account(self, obj):
        return obj.user_id is not None

    @admin.display(description="Reports", ordering="num_reports")
    def report_count(self, obj):
        return obj.num_reports


class MessageInline(admin.StackedInline):
    model = Message
    extra = 0
    fields = ("visibility", "author", "created_at", "body")
    readonly_fields = ("author", "created_at")
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")

    def has_change_permission(self, request, obj=None):
        # The thread is a record: messages are added, never rewritten.
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ("original_name", "content_type", "size", "uploaded_by", "created_at")
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by")

    def has_add_permission(self, request, obj=None):
        return False


class DeadlineInline(admin.TabularInline):
    model = Deadline
    extra = 0
    fields = ("kind", "due_at", "time_left", "met_at", "paused_at", "last_reminder_stage")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Time left")
    def time_left(self, obj):
        if obj.met_at:
            return "met"
        now = timezone.now()
        if obj.due_at >= now:
            return f"{timeuntil(obj.due_at, now)} left"
        return f"overdue by {timesince(obj.due_at, now)}"


class AwardInline(admin.TabularInline):
    model = Award
    extra = 0
    verbose_name_plural = "awards and payouts"
    fields = ("kind", "amount", "currency", "proposed_by", "proposed_at", "payout_status")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("proposed_by", "payout")

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Payout")
    def payout_status(self, obj):
        payout = getattr(obj, "payout", None)
        return payout.get_status_display() if payout else "—"


@admin.register(Report)
class ReportAdmin(SimpleHistoryAdmin):
    list_display = (
        "public_id",
        "title",
        "reporter",
        "status",
        "severity",
        "category",
        "assignee",
        "received_at",
        "last_activity_at",
    )
    list_filter = ("status", "resolution", "severity", "category", "assignee")
    list_select_related = ("reporter", "severity", "category", "assignee")
    search_fields = ("public_id", "title", "reporter__email", "affected_asset")
    date_hierarchy = "received_at"
    autocomplete_fields = ("reporter", "category", "severity", "assignee")
    readonly_fields = (
        "public_id",
        "status",
        "resolution",
        "duplicate_of",
        "cvss_score",
        "received_at",
        "acknowledged_at",
        "triaged_at",
        "resolved_at",
        "closed_at",
        "last_activity_at",
    )
    fieldsets = (
        (
            None,
            {"fields": ("public_id", "title", "reporter", "status", "resolution", "duplicate_of")},
        ),
        ("Triage", {"fields": ("category", "severity", "cvss_vector", "cvss_score", "assignee")}),
        ("Affected", {"fields": ("affected_asset", "affected_version")}),
        ("Report", {"fields": ("description", "steps_to_reproduce", "impact")}),
        (
            "Timeline",
            {
                "fields": (
                    "received_at",
                    "acknowledged_at",
                    "triaged_at",
                    "resolved_at",
                    "closed_at",
                    "last_activity_at",
                )
            },
        ),
    )
    inlines = [MessageInline, AttachmentInline, DeadlineInline, AwardInline]


@admin.register(Message)
class MessageAdmin(SimpleHistoryAdmin):
    list_display = ("report", "visibility", "author", "created_at")
    list_filter = ("visibility",)
    list_select_related = ("report", "author")
    search_fields = ("report__public_id",)
    autocomplete_fields = ("report",)
    readonly_fields = ("author", "created_at")


@admin.register(Attachment)
class AttachmentAdmin(SimpleHistoryAdmin):
    list_display = ("original_name", "report", "content_type", "size", "uploaded_by", "created_at")
    list_select_related = ("report", "uploaded_by")
    search_fields = ("original_name", "report__public_id")
    readonly_fields = (
        "report",
        "message",
        "file",
        "original_name",
        "content_type",
        "size",
        "uploaded_by",
        "created_at",
    )

    def has_add_permission(self, request):
        return False


@admin.register(Deadline)
class DeadlineAdmin(SimpleHistoryAdmin):
    list_display = ("report", "kind", "due_at", "met_at", "paused_at", "last_reminder_stage")
    list_filter = ("kind", "last_reminder_stage")
    list_select_related = ("report",)
    search_fields = ("report__public_id",)
    readonly_fields = ("report", "kind", "due_at", "met_at", "paused_at", "last_reminder_stage")
    date_hierarchy = "due_at"

    def has_add_permission(self, request):
        return False
