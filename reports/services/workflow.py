"""The moves of a report through its life: one function per use case, each one transaction.

Each move checks the transition table, stamps who and when, records the decision (a
``ReportStatusChange`` that outlives audit retention), leaves a message on the report,
updates its deadlines and queues mail through the outbox, all or nothing. Admin actions, the
portal, mail intake and tasks call these functions; nothing else writes a report's status.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.history import RESEARCHER_ACTOR, actor_label, audited
from accounts.models import User
from bounty.models import Category, Severity
from bounty.selectors import current_program
from reports import deadlines, emails
from reports.cvss import score_vector
from reports.models import Message, Report, Reporter, ReportStatusChange
from reports.transitions import Move, target_status

Kind = deadlines.Kind
News = emails.ResearcherNews
Resolution = Report.Resolution

CLOSING_RESOLUTIONS = frozenset(
    {
        Resolution.INFORMATIVE,
        Resolution.NOT_APPLICABLE,
        Resolution.OUT_OF_SCOPE,
        Resolution.SPAM,
        Resolution.WONT_FIX,
    }
)


@dataclass(frozen=True)
class Submission:
    """What a researcher submits; the portal form and mail intake both produce one."""

    title: str
    description: str
    steps_to_reproduce: str
    category: Category | None = None
    affected_asset: str = ""
    affected_version: str = ""
    impact: str = ""
    cvss_vector: str = ""


def _locked(report: Report) -> Report:
    # Re-read under a row lock so two staff acting at once cannot both move the same report.
    return (
        Report.objects.select_for_update(of=("self",))
        .select_related("reporter", "severity")
        .get(pk=report.pk)
    )


def _record(
    report: Report,
    *,
    author: User | None,
    body: str,
    public: bool,
    now=None,
    news: News = News.NEW_MESSAGE,
) -> Message:
    """Leave a message on the report; a public one mails the researcher what happened."""
    if public and author is not None and author.is_staff and report.awaiting_staff_since:
        # Staff have written back: the researcher's last word is answered.
        report.awaiting_staff_since = None
        report.save(update_fields=["awaiting_staff_since"])
    message = Message.objects.create(
        report=report,
        author=author,
        body=body,
        visibility=Message.Visibility.PUBLIC if public else Message.Visibility.INTERNAL,
        created_at=now or timezone.now(),
    )
    if public:
        emails.mail_researcher_news(report, message, news)
    return message


def _move(
    report: Report,
    move: Move,
    *,
    acting_user: User | None,
    now,
    reason: str = "",
    actor: str | None = None,
    **fields,
) -> None:
    previous = report.status
    report.status = target_status(report, move)
    report.last_activity_at = now
    for name, value in fields.items():
        setattr(report, name, value)
    took_it = _take_if_unassigned(report, acting_user)
    report.save()
    _record_decision(report, previous, acting_user=acting_user, at=now, reason=reason, actor=actor)
    if took_it:
        _note_taken(report, acting_user, now)


def _take_if_unassigned(report: Report, acting_user: User | None) -> bool:
    """Give an unassigned report to the member of staff acting on it; say whether it was."""
    if report.assignee_id is not None or acting_user is None or not acting_user.is_staff:
        return False
    report.assignee = acting_user
    return True


def _note_taken(report: Report, acting_user: User, now) -> None:
    _record(
        report,
        author=acting_user,
        body=f"Assigned to {acting_user.email}, who acted on the report while it had no assignee.",
        public=False,
        now=now,
    )


def _record_decision(
    report: Report, previous: str, *, acting_user: User | None, at, reason, actor=None
):
    ReportStatusChange.objects.create(
        report=report,
        from_status=previous,
        to_status=report.status,
        resolution=report.resolution,
        acting_user=acting_user,
        actor=actor or actor_label(acting_user),
        at=at,
        reason=reason,
    )


def _require_text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(f"{what} is required.", code="required")
    return value


@audited
def submit_report(
    *,
    reporter: Reporter,
    submission: Submission,
    acting_user: User | None,
    received_at=None,
    channel: str = Report.Channel.PORTAL,
    refused_files=(),
    acknowledge: bool = True,
) -> Report:
    """Record a new report, start its deadlines and acknowledge receipt to the researcher.

    ``refused_files`` (reports.attachments.RefusedUpload) are files that came with a mailed
    report and were not taken: the acknowledgement says so. Mail intake withholds the
    acknowledgement (``acknowledge=False``) where answering could start a mail loop.
    """
    program = current_program()
    vector = submission.cvss_vector.strip()
    score = score_vector(vector) if vector else None
    now = timezone.now()
    report = Report.objects.create(
        reporter=reporter,
        title=_require_text(submission.title, "A title"),
        category=submission.category,
        affected_asset=submission.affected_asset,
        affected_version=submission.affected_version,
        description=_require_text(submission.description, "A description"),
        steps_to_reproduce=_require_text(submission.steps_to_reproduce, "Steps to reproduce"),
        impact=submission.impact,
        cvss_vector=score.vector if score else "",
        cvss_score=score.base_score if score else None,
        received_at=received_at or now,
        channel=channel,
        last_activity_at=now,
    )
    _record_decision(report, "", acting_user=acting_user, at=report.received_at, reason="")
    deadlines.plan_deadlines(report, program)
    if acknowledge:
        emails.mail_report_received(report, program, refused_files=refused_files)
    emails.mail_new_report_to_triagers(report)
    return report


@audited
def acknowledge_report(report: Report, *, acting_user: User, message: str = "") -> Report:
    """Tell the researcher a person has read the report: the first response."""
    report = _locked(report)
    now = timezone.now()
    _move(
        report,
        Move.ACKNOWLEDGE,
        acting_user=acting_user,
        now=now,
        reason=message.strip(),
        acknowledged_at=now,
    )
    deadlines.meet_deadlines(report, Kind.FIRST_RESPONSE)
    _record(
        report,
        author=acting_user,
        body=message.strip() or "Your report has been acknowledged. We are looking into it.",
        public=True,
        now=now,
        news=News.ACKNOWLEDGED,
    )
    return report


@audited
def request_information(report: Report, *, acting_user: User, question: str) -> Report:
    """Ask the researcher a question; the report's clocks wait for the answer."""
    question = _require_text(question, "The question")
    report = _locked(report)
    now = timezone.now()
    previous = report.status
    _move(
        report,
        Move.REQUEST_INFORMATION,
        acting_user=acting_user,
        now=now,
        reason=question,
        status_before_info_request=previous,
    )
    if report.acknowledged_at is None:
        report.acknowledged_at = now
        report.save(update_fields=["acknowledged_at"])
    # A question is a response: it meets the first-response promise.
    deadlines.meet_deadlines(report, Kind.FIRST_RESPONSE)
    deadlines.pause_deadlines(report)
    _record(
        report,
        author=acting_user,
        body=question,
        public=True,
        now=now,
        news=News.NEEDS_INFORMATION,
    )
    return report


@audited
def add_researcher_reply(report: Report, *, acting_user: User, body: str) -> Message:
    """Record the researcher's message; an answer returns the report to where it was."""
    body = _require_text(body, "A message")
    report = _locked(report)
    if report.reporter.user_id != acting_user.pk:
        raise PermissionDenied("Only the researcher who reported it may reply as the researcher.")
    return _researcher_wrote(report, author=acting_user, body=body)


def _researcher_wrote(report: Report, *, author: User | None, body: str) -> Message:
    """Record a message the caller has established is the locked report's researcher's."""
    now = timezone.now()
    if report.status == Report.Status.NEEDS_INFO:
        _move(
            report,
            Move.ANSWER_INFORMATION_REQUEST,
            acting_user=author,
            now=now,
            # By mail a researcher may have no account, and is still not "the system".
            actor=RESEARCHER_ACTOR,
            status_before_info_request="",
        )
        deadlines.resume_deadlines(report)
    else:
        report.last_activity_at = now
        report.save(update_fields=["last_activity_at"])
    # The oldest unanswered word counts: a second reply does not move the mark.
    if report.awaiting_staff_since is None:
        report.awaiting_staff_since = now
        report.save(update_fields=["awaiting_staff_since"])
    message = Message.objects.create(
        report=report,
        author=author,
        body=body,
        visibility=Message.Visibility.PUBLIC,
        by_researcher=True,
    )
    emails.mail_researcher_replied(report)
    return message


@audited
def triage_report(
    report: Report,
    *,
    acting_user: User,
    severity: Severity,
    category: Category | None = None,
    cvss_vector: str = "",
    message: str = "",
) -> Report:
    """Set category, severity and CVSS; a new severity recomputes the open deadlines."""
    vector = cvss_vector.strip()
    score = score_vector(vector) if vector else None
    report = _locked(report)
    now = timezone.now()
    first_triage = report.triaged_at is None
    _move(
        report,
        Move.TRIAGE,
        acting_user=acting_user,
        now=now,
        reason=f"Severity {severity.name}" + (f", CVSS {score.vector}" if score else ""),
        severity=severity,
        category=category or report.category,
        cvss_vector=score.vector if score else "",
        cvss_score=score.base_score if score else None,
        triaged_at=report.triaged_at or now,
    )
    deadlines.meet_deadlines(report, Kind.FIRST_RESPONSE, Kind.TRIAGE)
    deadlines.plan_deadlines(report, current_program())
    public_note = message.strip() or (
        f"Your report has been triaged with severity {severity.name}."
        if first_triage
        else f"The severity of your report is now {severity.name}."
    )
    _record(
        report,
        author=acting_user,
        body=public_note,
        public=True,
        now=now,
        news=News.TRIAGED if first_triage else News.REASSESSED,
    )
    return report


def _root_original(original: Report) -> Report:
    original = Report.objects.get(pk=original.pk)
    seen = set()
    while original.duplicate_of_id is not None and original.pk not in seen:
        seen.add(original.pk)
        original = original.duplicate_of
    return original


@audited
def mark_duplicate(
    report: Report, *, acting_user: User, original: Report, message: str = ""
) -> Report:
    """Close as a duplicate of an earlier report, whose status alone its researcher sees.

    ``message`` is added to the standard public wording, for the researcher.
    """
    report = _locked(report)
    original = _root_original(original)
    if original.pk == report.pk:
        raise ValidationError("A report cannot duplicate itself.", code="self_duplicate")
    now = timezone.now()
    _move(
        report,
        Move.MARK_DUPLICATE,
        acting_user=acting_user,
        now=now,
        reason=f"Duplicate of {original.public_id}",
        resolution=Resolution.DUPLICATE,
        duplicate_of=original,
        closed_at=now,
        acknowledged_at=report.acknowledged_at or now,
    )
    deadlines.meet_deadlines(report, Kind.FIRST_RESPONSE)
    deadlines.cancel_open_deadlines(report)
    _record(
        report,
        author=acting_user,
        # The original is another researcher's: its status is all this one learns of it.
        body="This report duplicates an earlier report, which is "
        f"{original.get_status_display().lower()}."
        + (f"\n\n{message.strip()}" if message.strip() else ""),
        public=True,
        now=now,
        news=News.CLOSED_AS_DUPLICATE,
    )
    _record(
        report,
        author=acting_user,
        body=f"Marked as a duplicate of {original.public_id} ({original.title}).",
        public=False,
        now=now,
    )
    return report


@audited
def resolve_report(report: Report, *, acting_user: User, message: str = "") -> Report:
    """Record that the vulnerability is fixed."""
    report = _locked(report)
    now = timezone.now()
    _move(
        report,
        Move.RESOLVE,
        acting_user=acting_user,
        now=now,
        reason=message.strip(),
        resolution=Resolution.FIXED,
        resolved_at=now,
    )
    deadlines.meet_deadlines(report, Kind.RESOLUTION)
    _record(
        report,
        author=acting_user,
        body=message.strip() or "The vulnerability you reported has been fixed. Thank you.",
        public=True,
        now=now,
        news=News.RESOLVED,
    )
    return report


@audited
def close_report(
    report: Report, *, acting_user: User, resolution: str, message: str = ""
) -> Report:
    """Close an open report with one of the closing resolutions, saying why."""
    if resolution not in CLOSING_RESOLUTIONS:
        raise ValidationError(
            f"Close with one of: {', '.join(sorted(CLOSING_RESOLUTIONS))}; "
            "use mark_duplicate for duplicates and resolve for fixes.",
            code="invalid_resolution",
        )
    report = _locked(report)
    now = timezone.now()
    _move(
        report,
        Move.CLOSE,
        acting_user=acting_user,
        now=now,
        reason=message.strip(),
        resolution=resolution,
        closed_at=now,
        acknowledged_at=report.acknowledged_at or now,
    )
    deadlines.meet_deadlines(report, Kind.FIRST_RESPONSE)
    deadlines.cancel_open_deadlines(report)
    label = Resolution(resolution).label.lower()
    _record(
        report,
        author=acting_user,
        body=message.strip() or f"This report has been closed as {label}.",
        public=True,
        now=now,
        news=News.CLOSED,
    )
    return report


@audited
def reopen_report(report: Report, *, acting_user: User, reason: str) -> Report:
    """Open a resolved or closed report again, back where its work had got to."""
    reason = _require_text(reason, "A reason")
    report = _locked(report)
    now = timezone.now()
    _move(
        report,
        Move.REOPEN,
        acting_user=acting_user,
        now=now,
        reason=reason,
        resolution=Resolution.NONE,
        duplicate_of=None,
        resolved_at=None,
        closed_at=None,
    )
    kinds = (
        [Kind.RESOLUTION, Kind.AWARD_DECISION]
        if report.status == Report.Status.TRIAGED
        else [Kind.TRIAGE]
    )
    deadlines.reopen_deadlines(report, *kinds, program=current_program())
    _record(report, author=acting_user, body=reason, public=True, now=now, news=News.REOPENED)
    return report


@audited
def assign_report(report: Report, *, acting_user: User, assignee: User | None) -> Report:
    """Give the report to a staff member (or to nobody), telling them by mail."""
    if assignee is not None and not assignee.is_staff:
        raise ValidationError("Reports are assigned to staff only.", code="not_staff")
    report = _locked(report)
    if report.assignee_id == (assignee.pk if assignee else None):
        return report
    report.assignee = assignee
    report.save(update_fields=["assignee"])
    _record(
        report,
        author=acting_user,
        body=f"Assigned to {assignee.email}." if assignee else "Unassigned.",
        public=False,
    )
    if assignee is not None and assignee != acting_user:
        emails.mail_report_assigned(report)
    return report


@audited
def add_staff_message(report: Report, *, acting_user: User, body: str, public: bool) -> Message:
    """Write to the researcher (public) or leave a note for staff (internal)."""
    body = _require_text(body, "A message")
    report = _locked(report)
    now = timezone.now()
    report.last_activity_at = now
    # Writing to the researcher is acting on the report; an internal note is not.
    took_it = public and _take_if_unassigned(report, acting_user)
    report.save(update_fields=["last_activity_at", "assignee"])
    if took_it:
        _note_taken(report, acting_user, now)
    if public:
        deadlines.meet_deadlines(report, Kind.FIRST_RESPONSE)
    return _record(report, author=acting_user, body=body, public=public, now=now)
