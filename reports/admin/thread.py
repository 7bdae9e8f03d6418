"""Messages and attachments on their own admin lists; the report page draws its thread itself.

It reads them from reports.workspace.
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from audit.admin import ReadableHistoryMixin
from encryption.admin import EncryptedObjectLogMixin
from reports import services
from reports.attachments import download_response
from reports.models import Attachment, Message


def attachment_download_link(attachment):
    if attachment.pk is None:
        return "—"
    url = reverse("admin:reports_attachment_download", args=[attachment.pk])
    return format_html('<a href="{}">Download</a>', url)


@admin.register(Message)
class MessageAdmin(ReadableHistoryMixin, SimpleHistoryAdmin):
    """The thread, read-only but for a superuser's audited correction or removal."""

    list_display = ("report", "visibility", "author", "created_at")
    list_filter = ("visibility",)
    list_select_related = ("report", "author")
    search_fields = ("report__public_id",)
    fields = ("report", "visibility", "author", "body", "created_at")
    readonly_fields = ("report", "author", "created_at")

    def has_add_permission(self, request):
        # Messages are written on their report's page, through the workflow services.
        return False

    def has_change_permission(self, request, obj=None):
        # Not a permission a role could be given by mistake: the thread is the record.
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        services.correct_message(
            obj, body=obj.body, visibility=obj.visibility, acting_user=request.user
        )

    def delete_model(self, request, obj):
        services.delete_message(obj, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        for message in queryset:
            services.delete_message(message, acting_user=request.user)


@admin.register(Attachment)
class AttachmentAdmin(EncryptedObjectLogMixin, ReadableHistoryMixin, SimpleHistoryAdmin):
    list_display = ("original_name", "report", "content_type", "size", "uploaded_by", "created_at")
    list_select_related = ("report", "uploaded_by")
    search_fields = ("report__public_id",)
    sortable_by = ("report", "content_type", "size", "uploaded_by", "created_at")
    fields = (
        "report",
        "message",
        "download",
        "original_name",
        "content_type",
        "size",
        "uploaded_by",
        "created_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        return [
            path(
                "<path:object_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name="reports_attachment_download",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="File")
    def download(self, obj):
        return attachment_download_link(obj)

    def download_view(self, request, object_id):
        """Send the file, decrypted, to staff who may view attachments; media is never served."""
        attachment = self.get_object(request, unquote(object_id))
        if attachment is None:
            raise Http404("No such attachment.")
        if not self.has_view_permission(request, attachment):
            raise PermissionDenied
        return download_response(attachment)
