"""The report's history page: one timeline of decisions, changes, deadlines and the thread.

``ReportAdmin`` takes this mixin before ``SimpleHistoryAdmin``: the stock page lists raw diffs of
the report row only, which miss every status move (not an editable field) and the whole thread.
"""

from django.conf import settings
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils import timezone

from audit.admin import ReadableHistoryMixin
from reports.history import HISTORY_LIMIT, report_history
from reports.models import Attachment, Message


class ReportHistoryMixin(ReadableHistoryMixin):
    object_history_template = "admin/reports/report/object_history.html"
    history_limit = HISTORY_LIMIT

    def history_view(self, request, object_id, extra_context=None):
        """Show the report's history to staff who may view the report."""
        report = self.get_object(request, unquote(object_id))
        if report is None:
            raise Http404("No such report.")
        if not self.has_view_history_or_change_history_permission(request, report):
            raise PermissionDenied
        site = self.admin_site
        # The thread is shown as the report page shows it: to those who may view messages
        # and attachments (finance may view reports, not their threads).
        history = report_history(
            report,
            with_messages=site.get_model_admin(Message).has_view_permission(request),
            with_attachments=site.get_model_admin(Attachment).has_view_permission(request),
            limit=self.history_limit,
        )
        request.current_app = site.name
        context = {
            **site.each_context(request),
            "title": f"History: {report.public_id}",
            "subtitle": report.title,
            "opts": self.opts,
            "object": report,
            "history": history,
            "time_zone_name": timezone.get_current_timezone_name(),
            "retention_days": settings.AUDIT_RETENTION_DAYS,
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.object_history_template, context)
