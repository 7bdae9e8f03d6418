"""Read queries: the reporter portal's, where a researcher only ever reaches their own rows, and
staff's counts of promises kept late.

Every portal lookup starts from the signed-in user's reports, so another researcher's report
answers exactly like one that does not exist (404), and internal notes are never selected.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo

from allauth.account.models import EmailAddress
from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.history import RESEARCHER_ACTOR, SYSTEM_ACTOR
from reports.models import Attachment, Deadline, Message, Report, Reporter, ReportStatusChange

PUBLIC = Message.Visibility.PUBLIC


def researcher_reports(user) -> QuerySet[Report]:
    """Return the user's own reports, latest activity first, with their next promised date."""
    if not user.is_authenticated:
        return Report.objects.none()
    # The clock of a deadline that waits for the researcher (paused) promises nothing yet.
    next_due = (
        Deadline.objects.filter(
            report=OuterRef("pk"),
            met_at__isnull=True,
            cancelled_at__isnull=True,
            paused_at__isnull=True,
        )
        .order_by("due_at")
        .values("due_at")[:1]
    )
    return (
        Report.objects.filter(reporter__user=user)
        .select_related("severity")
        .annotate(next_due_at=Subquery(next_due))
        .order_by("-last_activity_at", "-pk")
    )


def report_for_researcher(user, public_id: str) -> Report:
    """Return the user's report with this public id; raise Http404 for any other."""
    # Not the original of a duplicate: that is another researcher's report (original_status).
    return get_object_or_404(
        researcher_reports(user).select_related("category"), public_id=public_id
    )


def original_status(report: Report) -> str:
    """Return the status of the report this one duplicates, as its researcher may read it.

    Only the status: the original is most likely another researcher's, so its title, id and
    contents are never read here. An original that was itself closed as a duplicate since is
    followed to the report that stands.
    """
    original_id, seen = report.duplicate_of_id, set()
    status = ""
    while original_id is not None and original_id not in seen:
        seen.add(original_id)
        original_id, to_status, resolution = (
            Report.objects.filter(pk=original_id)
            .values_list("duplicate_of_id", "status", "resolution")
            .get()
        )
        status = _status_label(to_status, resolution)
    return status.lower()


def researcher_reporter(user) -> Reporter | None:
    """Return the reporter record linked to the user's account, if there is one yet."""
    if not user.is_authenticated:
        return None
    return Reporter.objects.filter(user=user).first()


def has_verified_address(user) -> bool:
    """Say whether the account's address is verified, which it must be to get a reporter."""
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()


def visible_attachments(report: Report) -> QuerySet[Attachment]:
    """Return the files the researcher may see: the report's own and those of public messages."""
    return report.attachments.filter(
        Q(message__isnull=True) | Q(message__visibility=PUBLIC)
    ).order_by("created_at", "pk")


def submitted_attachments(report: Report) -> QuerySet[Attachment]:
    """Return the files that came with the report itself rather than with a message."""
    return report.attachments.filter(message__isnull=True).order_by("created_at", "pk")


def attachment_for_researcher(user, public_id: str, attachment_id: int) -> Attachment:
    """Return a file of the user's report; raise Http404 for any file they may not see."""
    report = report_for_researcher(user, public_id)
    return get_object_or_404(visible_attachments(report), pk=attachment_id)


def stored_attachment_bytes(report: Report) -> int:
    """Return how much the report's attachments take up, toward its limit."""
    return report.attachments.aggregate(total=Sum("size"))["total"] or 0


def next_open_deadline(report: Report) -> Deadline | None:
    """Return the next promise the desk has to keep on the report, if its clock runs."""
    return (
        report.deadlines.filter(
            met_at__isnull=True, cancelled_at__isnull=True, paused_at__isnull=True
        )
        .order_by("due_at")
        .first()
    )


def missed(now=None) -> Q:
    """Select the deadlines that were broken: met after they fell due, or still owed past due.

    A paused clock owes nothing while it waits for the researcher, unless it was already past
    due when it stopped. A deadline cancelled by closing its report is not owed any more.
    """
    now = now or timezone.now()
    still_owed = Q(met_at__isnull=True, cancelled_at__isnull=True)
    return Q(met_at__gt=F("due_at")) | (
        still_owed & (Q(paused_at__isnull=True, due_at__lt=now) | Q(due_at__lt=F("paused_at")))
    )


def month_of(moment: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """Return the start of the calendar month holding ``moment`` in ``zone``, and of the next."""
    local = timezone.localtime(moment, zone).date().replace(day=1)
    following = local.replace(year=local.year + local.month // 12, month=local.month % 12 + 1)
    return (
        datetime.combine(local, time.min, zone),
        datetime.combine(following, time.min, zone),
    )


def deadlines_missed_in_month(
    zone: tzinfo, now=None, *, months_back: int = 0, among: QuerySet | None = None
) -> QuerySet[Deadline]:
    """Return the deadlines due in this calendar month of ``zone`` (or ``months_back`` months
    before it) that were broken by ``now``. ``among`` narrows the choice (the admin's queryset)."""
    now = now or timezone.now()
    start, end = month_of(now, zone)
    for _ in range(months_back):
        start, end = month_of(start - timedelta(days=1), zone)
    deadlines = Deadline.objects.all() if among is None else among
    return deadlines.filter(missed(now), due_at__gte=start, due_at__lt=end)


@dataclass(frozen=True)
class TimelineEntry:
    """One moment on a report's public timeline: its submission, a move, or a message."""

    SUBMITTED = "submitted"
    MOVE = "move"
    MESSAGE = "message"

    BY_RESEARCHER = "researcher"
    BY_STAFF = "staff"
    BY_SYSTEM = "system"

    kind: str
    at: datetime
    status: str = ""
    decided_by: str = ""
    message: Message | None = None
    attachments: list[Attachment] = field(default_factory=list)


def _status_label(status: str, resolution: str) -> str:
    label = Report.Status(status).label
    if status == Report.Status.CLOSED and resolution:
        return f"{label} as {Report.Resolution(resolution).label.lower()}"
    return label


def _status_moves(report: Report) -> list[TimelineEntry]:
    # The decisions are kept as long as the report, whatever audit retention deletes. A move
    # that kept the status (a second triage) and the submission are not status changes here.
    # The reasons are staff's words, never shown here: not read, not decrypted.
    changes = report.status_changes.exclude(from_status="").defer("reason")
    return [
        TimelineEntry(
            TimelineEntry.MOVE,
            change.at,
            status=_status_label(change.to_status, change.resolution),
            decided_by=_decided_by(change),
        )
        for change in changes
        if change.from_status != change.to_status
    ]


def _decided_by(change: ReportStatusChange) -> str:
    # The researcher learns whether they, the security team or the desk itself moved the
    # report, never which member of staff: that stays in the admin.
    if change.actor == SYSTEM_ACTOR:
        return TimelineEntry.BY_SYSTEM
    if change.actor == RESEARCHER_ACTOR:
        return TimelineEntry.BY_RESEARCHER
    return TimelineEntry.BY_STAFF


def public_timeline(report: Report) -> list[TimelineEntry]:
    """Return the report's submission, status moves and public messages, oldest first."""
    messages = (
        report.messages.filter(visibility=PUBLIC)
        .select_related("author")
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "pk"))
        )
    )
    entries = [TimelineEntry(TimelineEntry.SUBMITTED, report.received_at)]
    entries += _status_moves(report)
    entries += [
        TimelineEntry(
            TimelineEntry.MESSAGE,
            message.created_at,
            message=message,
            attachments=list(message.attachments.all()),
        )
        for message in messages
    ]
    # A move and the message that announces it are written a moment apart, the message first;
    # within the same second the move is shown first, then the words that came with it.
    order = {TimelineEntry.SUBMITTED: 0, TimelineEntry.MOVE: 1, TimelineEntry.MESSAGE: 2}
    return sorted(entries, key=lambda entry: (entry.at.replace(microsecond=0), order[entry.kind]))


def report_awards(report: Report):
    """Return the report's awards with their payouts, oldest first."""
    return report.awards.select_related("payout").order_by("proposed_at", "pk")
