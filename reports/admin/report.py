"""Reports in the admin: the report page, its moves, assignment, mail intake and bulk actions."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from accounts.admin_site import render_form_page
from bounty.models import Award
from encryption.admin import BlindIndexSearchMixin
from reports import services
from reports.admin.deadlines import DeadlineFilter, DeadlineInline
from reports.admin.history import ReportHistoryMixin
from reports.admin.thread import AttachmentInline, MessageInline
from reports.admin_forms import (
    MOVE_FORMS,
    AssignForm,
    DuplicateForm,
    EmailedReportForm,
    TriageForm,
)
from reports.models import Message, Report
from reports.transitions import TRANSITIONS, IllegalMove, Move, allowed_staff_moves, is_allowed


class AwardInline(admin.TabularInline):
    model = Award
    extra = 0
    verbose_name_plural = "awards and payouts"
    fields = ("kind", "amount", "currency", "proposed_by", "proposed_at", "payout_status")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("proposed_by", "payout")

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Payout")
    def payout_status(self, obj):
        payout = getattr(obj, "payout", None)
        return payout.get_status_display() if payout else "—"


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
        return services.mark_duplicate(report, acting_user=user, original=data["original"])
    if move == Move.RESOLVE:
        return services.resolve_report(report, acting_user=user, message=data["message"])
    if move == Move.CLOSE:
        return services.close_report(
            report, acting_user=user, resolution=data["resolution"], message=data["message"]
        )
    if move == Move.REOPEN:
        return services.reopen_report(report, acting_user=user, reason=data["reason"])
    raise ValueError(f"No admin form performs {move}.")


class AssignedToMeFilter(admin.SimpleListFilter):
    title = "assigned to me"
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("yes", "Assigned to me"), ("unassigned", "Unassigned")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(assignee=request.user)
        if self.value() == "unassigned":
            return queryset.filter(assignee__isnull=True)
        return queryset


@admin.register(Report)
class ReportAdmin(ReportHistoryMixin, BlindIndexSearchMixin, SimpleHistoryAdmin):
    list_display = (
        "public_id",
        "title",
        "reporter",
        "status",
        "severity",
        "category",
        "assignee",
        "received_at",
        "last_activity_at",
    )
    list_filter = (
        "status",
        AssignedToMeFilter,
        DeadlineFilter,
        "severity",
        "category",
        "assignee",
        "resolution",
    )
    list_select_related = ("reporter", "severity", "category", "assignee")
    search_fields = ("public_id", "title")
    blind_index_search_fields = ("reporter__email_index",)
    search_help_text = "Search by public id or title, or by the researcher's full email address."
    date_hierarchy = "received_at"
    fieldsets = (
        (
            None,
            {"fields": ("public_id", "title", "reporter", "status", "resolution", "duplicate_of")},
        ),
        ("Triage", {"fields": ("category", "severity", "cvss_vector", "cvss_score", "assignee")}),
        ("Affected", {"fields": ("affected_asset", "affected_version")}),
        ("Report", {"fields": ("description", "steps_to_reproduce", "impact")}),
        (
            "Timeline",
            {
                "fields": (
                    "received_at",
                    "acknowledged_at",
                    "triaged_at",
                    "resolved_at",
                    "closed_at",
                    "last_activity_at",
                )
            },
        ),
    )
    inlines = [MessageInline, AttachmentInline, DeadlineInline, AwardInline]
    actions = ["assign_to_me", "acknowledge", "close_as_spam"]
    change_form_template = "admin/reports/report/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        # A report changes only through its moves, each one a service call with its rules.
        return [name for fieldset in self.fieldsets for name in fieldset[1]["fields"]]

    def has_add_permission(self, request):
        # Reports arrive through the portal or mail intake, as the researcher's words.
        return False

    def save_model(self, request, obj, form, change):
        """Save nothing: every field is read-only, and moves have their own pages."""

    def save_formset(self, request, form, formset, change):
        if formset.model is not Message:
            formset.save()
            return
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for message_form in formset.extra_forms:
            if message_form.has_changed() and message_form.is_valid():
                message = services.add_staff_message(
                    form.instance,
                    acting_user=request.user,
                    body=message_form.cleaned_data["body"],
                    public=message_form.cleaned_data["visibility"] == Message.Visibility.PUBLIC,
                )
                formset.new_objects.append(message)

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
                "<path:object_id>/assign/",
                self.admin_site.admin_view(self.assign_view),
                name="reports_report_assign",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self.has_change_permission(request, obj):
            context["moves"] = [
                (move.value, TRANSITIONS[move].label) for move in allowed_staff_moves(obj)
            ]
            context["may_assign"] = True
        return super().render_change_form(request, context, add, change, form_url, obj)

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
        extra = {"report": report} if form_class is DuplicateForm else {}
        form = form_class(request.POST or None, **extra)
        if request.method == "POST" and form.is_valid():
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
        return self._render_move_form(
            request, report, f"{TRANSITIONS[move].label}: {report.public_id}", form
        )

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
