"""Intake mail in the admin: read-only, with the raw source downloadable by those who may."""

import itertools

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from audit.admin import ReadableHistoryMixin
from encryption.admin import BlindIndexSearchMixin, EncryptedObjectLogMixin
from intake import services, threads
from intake.models import HeldMail, IntakeMessage, RawSourceDownload


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
class IntakeMessageAdmin(
    ReadableHistoryMixin, BlindIndexSearchMixin, EncryptedObjectLogMixin, SimpleHistoryAdmin
):
    """Every mail the intake took and what became of it; the services alone change them."""

    list_display = ("received_at", "state", "sender", "source", "report_link", "size")
    list_filter = ("state", "source")
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


class HeldMailDecisionForm(forms.ModelForm):
    """Staff's decision on a held mail: no field of the mail itself is editable."""

    decide = forms.ChoiceField(
        choices=[
            (HeldMail.Decision.ATTACHED, "Attach it to the report as an internal note"),
            (HeldMail.Decision.DISCARDED, "Discard it"),
        ],
        widget=forms.RadioSelect,
        help_text="Never the researcher's reply: it is not from their address.",
    )
    reason_given = forms.CharField(
        label="Reason", widget=forms.Textarea(attrs={"rows": 3}), help_text="Kept with it."
    )

    class Meta:
        model = HeldMail
        fields = ()


@admin.register(HeldMail)
class HeldMailAdmin(ReadableHistoryMixin, EncryptedObjectLogMixin, SimpleHistoryAdmin):
    """Mail held out of a report's thread; staff attach it as an internal note or discard it."""

    form = HeldMailDecisionForm
    list_display = ("held_at", "report_link", "decision", "matched_by", "sender")
    list_filter = ("decision", "matched_by")
    list_select_related = ("report",)
    search_fields = ("report__public_id",)
    sortable_by = ("held_at", "decision")
    show_full_result_count = False
    readonly_fields = (
        "report_link",
        "matched_by",
        "sender",
        "subject",
        "body",
        "file_names",
        "held_at",
        "intake_message",
        "decided_by",
        "decided_at",
        "reason",
        "note",
    )

    def get_fields(self, request, obj=None):
        if obj is not None and self.has_change_permission(request, obj):
            return (*self.readonly_fields[:8], "decide", "reason_given")
        return ("decision_display", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and self.has_change_permission(request, obj):
            return self.readonly_fields[:8]
        return ("decision_display", *self.readonly_fields)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        if not request.user.has_perm(threads.REVIEW_PERMISSION):
            return False
        return obj is None or obj.decision == HeldMail.Decision.PENDING

    @admin.display(description="Decision")
    def decision_display(self, obj):
        return obj.get_decision_display()

    @admin.display(description="Report", ordering="report")
    def report_link(self, obj):
        url = reverse("admin:reports_report_change", args=[obj.report_id])
        return format_html('<a href="{}">{}</a>', url, obj.report.public_id)

    @admin.display(description="Intake message")
    def intake_message(self, obj):
        url = reverse("admin:intake_intakemessage_change", args=[obj.message_id])
        return format_html('<a href="{}">#{}</a> (its raw source)', url, obj.message_id)

    def save_model(self, request, obj, form, change):
        decide = {
            HeldMail.Decision.ATTACHED: threads.attach_held_mail,
            HeldMail.Decision.DISCARDED: threads.discard_held_mail,
        }[form.cleaned_data["decide"]]
        decide(obj, acting_user=request.user, reason=form.cleaned_data["reason_given"])

    def save_related(self, request, form, formsets, change):
        pass  # nothing of the mail is stored from the form
