"""Awards in the admin: a triager proposes one from the report's page."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from simple_history.admin import SimpleHistoryAdmin

from accounts.admin_site import render_form_page
from audit.admin import ReadableHistoryMixin
from bounty import services
from bounty.admin.pages import ReadOnlyInAdmin
from bounty.admin_forms import ProposeAwardForm
from bounty.models import Award
from reports.models import Report


@admin.register(Award)
class AwardAdmin(ReadOnlyInAdmin, ReadableHistoryMixin, SimpleHistoryAdmin):
    # Awards are proposed from their report's page, through the service and its rules.
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
        return render_form_page(
            self,
            request,
            title=f"Propose an award for {report.public_id}",
            subject=f"{report.title}: severity {report.severity}, "
            f"currently {report.get_status_display().lower()}.",
            form=form,
            submit_label="Propose",
            cancel_url=report_page,
        )
