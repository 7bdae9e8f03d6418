import dataclasses

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.db.models import Count
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from bounty import selectors, services
from bounty.admin_forms import (
    ApprovalQueueActionForm,
    PaymentForm,
    ProposeAwardForm,
    RejectionForm,
    SettlementForm,
    destination_shown_at,
)
from bounty.models import (
    Award,
    Category,
    PaymentBatch,
    PaymentBatchDownload,
    Payout,
    PayoutApproval,
    PayoutAwaitingMyApproval,
    Program,
    Severity,
)
from bounty.payment_csv import batch_filename, destination_method_label, stream_payment_batch
from encryption.admin import BlindIndexSearchMixin
from reports.models import Report


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
        ("Mail", {"fields": ("titles_in_mail",)}),
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
    fields = ("approver", "decision", "reason", "decided_at", "voided_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("approver")

    def has_add_permission(self, request, obj=None):
        return False


def may_see_payment_details(request) -> bool:
    return request.user.has_perm("reports.view_payment_details")


DESTINATION_FIELDS = ("destination_method", "destination_details")


class HistoryWithoutDestination(HistoricalRecordContextHelper):
    """Leave the payout's destination out of the history page's list of changes."""

    def context_for_delta_changes(self, delta):
        kept = [change for change in delta.changes if change.field not in DESTINATION_FIELDS]
        return super().context_for_delta_changes(dataclasses.replace(delta, changes=kept))


def _form_page(request, model_admin, *, title, form, subject="", submit_label="", extra=None):
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "subject": subject,
        "form": form,
        "submit_label": submit_label or title,
        **(extra or {}),
    }
    return TemplateResponse(request, "admin/form_page.html", context)


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
    readonly_fields = (
        "report",
        "kind",
        "amount",
        "currency",
        "justification",
        "outside_range",
        "proposed_by",
        "proposed_at",
    )
    date_hierarchy = "proposed_at"

    def has_add_permission(self, request):
        # Awards are proposed from their report's page, through the service and its rules.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "propose/<int:report_id>/",
                self.admin_site.admin_view(self.propose_view),
                name="bounty_award_propose",
            ),
            *super().get_urls(),
        ]

    def propose_view(self, request, report_id):
        report = get_object_or_404(Report.objects.select_related("severity"), pk=report_id)
        report_page = reverse("admin:reports_report_change", args=[report.pk])
        try:
            services.check_award_proposable(report, user=request.user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return redirect(report_page)
        form = ProposeAwardForm(request.POST or None, report=report)
        if request.method == "POST" and form.is_valid():
            try:
                award = services.propose_award(
                    report, acting_user=request.user, **form.cleaned_data
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request,
                    f"Proposed a {award.get_kind_display().lower()} of {award.amount} "
                    f"{award.currency}; finance has been asked to approve it.",
                    messages.SUCCESS,
                )
                return redirect(report_page)
        return _form_page(
            request,
            self,
            title=f"Propose an award for {report.public_id}",
            subject=f"{report.title}: severity {report.severity}, "
            f"currently {report.get_status_display().lower()}.",
            form=form,
            submit_label="Propose",
            extra={"cancel_url": report_page},
        )


@admin.register(Payout)
class PayoutAdmin(BlindIndexSearchMixin, SimpleHistoryAdmin):
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
    search_fields = ("award__report__public_id", "instruction_reference", "payment_reference")
    # The researcher's address is encrypted: it is matched whole, through its blind index.
    blind_index_search_fields = ("reporter__email_index",)
    search_help_text = (
        "Search by report id or payment reference, or by the researcher's full email address."
    )
    date_hierarchy = "created_at"
    inlines = [PayoutApprovalInline]
    readonly_fields = (
        "award",
        "reporter",
        "amount",
        "currency",
        "status",
        "approvals_required",
        "approved_at",
        "escalated_at",
        "destination_renewed_at",
        "instruction_reference",
        "instructed_at",
        "payment_reference",
        "paid_at",
        "rejection_reason",
        "created_at",
        "updated_at",
    )
    change_list_template = "admin/bounty/payout/change_list.html"
    change_form_template = "admin/bounty/payout/change_form.html"

    def has_add_permission(self, request):
        # Payouts come from proposed awards, never from a blank form.
        return False

    def has_change_permission(self, request, obj=None):
        # Status and amounts change only through the services, from the pages linked here.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_pay_permission(self, request):
        return request.user.has_perm(services.PAY_PERMISSION)

    @admin.display(description="Report", ordering="award__report__public_id")
    def report_public_id(self, obj):
        return obj.award.report.public_id

    def get_readonly_fields(self, request, obj=None):
        # Where the money goes is finance's to see, like the researcher's payment details.
        if may_see_payment_details(request):
            return (*self.readonly_fields, "destination", "destination_account")
        return self.readonly_fields

    def get_historical_record_context_helper(self, request, historical_record):
        if may_see_payment_details(request):
            return super().get_historical_record_context_helper(request, historical_record)
        return HistoryWithoutDestination(self.model, historical_record)

    @admin.display(description="Destination (approved)")
    def destination(self, obj):
        return destination_method_label(obj.destination_method)

    @admin.display(description="Destination account (approved)")
    def destination_account(self, obj):
        return obj.destination_details or "—"

    def get_urls(self):
        def view(function, route, name):
            return path(route, self.admin_site.admin_view(function), name=f"bounty_payout_{name}")

        return [
            view(self.totals_view, "totals/", "totals"),
            view(self.settlement_view, "settlement/", "settlement"),
            view(self.mark_paid_view, "<path:object_id>/mark-paid/", "mark_paid"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_pay": self.has_pay_permission(request)}
        return super().changelist_view(request, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["may_mark_paid"] = (
            obj is not None
            and obj.status == Payout.Status.INSTRUCTED
            and self.has_pay_permission(request)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def mark_paid_view(self, request, object_id):
        if not self.has_pay_permission(request):
            raise PermissionDenied
        payout = self.get_object(request, object_id)
        if payout is None:
            raise Http404("No such payout.")
        change_page = reverse("admin:bounty_payout_change", args=[payout.pk])
        form = PaymentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.mark_payout_paid(
                    payout,
                    acting_user=request.user,
                    payment_reference=form.cleaned_data["payment_reference"],
                )
            except (services.IllegalPayoutMove, ValidationError) as error:
                form.add_error(None, getattr(error, "messages", None) or str(error))
            except IntegrityError:
                # Another payout took this reference between the service's check and its write.
                form.add_error(
                    "payment_reference", "This payment reference is recorded for another payout."
                )
            else:
                self.message_user(request, "The payment is recorded.", messages.SUCCESS)
                return redirect(change_page)
        return _form_page(
            request,
            self,
            title=f"Record the payment of payout {payout.pk}",
            subject=f"{payout.amount} {payout.currency} to {payout.reporter}, instruction "
            f"{payout.instruction_reference or '(none yet)'}.",
            form=form,
            submit_label="Mark paid",
            extra={"cancel_url": change_page},
        )

    def settlement_view(self, request):
        if not self.has_pay_permission(request):
            raise PermissionDenied
        form = SettlementForm(request.POST or None, request.FILES or None)
        result = None
        if request.method == "POST" and form.is_valid():
            try:
                result = services.import_settlement(
                    form.cleaned_data["settlement"], acting_user=request.user
                )
            except ValidationError as error:
                form.add_error("settlement", error)
            else:
                level = messages.WARNING if result.problems else messages.SUCCESS
                self.message_user(
                    request,
                    f"{len(result.paid)} paid; {len(result.problems)} rows not paid, "
                    "listed below with the reason.",
                    level,
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Upload a settlement",
            "submit_label": "Upload and match",
            "form": form,
            "result": result,
        }
        return TemplateResponse(request, "admin/bounty/payout/settlement.html", context)

    def totals_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Payout totals",
            "per_researcher": selectors.payout_totals_per_researcher(),
            "per_severity": selectors.payout_totals_per_severity(),
            "per_month": selectors.paid_totals_per_month(),
        }
        return TemplateResponse(request, "admin/bounty/payout/totals.html", context)


@admin.register(PayoutAwaitingMyApproval)
class PayoutAwaitingMyApprovalAdmin(admin.ModelAdmin):
    """Finance's queue: what the signed-in user may still approve or reject, oldest first."""

    list_display = (
        "report_public_id",
        "severity",
        "kind",
        "amount",
        "currency",
        "outside_range",
        "approvals",
        "proposed_by",
        "proposed",
        "escalated_at",
        "reporter",
    )
    list_display_links = None
    actions = ["approve", "reject"]
    action_form = ApprovalQueueActionForm
    fields = ("award", "reporter", "amount", "currency", "approvals_required", "created_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return selectors.payouts_awaiting_approval_by(
            request.user, among=super().get_queryset(request)
        )

    def get_list_display(self, request):
        # An approval covers the destination as well as the amount: approvers see where the
        # money goes, as it was when proposed, never the researcher's details as they are now.
        if may_see_payment_details(request):
            return (*self.list_display, "destination_method_given", "destination_details_given")
        return self.list_display

    def get_fields(self, request, obj=None):
        if may_see_payment_details(request):
            return (*self.fields, "destination_method_given", "destination_details_given")
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(services.APPROVE_PERMISSION)

    def has_approve_permission(self, request):
        return request.user.has_perm(services.APPROVE_PERMISSION)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Report", ordering="award__report__public_id")
    def report_public_id(self, obj):
        url = reverse("admin:reports_report_change", args=[obj.award.report_id])
        return format_html('<a href="{}">{}</a>', url, obj.award.report.public_id)

    @admin.display(description="Severity", ordering="award__report__severity__rank")
    def severity(self, obj):
        return obj.award.report.severity

    @admin.display(description="Kind", ordering="award__kind")
    def kind(self, obj):
        return obj.award.get_kind_display()

    @admin.display(description="Outside range", boolean=True, ordering="award__outside_range")
    def outside_range(self, obj):
        return obj.award.outside_range

    @admin.display(description="Approvals")
    def approvals(self, obj):
        return f"{obj.approvals_given} of {obj.approvals_required}"

    @admin.display(description="Proposed by", ordering="award__proposed_by__email")
    def proposed_by(self, obj):
        return obj.award.proposed_by

    @admin.display(description="Proposed", ordering="created_at")
    def proposed(self, obj):
        return obj.created_at

    @admin.display(description="Payment method")
    def destination_method_given(self, obj):
        return destination_method_label(obj.destination_method)

    @admin.display(description="Payment details")
    def destination_details_given(self, obj):
        return obj.destination_details or "—"

    def _decide_each(self, request, queryset, label, decide):
        done, refused = 0, []
        for payout in queryset:
            try:
                decide(payout)
            except (services.IllegalPayoutMove, ValidationError, PermissionDenied) as error:
                reason = " ".join(getattr(error, "messages", [])) or str(error)
                refused.append(f"payout {payout.pk}: {reason}")
            else:
                done += 1
        self.message_user(request, f"{label}: {done}.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not done: " + "; ".join(refused), messages.WARNING)

    @admin.action(description="Approve the selected payouts", permissions=["approve"])
    def approve(self, request, queryset):
        shown_at = destination_shown_at(request.POST)
        self._decide_each(
            request,
            queryset,
            "Approved",
            lambda payout: services.approve_payout(
                payout, acting_user=request.user, destination_shown_at=shown_at
            ),
        )

    @admin.action(description="Reject the selected payouts…", permissions=["approve"])
    def reject(self, request, queryset):
        form = RejectionForm(request.POST if "reject" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._decide_each(
                request,
                queryset,
                "Rejected",
                lambda payout: services.reject_payout(
                    payout, acting_user=request.user, reason=reason
                ),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Reject payouts",
            "submit_name": "reject",
            "submit_label": "Reject",
            "payouts": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/bounty/payoutawaitingmyapproval/reject.html", context
        )


@admin.register(PayoutApproval)
class PayoutApprovalAdmin(SimpleHistoryAdmin):
    list_display = ("payout", "approver", "decision", "decided_at", "voided_at")
    list_filter = ("decision",)
    list_select_related = ("payout__reporter", "approver")
    search_fields = ("approver__email", "payout__award__report__public_id")
    readonly_fields = ("payout", "approver", "decision", "reason", "decided_at", "voided_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PaymentBatchDownloadInline(admin.TabularInline):
    model = PaymentBatchDownload
    extra = 0
    can_delete = False
    fields = ("downloaded_by", "downloaded_at", "redownload")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("downloaded_by")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(services.PAY_PERMISSION)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PaymentBatch)
class PaymentBatchAdmin(SimpleHistoryAdmin):
    """Finance's exports of payment instructions: made here, downloaded again by number."""

    list_display = ("number", "currency", "count", "total", "created_by", "created_at", "file")
    list_select_related = ("created_by",)
    fields = ("number", "currency", "count", "total", "created_by", "created_at", "file")
    readonly_fields = fields
    inlines = [PaymentBatchDownloadInline]
    change_list_template = "admin/bounty/paymentbatch/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(download_count=Count("downloads"))

    def has_view_permission(self, request, obj=None):
        # The files carry the researchers' accounts: the people who pay, and nobody else.
        return request.user.has_perm(services.PAY_PERMISSION)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        # A batch is an export: the export button makes it, through the service.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="File")
    def file(self, obj):
        url = reverse("admin:bounty_paymentbatch_download", args=[obj.number])
        label = "Download again" if obj.download_count else "Download"
        return format_html('<a href="{}">{}</a>', url, label)

    def get_urls(self):
        def view(function, route, name):
            return path(
                route, self.admin_site.admin_view(function), name=f"bounty_paymentbatch_{name}"
            )

        return [
            view(require_POST(self.export_view), "export/", "export"),
            view(self.download_view, "<int:number>/download/", "download"),
            *super().get_urls(),
        ]

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        batches = services.export_payment_batches(acting_user=request.user)
        if not batches:
            self.message_user(request, "No instructed payout waits for a batch.", messages.INFO)
        for batch in batches:
            self.message_user(
                request,
                format_html(
                    '{}: {}, {} {}. <a href="{}">Download it</a>.',
                    batch,
                    ngettext("%(count)d payout", "%(count)d payouts", batch.count)
                    % {"count": batch.count},
                    batch.total,
                    batch.currency,
                    reverse("admin:bounty_paymentbatch_download", args=[batch.number]),
                ),
                messages.SUCCESS,
            )
        return redirect("admin:bounty_paymentbatch_changelist")

    def download_view(self, request, number):
        if not self.has_view_permission(request):
            raise PermissionDenied
        batch = get_object_or_404(PaymentBatch, number=number)
        download = services.record_batch_download(batch, acting_user=request.user)
        rows = stream_payment_batch(
            batch,
            selectors.batch_lines(batch).iterator(chunk_size=selectors.BATCH_LINES_PER_FETCH),
            redownload=download.redownload,
        )
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        filename = batch_filename(batch, redownload=download.redownload)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
