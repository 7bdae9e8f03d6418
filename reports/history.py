"""A report's history as staff read it: one timeline of what happened to it, newest first.

It reads the rows that record each kind of event, not simple-history's diffs alone: the decisions
(``ReportStatusChange``: every status move with who, when and why, kept whatever audit retention
deletes), the report's history rows for the fields that changed, its deadlines' history rows,
and the thread: messages, a superuser's corrections and removals of them, attachments. What one
person did within one second is one moment, so a move, the fields it set, the deadlines it moved
and the message it sent read together.

Every source is read newest first and at most ``limit`` rows deep: the page costs the same
queries and rows for a report with three events as for one with three thousand. Where a source
was cut, the timeline stops where every source is still complete, and says from when it is.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import F, Field, Model, QuerySet, Window
from django.db.models.functions import Lag
from django.utils import formats, timezone
from django.utils.text import capfirst

from accounts.history import RESEARCHER_ACTOR, actor_label
from encryption.exceptions import DecryptionError
from encryption.fields import EncryptedFieldMixin
from reports.models import Deadline, Message, Report

HISTORY_LIMIT = 200
EMPTY = "—"

# Said by the decisions, each naming the move that set it, or stamped by the moves themselves.
_SAID_BY_DECISIONS = frozenset(
    {
        "status",
        "resolution",
        "status_before_info_request",
        "received_at",
        "acknowledged_at",
        "triaged_at",
        "resolved_at",
        "closed_at",
        "last_activity_at",
    }
)
_NEVER_CHANGE = frozenset({"id", "public_id", "row_key"})

# Related rows by the name staff know them by. Any other relation is named by its id alone: a
# row's string form may decrypt what it holds, such as a researcher's name or address.
_RELATED_NAMES: dict[str, Callable[[Model], str]] = {
    "category": lambda category: category.name,
    "severity": lambda severity: severity.name,
    "assignee": lambda user: user.email,
    "duplicate_of": lambda report: report.public_id,
}
_FIELD_LABELS = {"reporter": "Researcher"}

_DEADLINE_FIELDS = {
    "due_at": "Due",
    "met_at": "Met",
    "cancelled_at": "Not owed since",
    "paused_at": "Paused since",
    "last_reminder_stage": "Reminders",
}


@dataclass(frozen=True)
class Change:
    """One field's change; an encrypted field's is ``concealed``: it says only that it changed."""

    field: str
    old: str = ""
    new: str = ""
    concealed: bool = False
    note: str = ""


@dataclass(frozen=True)
class AttachedFile:
    id: int
    name: str
    content_type: str
    size: int


@dataclass(frozen=True)
class HistoryEntry:
    """One event: a status move, changed fields, a deadline's change, a message or a file."""

    STATUS = "status"
    CHANGE = "change"
    DEADLINE = "deadline"
    MESSAGE = "message"
    MESSAGE_CORRECTION = "message_correction"
    ATTACHMENT = "attachment"

    kind: str
    at: datetime
    actor: str
    title: str
    reason: str = ""
    changes: tuple[Change, ...] = ()
    # For the thread only: True if staff alone see it, False if the researcher does too.
    internal: bool | None = None
    text: str = ""
    file: AttachedFile | None = None


# Within a moment the move comes first, then what came with it.
_ORDER_IN_MOMENT = {
    kind: rank
    for rank, kind in enumerate(
        [
            HistoryEntry.STATUS,
            HistoryEntry.CHANGE,
            HistoryEntry.DEADLINE,
            HistoryEntry.MESSAGE,
            HistoryEntry.MESSAGE_CORRECTION,
            HistoryEntry.ATTACHMENT,
        ]
    )
}


@dataclass(frozen=True)
class Moment:
    """What one person did to the report within one second."""

    at: datetime
    actor: str
    entries: tuple[HistoryEntry, ...]


@dataclass(frozen=True)
class ReportHistory:
    moments: list[Moment]
    limit: int
    # Set when older entries exist that are not shown: the timeline is complete from then on.
    shown_since: datetime | None
    with_messages: bool
    with_attachments: bool


@dataclass(frozen=True)
class _Source:
    entries: list[HistoryEntry]
    complete_since: datetime | None = None


def report_history(
    report: Report, *, with_messages: bool, with_attachments: bool, limit: int = HISTORY_LIMIT
) -> ReportHistory:
    """Return the report's history, newest moment first, at most ``limit`` entries of it.

    Messages and attachments are read only for staff who may view them.
    """
    sources = [_decisions(report, limit), _field_changes(report, limit), _deadlines(report, limit)]
    if with_messages:
        sources += [_messages(report, limit), _message_corrections(report, limit)]
    if with_attachments:
        sources.append(_attachments(report, limit))
    since = max((s.complete_since for s in sources if s.complete_since), default=None)
    entries = [e for s in sources for e in s.entries if since is None or e.at >= since]
    entries.sort(key=lambda e: e.at, reverse=True)
    if len(entries) > limit:
        entries = entries[:limit]
        since = entries[-1].at
    entries.sort(key=_moment_key, reverse=True)
    return ReportHistory(
        moments=_moments(entries),
        limit=limit,
        shown_since=since,
        with_messages=with_messages,
        with_attachments=with_attachments,
    )


def _moment_key(entry: HistoryEntry):
    return (entry.at.replace(microsecond=0), entry.actor)


def _moments(entries: list[HistoryEntry]) -> list[Moment]:
    moments = []
    for (_, actor), group in itertools.groupby(entries, key=_moment_key):
        # Each source reads newest first; reversed, rows of one source stamped alike stay in
        # the order they were written.
        in_order = sorted(reversed(list(group)), key=lambda e: (_ORDER_IN_MOMENT[e.kind], e.at))
        ordered = _one_change_entry(in_order)
        moments.append(Moment(at=min(e.at for e in ordered), actor=actor, entries=tuple(ordered)))
    return moments


def _one_change_entry(entries: list[HistoryEntry]) -> list[HistoryEntry]:
    # A move saves the report more than once (its fields, then an assignment, say): in one
    # moment those read as one list of what changed.
    saves = [e for e in entries if e.kind == HistoryEntry.CHANGE]
    if len(saves) < 2:
        return entries
    merged = HistoryEntry(
        HistoryEntry.CHANGE,
        saves[0].at,
        saves[0].actor,
        saves[0].title,
        reason="\n".join(e.reason for e in saves if e.reason),
        changes=tuple(change for e in saves for change in e.changes),
    )
    first = next(i for i, e in enumerate(entries) if e.kind == HistoryEntry.CHANGE)
    others = [e for e in entries if e.kind != HistoryEntry.CHANGE]
    return [*others[:first], merged, *others[first:]]


def _newest(queryset: QuerySet, limit: int, when: Callable) -> tuple[list, datetime | None]:
    """Read at most ``limit`` rows, newest first; if there are more, say from when these are all."""
    rows = list(queryset[: limit + 1])
    if len(rows) > limit:
        return rows[:limit], when(rows[limit - 1])
    return rows, None


def _when(value: datetime | None) -> str:
    if value is None:
        return EMPTY
    return formats.date_format(timezone.localtime(value), "j M Y, H:i T")


def _status_label(status: str, resolution: str) -> str:
    label = Report.Status(status).label
    if resolution and status == Report.Status.CLOSED:
        return f"{label} ({Report.Resolution(resolution).label.lower()})"
    return label


def _decisions(report: Report, limit: int) -> _Source:
    rows, cut = _newest(report.status_changes.order_by("-at", "-pk"), limit, lambda d: d.at)
    entries = []
    for decision in rows:
        after = _status_label(decision.to_status, decision.resolution)
        if not decision.from_status:
            title = "Submitted"
        elif decision.from_status == decision.to_status:
            title = f"{after} again"
        else:
            title = f"{Report.Status(decision.from_status).label} → {after}"
        entries.append(
            HistoryEntry(
                HistoryEntry.STATUS, decision.at, decision.actor, title, reason=decision.reason
            )
        )
    return _Source(entries, cut)


def _diffed_report_fields() -> list[Field]:
    # Fields the history leaves out (the inbox's bookkeeping) have no versions to compare.
    recorded = {f.name for f in Report.history.model._meta.concrete_fields}
    skipped = _SAID_BY_DECISIONS | _NEVER_CHANGE
    return [f for f in Report._meta.concrete_fields if f.name in recorded and f.name not in skipped]


def _field_changes(report: Report, limit: int) -> _Source:
    fields = _diffed_report_fields()
    # One row more than shown: the version the oldest shown one is compared with.
    rows = list(
        Report.history.filter(id=report.pk)
        .select_related("history_user", *_RELATED_NAMES)
        .order_by("-history_date", "-history_id")[: limit + 1]
    )
    cut = None
    if len(rows) > limit and rows[-1].history_type != "+":
        cut = rows[limit - 1].history_date
    entries = []
    for newer, older in itertools.pairwise(rows):
        if newer.history_type == "-":
            continue
        changes = _report_changes(older, newer, fields)
        reason = newer.history_change_reason or ""
        if changes or reason:
            entries.append(
                HistoryEntry(
                    HistoryEntry.CHANGE,
                    newer.history_date,
                    actor_label(newer.history_user),
                    "Changed",
                    reason=reason,
                    changes=tuple(changes),
                )
            )
    return _Source(entries, cut)


def _report_changes(older, newer, fields: list[Field]) -> list[Change]:
    changes = []
    for field in fields:
        label = _FIELD_LABELS.get(field.name, capfirst(field.verbose_name))
        if isinstance(field, EncryptedFieldMixin):
            change = _encrypted_change(older, newer, field, label)
            if change is not None:
                changes.append(change)
        elif getattr(older, field.attname) != getattr(newer, field.attname):
            if field.is_relation:
                changes.append(Change(label, _related(older, field), _related(newer, field)))
            else:
                changes.append(Change(label, _value(older, field), _value(newer, field)))
    return changes


def _encrypted_change(older, newer, field: Field, label: str) -> Change | None:
    # Each history row seals its copy anew (a random nonce), so ciphertexts always differ: only
    # the plaintexts say whether the text changed. Decrypting a few hundred short values in
    # process costs milliseconds; the values are compared here and never shown.
    try:
        changed = getattr(older, field.attname) != getattr(newer, field.attname)
    except DecryptionError:
        return Change(
            label, concealed=True, note="cannot be compared: a stored version fails to decrypt"
        )
    return Change(label, concealed=True, note="changed") if changed else None


def _related(record, field: Field) -> str:
    pk = getattr(record, field.attname)
    if pk is None:
        return EMPTY
    name = _RELATED_NAMES.get(field.name)
    what = _FIELD_LABELS.get(field.name, field.related_model._meta.verbose_name).lower()
    if name is None:
        return f"{what} #{pk}"
    try:
        related = getattr(record, field.name)
    except ObjectDoesNotExist:
        related = None
    return name(related) if related is not None else f"deleted {what} #{pk}"


def _value(record, field: Field) -> str:
    value = getattr(record, field.attname)
    if value is None or value == "":
        return EMPTY
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, datetime):
        return _when(value)
    return str(value)


def _deadlines(report: Report, limit: int) -> _Source:
    # Each version beside the one before it, computed by the database for this report's rows
    # alone: one query, however many versions a deadline has.
    before = {
        f"was_{name}": Window(
            Lag(name),
            partition_by=[F("id")],
            order_by=[F("history_date").asc(), F("history_id").asc()],
        )
        for name in ["history_id", *_DEADLINE_FIELDS]
    }
    versions = (
        Deadline.history.filter(report_id=report.pk)
        .annotate(**before)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")
    )
    rows, cut = _newest(versions, limit, lambda v: v.history_date)
    entries = []
    for version in rows:
        kind = Deadline.Kind(version.kind).label
        if version.history_type == "+":
            title, changes = f"{kind} deadline set", [Change("Due", new=_when(version.due_at))]
        elif version.history_type == "-":
            title, changes = f"{kind} deadline removed", []
        elif version.was_history_id is None:
            # The version before it went with audit retention: nothing to compare it with.
            continue
        else:
            title = f"{kind} deadline"
            shown = [
                Change(
                    label,
                    _deadline_value(name, getattr(version, f"was_{name}")),
                    _deadline_value(name, getattr(version, name)),
                )
                for name, label in _DEADLINE_FIELDS.items()
            ]
            # Resuming moves the due time on by the pause, to the second: a shift the minutes
            # shown cannot tell is left out rather than shown as a change from a time to itself.
            changes = [change for change in shown if change.old != change.new]
            if not changes:
                continue
        entries.append(
            HistoryEntry(
                HistoryEntry.DEADLINE,
                version.history_date,
                actor_label(version.history_user),
                title,
                changes=tuple(changes),
            )
        )
    return _Source(entries, cut)


def _deadline_value(name: str, value) -> str:
    if name == "last_reminder_stage":
        return Deadline.ReminderStage(value).label
    return _when(value)


def _thread_title(message, internal: bool) -> str:
    if internal:
        return "Internal note"
    if actor_label(message.author) == RESEARCHER_ACTOR:
        return "Message from the researcher"
    return "Message to the researcher"


def _messages(report: Report, limit: int) -> _Source:
    messages = report.messages.select_related("author").order_by("-created_at", "-pk")
    rows, cut = _newest(messages, limit, lambda m: m.created_at)
    entries = []
    for message in rows:
        internal = message.visibility == Message.Visibility.INTERNAL
        entries.append(
            HistoryEntry(
                HistoryEntry.MESSAGE,
                message.created_at,
                actor_label(message.author),
                _thread_title(message, internal),
                internal=internal,
                text=message.body,
            )
        )
    return _Source(entries, cut)


def _message_corrections(report: Report, limit: int) -> _Source:
    # A correction or removal is a superuser's; what the message said before stays in its own
    # history page, not here: it may be the very secret that was taken out.
    versions = (
        Message.history.filter(report_id=report.pk, history_type__in=["~", "-"])
        .select_related("history_user", "author")
        .order_by("-history_date", "-history_id")
    )
    rows, cut = _newest(versions, limit, lambda v: v.history_date)
    entries = []
    for version in rows:
        internal = version.visibility == Message.Visibility.INTERNAL
        what = "removed" if version.history_type == "-" else "corrected"
        written = f"written {_when(version.created_at)} by {actor_label(version.author)}"
        entries.append(
            HistoryEntry(
                HistoryEntry.MESSAGE_CORRECTION,
                version.history_date,
                actor_label(version.history_user),
                f"Message {what} ({written})",
                reason=version.history_change_reason or "",
                internal=internal,
            )
        )
    return _Source(entries, cut)


def _attachments(report: Report, limit: int) -> _Source:
    attachments = report.attachments.select_related("uploaded_by", "message").order_by(
        "-created_at", "-pk"
    )
    rows, cut = _newest(attachments, limit, lambda a: a.created_at)
    entries = []
    for attachment in rows:
        # A file sent with an internal note is staff's only; the others the researcher sees.
        internal = (
            attachment.message is not None
            and attachment.message.visibility == Message.Visibility.INTERNAL
        )
        entries.append(
            HistoryEntry(
                HistoryEntry.ATTACHMENT,
                attachment.created_at,
                actor_label(attachment.uploaded_by),
                "Attachment",
                internal=internal,
                file=AttachedFile(
                    attachment.pk,
                    attachment.original_name,
                    attachment.content_type,
                    attachment.size,
                ),
            )
        )
    return _Source(entries, cut)
