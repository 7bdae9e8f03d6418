"""Saved replies in the admin: written by program admins, read by the staff who use them."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from audit.admin import ReadableHistoryMixin
from reports.models import SavedReply
from reports.saved_replies import save_saved_reply


@admin.register(SavedReply)
class SavedReplyAdmin(ReadableHistoryMixin, SimpleHistoryAdmin):
    list_display = ("name", "is_active", "updated_at", "updated_by")
    list_filter = ("is_active",)
    list_select_related = ("updated_by",)
    search_fields = ("name",)
    fields = ("name", "body", "is_active", "created_by", "created_at", "updated_by", "updated_at")
    readonly_fields = ("created_by", "created_at", "updated_by", "updated_at")

    def save_model(self, request, obj, form, change):
        save_saved_reply(obj, acting_user=request.user)
