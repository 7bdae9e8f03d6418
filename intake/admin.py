"""Intake mail in the admin: read-only, with the raw source downloadable by those who may."""

import itertools

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from encryption.admin import BlindIndexSearchMixin, EncryptedObjectLogMixin
from intake import services
from intake.models import IntakeMessage, RawSourceDownload


class RawSourceDownloadInline(admin.TabularInline):
    model = RawSourceDownload
    fields = ("downloaded_by", "downloaded_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "who downloaded the raw source"

    def has_view_permission(self, request, obj=None):
        # Whoever sees the message sees who read its source; the rows are written by the
        # download alone.
        return request.user.has_perm("intake.view_intakemessage")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IntakeMessage)
class IntakeMessageAdmin(BlindIndexSearchMixin, EncryptedObjectLogMixin, SimpleHistoryAdmin):
    """Every mail the intake took and what became of it; the services alone change them."""

    list_display = ("received_at", "state", "sender", "source", "report_link", "size")
    list_filter = ("state", "source", "encrypted", "signature")
    list_select_related = ("report",)
    # Encrypted columns are compared in the database only through the sender's blind index.
    search_fields = ("report__public_id",)
    blind_index_search_fields = ("sender_index",)
    sortable_by = ("received_at", "state", "source", "size")
    show_full_result_count = False
    fields = (
        "state",
        "error",
        "report_link",
        "sender",
        "subject",
        "encrypted",
        "signature",
        "signature_key",
        "received_at",
        "recorded_at",
        "processed_at",
        "settled_at",
        "source",
        "mailbox",
        "uid_validity",
        "uid",
        "message_key",
        "size",
        "attempts",
        "raw_source",
    )
    readonly_fields = fields
    inlines = [RawSourceDownloadInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Report", ordering="report")
    def report_link(self, obj):
        if obj.report is None:
            return "—"
        url = reverse("admin:reports_report_change", args=[obj.report_id])
        return format_html('<a href="{}">{}</a>', url, obj.report.public_id)

    @admin.display(description="Raw source")
    def raw_source(self, obj):
        if not obj.raw:
            return "Not fetched: it stays on the mail server."
        url = reverse("admin:intake_intakemessage_raw_source", args=[obj.pk])
        return format_html(
            '<a href="{}">Download the raw mail</a> (decrypted; the download is recorded)', url
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/raw/",
                self.admin_site.admin_view(self.raw_source_view),
                name="intake_intakemessage_raw_source",
            ),
            *super().get_urls(),
        ]

    def raw_source_view(self, request, object_id):
        """Send the mail as it arrived, decrypted, to staff allowed to read it, and record it."""
        # Refused before the lookup, so that who may not read mail learns nothing of which exist.
        if not (
            self.has_view_permission(request)
            and request.user.has_perm(services.RAW_SOURCE_PERMISSION)
        ):
            raise PermissionDenied
        message = self.get_object(request, unquote(object_id))
        if message is None or not message.raw:
            raise Http404("No such intake message, or its raw source was not fetched.")
        services.record_raw_source_download(message, acting_user=request.user)
        chunks = message.raw.decrypted_chunks()
        # The first chunk is authenticated before the response exists: a tampered file is an
        # error page, not a download that breaks off.
        first = next(chunks)
        response = StreamingHttpResponse(
            itertools.chain([first], chunks), content_type="application/octet-stream"
        )
        response["Content-Disposition"] = f'attachment; filename="intake-{message.pk}.eml"'
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response
