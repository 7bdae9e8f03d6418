"""Reports in the admin: the report page, its moves, assignment, mail intake and bulk actions."""

from copy import copy

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, JsonResponse, QueryDict
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from accounts.admin_site import render_form_page
from encryption.admin import BlindIndexSearchMixin
from intake.blocklist import MANAGE_PERMISSION as MANAGE_BLOCKLIST
from outbox.selectors import last_bounce_to
from reports import services, workspace
from reports.admin.history import ReportHistoryMixin
from reports.admin.inbox import InboxListMixin, InboxViewFilter, deadline_cell
from reports.admin_forms import (
    MOVE_FORMS,
    AssignForm,
    ComposerForm,
    EmailedReportForm,
    TriageForm,
    move_form_kwargs,
)
from reports.cvss import cvss_suggestion
from reports.models import Attachment, Message, Report
from reports.saved_replies import active_saved_replies, render_saved_reply
from reports.selectors import report_awards
from reports.transitions import TRANSITIONS, IllegalMove, Move, allowed_staff_moves, is_allowed


def perform_move(move: Move, report: Report, user, data: dict) -> Report:
    """Call the service behind a move with what its form collected."""
    if move == Move.ACKNOWLEDGE:
        return services.acknowledge_report(report, acting_user=user, message=data["message"])
    if move == Move.REQUEST_INFORMATION:
        return services.request_information(report, acting_user=user, question=data["question"])
    if move == Move.TRIAGE:
        return services.triage_report(
            report,
            acting_user=user,
            severity=data["severity"],
            category=data["category"],
            cvss_vector=data["cvss_vector"],
            message=data["message"],
        )
    if move == Move.MARK_DUPLICATE:
        return services.mark_duplicate(
            report, acting_user=user, original=data["original"], message=data["message"]
        )
    if move == Move.RESOLVE:
        return services.resolve_report(report, acting_user=user, message=data["message"])
    if move == Move.CLOSE:
        return services.close_report(
            report, acting_user=user, resolution=data["resolution"], message=data["message"]
        )
    if move == Move.REOPEN:
        return services.reopen_report(report, acting_user=user, reason=data["reason"])
    raise ValueError(f"No admin form performs {move}.")


@admin.register(Report)
class ReportAdmin(ReportHistoryMixin, InboxListMixin, BlindIndexSearchMixin, SimpleHistoryAdmin):
    list_filter = (InboxViewFilter, "status", "severity", "category", "assignee", "channel")
    search_fields = ("public_id", "title")
    blind_index_search_fields = ("reporter__email_index",)
    search_help_text = "Search by public id or title, or by the researcher's full email address."
    # Every field is shown by the workspace template, none is edited: a report changes only
    # through its moves, each one a service call with its rules.
    fields = ()
    change_form_template = "admin/reports/report/change_form.html"
    actions = ["assign_to_me", "acknowledge", "close_as_spam"]

    def has_add_permission(self, request):
        # Reports arrive through the portal or mail intake, as the researcher's words.
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST":
            # Nothing on the page is saved by a form; the composer and the moves post elsewhere.
            return HttpResponseNotAllowed(["GET"])
        return super().changeform_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            # A composer handed in (one posted with errors) is kept, with what was typed.
            context = {**self._workspace_context(request, obj), **context}
            # The conversation needs the width more than the model menu does.
            context["is_nav_sidebar_enabled"] = False
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _workspace_context(self, request, report):
        may_act = self.has_change_permission(request, report)
        # The thread and its files show to those who may read them, as on the history page
        # (finance may view reports, not their threads).
        site = self.admin_site
        may_read_thread = site.get_model_admin(Message).has_view_permission(request)
        may_see_files = site.get_model_admin(Attachment).has_view_permission(request)
        return {
            "may_read_thread": may_read_thread,
            "title": report.title,
            "subtitle": report.public_id,
            "may_act": may_act,
            "moves": [(move.value, TRANSITIONS[move].label) for move in allowed_staff_moves(report)]
            if may_act
            else [],
            "thread": workspace.staff_thread(report, with_files=may_see_files)
            if may_read_thread
            else [],
            "submitted_files": workspace.submitted_files(report) if may_see_files else [],
            "deadline_states": workspace.deadline_states(report),
            "next_deadline": deadline_cell(report),
            "awards": list(report_awards(report)),
            "composer": ComposerForm(initial=self._composer_initial(request, report))
            if may_act
            else None,
            "saved_replies": list(active_saved_replies()) if may_act else [],
            "composer_url": reverse("admin:reports_report_compose", args=[report.pk]),
            "researcher_bounce": last_bounce_to(
                report.reporter.email, report_public_id=report.public_id
            ),
            "block_sender_url": self._block_sender_url(request, report),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete_link": False,
        }

    def _block_sender_url(self, request, report) -> str:
        """Spam that came by mail is closed by the usual move; blocking its sender is offered
        beside it to whoever keeps the blocklist, as the blocklist's form filled in."""
        if not (
            report.resolution == Report.Resolution.SPAM
            and report.channel == Report.Channel.EMAIL
            and request.user.has_perm(MANAGE_BLOCKLIST)
        ):
            return ""
        return f"{reverse('admin:intake_blockedsender_add')}?report={report.public_id}"

    def _composer_initial(self, request, report) -> dict:
        """Start the composer from the saved reply asked for, filled in for this report."""
        chosen = request.GET.get("saved_reply", "")
        saved_reply = active_saved_replies().filter(pk=chosen).first() if chosen.isdigit() else None
        return {"body": render_saved_reply(saved_reply, report)} if saved_reply else {}

    def get_urls(self):
        return [
            path(
                "<path:object_id>/move/<str:move>/",
                self.admin_site.admin_view(self.move_view),
                name="reports_report_move",
            ),
            path(
                "received-by-email/",
                self.admin_site.admin_view(self.received_by_email_view),
                name="reports_report_received_by_email",
            ),
            path(
                "<path:object_id>/compose/",
                self.admin_site.admin_view(self.compose_view),
                name="reports_report_compose",
            ),
            path(
                "cvss-suggestion/",
                self.admin_site.admin_view(self.cvss_suggestion_view),
                name="reports_report_cvss_suggestion",
            ),
            path(
                "<path:object_id>/assign/",
                self.admin_site.admin_view(self.assign_view),
                name="reports_report_assign",
            ),
            *super().get_urls(),
        ]

    def _report_for_change(self, request, object_id):
        report = self.get_object(request, object_id)
        if report is None:
            raise Http404("No such report.")
        if not self.has_change_permission(request, report):
            raise PermissionDenied
        return report

    def _render_move_form(self, request, report, title, form):
        return render_form_page(
            self,
            request,
            title=title,
            form=form,
            subject=f"{report.title}: currently {report.get_status_display().lower()}.",
            cancel_url=reverse("admin:reports_report_change", args=[report.pk]),
        )

    def move_view(self, request, object_id, move):
        report = self._report_for_change(request, object_id)
        try:
            move = Move(move)
            form_class = MOVE_FORMS[move]
        except (ValueError, KeyError):
            raise Http404("No such move.") from None
        if not is_allowed(report, move):
            self.message_user(request, str(IllegalMove(report, move)), messages.ERROR)
            return redirect("admin:reports_report_change", report.pk)
        form = form_class(request.POST or None, **move_form_kwargs(form_class, report, self))
        checking = TriageForm.CHECK in request.POST
        if request.method == "POST" and form.is_valid() and not checking:
            try:
                perform_move(move, report, request.user, form.cleaned_data)
            except (IllegalMove, ValidationError) as error:
                form.add_error(None, error.messages if hasattr(error, "messages") else str(error))
            else:
                note = form.suggestion() if isinstance(form, TriageForm) else ""
                self.message_user(
                    request, f"{TRANSITIONS[move].label}: done. {note}".strip(), messages.SUCCESS
                )
                return redirect("admin:reports_report_change", report.pk)
        return render_form_page(
            self,
            request,
            title=f"{TRANSITIONS[move].label}: {report.public_id}",
            form=form,
            subject=f"{report.title}: currently {report.get_status_display().lower()}.",
            cancel_url=reverse("admin:reports_report_change", args=[report.pk]),
            secondary_submit=(TriageForm.CHECK, "Check the vector")
            if isinstance(form, TriageForm)
            else None,
        )

    def compose_view(self, request, object_id):
        """Post the composer: to the researcher or as an internal note, as its button says."""
        report = self._report_for_change(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        form = ComposerForm(request.POST)
        if form.is_valid():
            try:
                services.add_staff_message(
                    report,
                    acting_user=request.user,
                    body=form.cleaned_data["body"],
                    public=form.cleaned_data["audience"] == ComposerForm.PUBLIC,
                )
            except ValidationError as error:
                form.add_error("body", error)
            else:
                done = (
                    "Reply sent to the researcher."
                    if form.cleaned_data["audience"] == ComposerForm.PUBLIC
                    else "Internal note added: staff only."
                )
                # The admin log says that a message was posted, never what it said.
                self.log_change(request, report, done)
                self.message_user(request, done, messages.SUCCESS)
                return redirect(
                    reverse("admin:reports_report_change", args=[report.pk]) + "#thread-end"
                )
        # Show the page again with what was typed and what is wrong: nothing typed is lost. The
        # page is drawn as for a GET, since the report page itself takes no POST.
        page_request = copy(request)
        page_request.method, page_request.POST = "GET", QueryDict()
        response = self.change_view(page_request, str(report.pk), extra_context={"composer": form})
        response.status_code = 400
        return response

    def cvss_suggestion_view(self, request):
        """Score a vector for the triage form's live suggestion: JSON, nothing stored."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return JsonResponse(cvss_suggestion(request.GET.get("vector", "")))

    def assign_view(self, request, object_id):
        report = self._report_for_change(request, object_id)
        form = AssignForm(request.POST or None, initial={"assignee": report.assignee})
        if request.method == "POST" and form.is_valid():
            services.assign_report(
                report, acting_user=request.user, assignee=form.cleaned_data["assignee"]
            )
            self.message_user(request, "Assignment saved.", messages.SUCCESS)
            return redirect("admin:reports_report_change", report.pk)
        return self._render_move_form(request, report, f"Assign {report.public_id}", form)

    def received_by_email_view(self, request):
        if not request.user.has_perm("reports.add_report"):
            raise PermissionDenied
        form = EmailedReportForm(request.POST or None, initial={"received_at": timezone.now()})
        if request.method == "POST" and form.is_valid():
            try:
                report = services.record_report_received_by_email(
                    reporter_email=form.cleaned_data["reporter_email"],
                    reporter_name=form.cleaned_data["reporter_name"],
                    submission=form.submission(),
                    received_at=form.cleaned_data["received_at"],
                    acting_user=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, f"Recorded {report.public_id}.", messages.SUCCESS)
                return redirect("admin:reports_report_change", report.pk)
        return render_form_page(
            self,
            request,
            title="Record a report received by email",
            form=form,
            subject="Enter the report in the researcher's own words. They get the usual "
            "acknowledgement by mail, and see the report in the portal once they sign up with "
            "this address.",
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            **self.inbox_context(request),
            "may_record_emailed": request.user.has_perm("reports.add_report"),
        }
        return super().changelist_view(request, extra_context)

    def _apply_to_each(self, request, queryset, label, perform):
        done, refused = 0, []
        for report in queryset:
            try:
                perform(report)
            except (IllegalMove, ValidationError) as error:
                refused.append(f"{report.public_id}: {error}")
            else:
                done += 1
        self.message_user(request, f"{label}: {done} done.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not done: " + "; ".join(refused), messages.WARNING)

    @admin.action(description="Assign to me", permissions=["change"])
    def assign_to_me(self, request, queryset):
        self._apply_to_each(
            request,
            queryset,
            "Assign to me",
            lambda r: services.assign_report(r, acting_user=request.user, assignee=request.user),
        )

    @admin.action(description="Acknowledge", permissions=["change"])
    def acknowledge(self, request, queryset):
        self._apply_to_each(
            request,
            queryset,
            "Acknowledge",
            lambda r: services.acknowledge_report(r, acting_user=request.user),
        )

    @admin.action(description="Close as spam", permissions=["change"])
    def close_as_spam(self, request, queryset):
        self._apply_to_each(
            request,
            queryset,
            "Close as spam",
            lambda r: services.close_report(
                r, acting_user=request.user, resolution=Report.Resolution.SPAM
            ),
        )
        if request.user.has_perm(MANAGE_BLOCKLIST) and any(
            report.channel == Report.Channel.EMAIL for report in queryset
        ):
            self.message_user(
                request,
                "Spam that came by mail: its sender can be blocked from each report's page.",
                messages.INFO,
            )
