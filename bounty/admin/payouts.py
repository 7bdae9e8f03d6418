"""Payouts in the admin: the payout page with its approvals, recording a payment, the settlement
upload and the totals; the approved destination shown to finance only."""

import dataclasses

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from simple_history.admin import SimpleHistoryAdmin

from accounts.admin_site import render_form_page
from audit.admin import ReadableHistoryContext, ReadableHistoryMixin
from bounty import selectors, services
from bounty.admin.pages import ReadOnlyInAdmin
from bounty.admin_forms import PaymentForm, SettlementForm
from bounty.models import Payout, PayoutApproval, Program
from bounty.payment_csv import destination_method_label
from encryption.admin import BlindIndexSearchMixin
from reports.admin.researchers import may_see_payment_details


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


DESTINATION_FIELDS = ("destination_method", "destination_details")


class HistoryWithoutDestination(ReadableHistoryContext):
    """Leave the payout's destination out of the history page's list of changes."""

    def context_for_delta_changes(self, delta):
        kept = [change for change in delta.changes if change.field not in DESTINATION_FIELDS]
        return super().context_for_delta_changes(dataclasses.replace(delta, changes=kept))


class OverdueApprovalFilter(admin.SimpleListFilter):
    """Payouts whose approval waits longer than the program's escalation threshold."""

    title = "approval"
    parameter_name = "approval"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue: past the escalation threshold")]

    def queryset(self, request, queryset):
        if self.value() != "overdue":
            return queryset
        program = Program.objects.first()
        if program is None:
            return queryset.none()
        return queryset.filter(pk__in=selectors.stale_approvals(program).values("pk"))


@admin.register(Payout)
class PayoutAdmin(ReadOnlyInAdmin, BlindIndexSearchMixin, ReadableHistoryMixin, SimpleHistoryAdmin):
    # Payouts come from proposed awards, never from a blank form; status and amounts change only
    # through the services, from the pages linked here.
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
    list_filter = ("status", OverdueApprovalFilter, "currency")
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
        return render_form_page(
            self,
            request,
            title=f"Record the payment of payout {payout.pk}",
            subject=f"{payout.amount} {payout.currency} to {payout.reporter}, instruction "
            f"{payout.instruction_reference or '(none yet)'}.",
            form=form,
            submit_label="Mark paid",
            cancel_url=change_page,
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
