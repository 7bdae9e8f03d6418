"""Saved replies: the program's canned answers, offered to staff and filled in for one report."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from accounts.history import audited
from accounts.models import User
from bounty.models import Program
from reports.models import Report, SavedReply
from reports.placeholders import fill_placeholders

ANONYMOUS_RESEARCHER = "researcher"


def active_saved_replies() -> QuerySet[SavedReply]:
    """Return the saved replies offered when writing on a report, by name."""
    return SavedReply.objects.filter(is_active=True).order_by("name", "pk")


def placeholder_values(report: Report) -> dict[str, str]:
    """Return what each placeholder stands for on this report.

    Only what the report's own researcher may read: a saved reply starts a message to them.
    """
    return {
        "researcher_name": report.reporter.display_name or ANONYMOUS_RESEARCHER,
        "report_id": report.public_id,
        "report_title": report.title,
        "program_name": Program.objects.values_list("name", flat=True).first() or "",
    }


def render_saved_reply(saved_reply: SavedReply, report: Report) -> str:
    """Return the saved reply's text with its placeholders filled in for the report."""
    return fill_placeholders(saved_reply.body, placeholder_values(report))


@audited
def save_saved_reply(saved_reply: SavedReply, *, acting_user: User) -> SavedReply:
    """Check and save a new or changed saved reply, naming who wrote it."""
    action = "change" if saved_reply.pk else "add"
    if not acting_user.has_perm(f"reports.{action}_savedreply"):
        raise PermissionDenied("Saved replies are the program admins' to write.")
    saved_reply.full_clean()
    if saved_reply.pk is None:
        saved_reply.created_by = acting_user
    saved_reply.updated_by = acting_user
    saved_reply.save()
    return saved_reply
