"""Finance's approval queue, where payouts are approved or rejected, and the record of the
decisions."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from audit.admin import ReadableHistoryMixin
from bounty import selectors, services
from bounty.admin.pages import ReadOnlyInAdmin
from bounty.admin_forms import ApprovalQueueActionForm, RejectionForm, destination_shown_at
from bounty.models import PayoutApproval, PayoutAwaitingMyApproval
from bounty.payment_csv import destination_method_label
from reports.admin.researchers import may_see_payment_details


@admin.register(PayoutAwaitingMyApproval)
class PayoutAwaitingMyApprovalAdmin(ReadOnlyInAdmin, admin.ModelAdmin):
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
class PayoutApprovalAdmin(ReadOnlyInAdmin, ReadableHistoryMixin, SimpleHistoryAdmin):
    list_display = ("payout", "approver", "decision", "decided_at", "voided_at")
    list_filter = ("decision",)
    list_select_related = ("payout__reporter", "approver")
    search_fields = ("approver__email", "payout__award__report__public_id")
    readonly_fields = ("payout", "approver", "decision", "reason", "decided_at", "voided_at")
