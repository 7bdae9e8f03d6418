"""Intake mail in the admin: read-only, with the raw source downloadable by those who may."""

import itertools

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from audit.admin import ReadableHistoryMixin
from encryption.admin import BlindIndexSearchMixin, EncryptedObjectLogMixin
from intake import blocklist, selectors, services, threads
from intake.models import BlockedSender, HeldMail, IntakeMessage, RawSourceDownload
from reports.models import Report


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


class RecentFilter(admin.SimpleListFilter):
    """Mail recorded in the last day, as the program admin's first page counts it."""

    title = "recorded"
    parameter_name = "recent"

    def lookups(self, request, model_admin):
        return [("day", "In the last day")]

    def queryset(self, request, queryset):
        if self.value() == "day":
            return queryset.filter(recorded_at__gt=timezone.now() - selectors.RECENT)
        return queryset


@admin.register(IntakeMessage)
class IntakeMessageAdmin(
    BlindIndexSearchMixin, EncryptedObjectLogMixin, ReadableHistoryMixin, SimpleHistoryAdmin
):
    """Every mail the intake took and what became of it; the services alone change them."""

    list_display = ("received_at", "state", "sender", "source", "report_link", "size")
    list_filter = ("state", "source", RecentFilter, "encrypted", "signature")
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
        "acknowledgement_withheld",
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


class BlockedSenderForm(forms.ModelForm):
    """One box for an address or a domain: what it is, the service reads from what is typed."""

    entry = forms.CharField(
        label="Address or domain",
        max_length=254,
        help_text=(
            "An address (carol@example.com) blocks that sender; a domain (example.com) blocks "
            "every address at it and at its subdomains. Their mail is still kept, as ignored."
        ),
    )

    class Meta:
        model = BlockedSender
        fields = ("reason",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # What is blocked is never edited: a wrong entry is lifted and made again.
            del self.fields["entry"]

    def clean_entry(self):
        entry = self.cleaned_data["entry"]
        try:
            blocklist.parse_entry(entry)
        except ValidationError as invalid:
            raise forms.ValidationError(invalid.messages) from None
        if blocklist.already_blocked(entry):
            raise forms.ValidationError("This sender is blocked already.")
        return entry


@admin.register(BlockedSender)
class BlockedSenderAdmin(
    BlindIndexSearchMixin, EncryptedObjectLogMixin, ReadableHistoryMixin, SimpleHistoryAdmin
):
    """The senders whose mail makes no report and gets no reply; kept by program admins."""

    form = BlockedSenderForm
    list_display = ("blocked", "kind", "reason", "blocked_by", "blocked_at")
    list_filter = ("kind",)
    list_select_related = ("blocked_by",)
    search_fields = ("domain",)
    # An address is found by its blind index: the search box takes the whole address.
    blind_index_search_fields = ("address_index",)
    sortable_by = ("kind", "blocked_at")
    readonly_fields = ("blocked", "kind", "blocked_by", "blocked_at")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("entry", "reason")
        return ("blocked", "kind", "reason", "blocked_by", "blocked_at")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    @admin.display(description="Blocked")
    def blocked(self, obj):
        return obj.address if obj.kind == BlockedSender.Kind.ADDRESS else f"*@{obj.domain}"

    def get_changeform_initial_data(self, request):
        """Start from the report closed as spam that the link came from (``?report=``)."""
        initial = {}
        public_id = request.GET.get("report", "")
        report = Report.objects.filter(public_id=public_id).select_related("reporter").first()
        if report is not None and request.user.has_perm("reports.view_reporter"):
            initial["entry"] = report.reporter.email
            initial["reason"] = f"Sent spam: report {report.public_id}."
        return initial

    def save_model(self, request, obj, form, change):
        # The services write the entry; the form only checked what was typed.
        if change:
            blocklist.change_reason(
                obj, reason=form.cleaned_data["reason"], acting_user=request.user
            )
            return
        saved = blocklist.block_sender(
            entry=form.cleaned_data["entry"],
            reason=form.cleaned_data["reason"],
            acting_user=request.user,
        )
        # The admin's messages and redirect name the row the service made.
        obj.pk, obj.kind, obj.domain = saved.pk, saved.kind, saved.domain

    def delete_model(self, request, obj):
        blocklist.unblock(obj, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            blocklist.unblock(obj, acting_user=request.user)


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
        """Store nothing of the mail from the form: the decision above was all it took."""
