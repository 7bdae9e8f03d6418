"""Researchers in the admin: who they are, read-only, and a program admin's re-link."""

import dataclasses

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from accounts.admin_site import render_form_page
from audit.admin import ReadableHistoryContext, ReadableHistoryMixin
from encryption.admin import BlindIndexSearchMixin, EncryptedObjectLogMixin
from reports import services
from reports.admin_forms import RelinkForm
from reports.models import Reporter


def may_see_payment_details(request) -> bool:
    return request.user.has_perm("reports.view_payment_details")


PAYMENT_FIELDS = ("payment_method", "payment_details")


class HistoryWithoutPaymentDetails(ReadableHistoryContext):
    """Leave payment details out of the history page's list of changes."""

    def context_for_delta_changes(self, delta):
        kept = [change for change in delta.changes if change.field not in PAYMENT_FIELDS]
        return super().context_for_delta_changes(dataclasses.replace(delta, changes=kept))


@admin.register(Reporter)
class ReporterAdmin(
    EncryptedObjectLogMixin, BlindIndexSearchMixin, ReadableHistoryMixin, SimpleHistoryAdmin
):
    """Who a researcher is, read-only: whoever the record points at is who gets paid.

    Records come from the portal and from reports received by email; the one change staff make,
    re-linking to another account, is a program admin's, with a reason (``relink_view``).
    """

    list_display = ("email", "display_name", "has_account", "report_count", "created_at")
    list_filter = ("payment_method",)
    # Contact details are encrypted: a researcher is found by their whole email address, through
    # its blind index, or by the address of their account, which the login keeps in clear.
    search_fields = ("user__email",)
    blind_index_search_fields = ("email_index",)
    search_help_text = "Find a researcher by their full email address (in any case)."
    # Sorting by an encrypted column would sort by ciphertext.
    sortable_by = ("has_account", "report_count", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(num_reports=Count("reports"))

    def get_fields(self, request, obj=None):
        account = "account_and_relink" if self._may_relink(request) else "account"
        fields = ["email", "display_name", account, "created_at"]
        if may_see_payment_details(request):
            fields += ["payment_method", "payment_details"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_list_filter(self, request):
        return self.list_filter if may_see_payment_details(request) else ()

    def get_historical_record_context_helper(self, request, historical_record):
        if may_see_payment_details(request):
            return super().get_historical_record_context_helper(request, historical_record)
        return HistoryWithoutPaymentDetails(self.model, historical_record)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/relink/",
                self.admin_site.admin_view(self.relink_view),
                name="reports_reporter_relink",
            ),
            *super().get_urls(),
        ]

    def _may_relink(self, request):
        return request.user.has_perm(services.RELINK_PERMISSION)

    @admin.display(description="Account")
    def account(self, obj):
        return obj.user.email if obj.user_id else "none (not signed up)"

    @admin.display(description="Account")
    def account_and_relink(self, obj):
        url = reverse("admin:reports_reporter_relink", args=[obj.pk])
        link = '{} <a href="{}">Re-link to another account…</a>'
        return format_html(link, self.account(obj), url)

    def relink_view(self, request, object_id):
        if not self._may_relink(request):
            raise PermissionDenied
        reporter = self.get_object(request, unquote(object_id))
        if reporter is None:
            raise Http404("No such researcher.")
        change_page = reverse("admin:reports_reporter_change", args=[reporter.pk])
        form = RelinkForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.relink_reporter(
                    reporter,
                    user=form.cleaned_data["account"],
                    reason=form.cleaned_data["reason"],
                    acting_user=request.user,
                )
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error({"user": "account"}.get(field, field), problems)
            else:
                self.log_change(request, reporter, "Re-linked to another account.")
                self.message_user(
                    request,
                    "Re-linked; the old and the new address have been told.",
                    messages.SUCCESS,
                )
                return redirect(change_page)
        return render_form_page(
            self,
            request,
            title=f"Re-link researcher #{reporter.pk} to another account",
            subject="Payouts go wherever the record's account says. Re-link only on the "
            "researcher's own request, confirmed outside this desk.",
            form=form,
            submit_label="Re-link",
            cancel_url=change_page,
        )

    @admin.display(boolean=True, description="Account")
    def has_account(self, obj):
        return obj.user_id is not None

    @admin.display(description="Reports", ordering="num_reports")
    def report_count(self, obj):
        return obj.num_reports
