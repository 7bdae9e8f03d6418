from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from audit.admin import ReadableHistoryMixin
from encryption.admin import EncryptedObjectLogMixin
from outbox.models import OutgoingMail
from outbox.services import retry_failed_mail


@admin.register(OutgoingMail)
class OutgoingMailAdmin(EncryptedObjectLogMixin, ReadableHistoryMixin, SimpleHistoryAdmin):
    # A mail "Sending" since long before its claim lease is one whose worker died; the sweep
    # sends it again, with the Message-ID shown on its page.
    list_display = (
        "subject",
        "to",
        "template",
        "status",
        "attempts",
        "created_at",
        "claimed_at",
        "sent_at",
        "bounced_at",
    )
    list_filter = ("status", "template")
    # The recipient is encrypted (a researcher's contact details), so it cannot be searched.
    search_fields = ("subject", "report_public_id")
    sortable_by = (
        "subject",
        "template",
        "status",
        "attempts",
        "created_at",
        "claimed_at",
        "sent_at",
        "bounced_at",
    )
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in OutgoingMail._meta.fields]
    actions = ["retry_now"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Retry the selected failed mail now", permissions=["change"])
    def retry_now(self, request, queryset):
        failed = queryset.filter(status=OutgoingMail.Status.FAILED)
        for mail in failed:
            retry_failed_mail(mail)
        self.message_user(request, f"{len(failed)} mail queued again.", messages.SUCCESS)
