"""What staff read on a report's page: the whole conversation and the state of every promise.

The staff side sees internal notes; the researcher's side (``reports.selectors``) never selects
them. Everything here is read in a fixed number of queries, however long the thread.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from reports.inbox import DUE_SOON
from reports.models import Attachment, Deadline, Message, Report

INTERNAL = Message.Visibility.INTERNAL


@dataclass(frozen=True)
class ThreadEntry:
    """One message of the conversation, with the files posted with it."""

    message: Message
    author: str
    by_researcher: bool
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def internal(self) -> bool:
        return self.message.visibility == INTERNAL

    @property
    def at(self) -> datetime:
        return self.message.created_at


def _author(message: Message, report: Report) -> tuple[str, bool]:
    if message.by_researcher or (
        message.author_id is not None and message.author_id == report.reporter.user_id
    ):
        return f"{report.reporter} (researcher)", True
    if message.author_id is None:
        return "The desk", False
    return message.author.email, False


def staff_thread(report: Report, *, with_files: bool = True) -> list[ThreadEntry]:
    """Return every message on the report, internal notes included, oldest first."""
    messages = report.messages.select_related("author").order_by("created_at", "pk")
    if with_files:
        messages = messages.prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "pk"))
        )
    entries = []
    for message in messages:
        author, by_researcher = _author(message, report)
        files = list(message.attachments.all()) if with_files else []
        entries.append(ThreadEntry(message, author, by_researcher, files))
    return entries


def submitted_files(report: Report) -> list[Attachment]:
    """Return the files that came with the report itself."""
    return list(report.attachments.filter(message__isnull=True).order_by("created_at", "pk"))


@dataclass(frozen=True)
class DeadlineState:
    """A promise on the report, and how it stands now."""

    deadline: Deadline
    state: str  # met, not-owed, paused, overdue, due-soon, on-time
    text: str


def deadline_state(deadline: Deadline, now=None) -> DeadlineState:
    now = now or timezone.now()
    if deadline.met_at:
        late = deadline.met_at > deadline.due_at
        return DeadlineState(deadline, "met", "met late" if late else "met on time")
    if deadline.cancelled_at:
        return DeadlineState(deadline, "not-owed", "not owed: the report was closed")
    if deadline.paused_at:
        return DeadlineState(deadline, "paused", "paused: waiting for the researcher")
    if deadline.due_at < now:
        return DeadlineState(
            deadline, "overdue", f"overdue by {timesince(deadline.due_at, now, depth=2)}"
        )
    state = "due-soon" if deadline.due_at - now < DUE_SOON else "on-time"
    return DeadlineState(deadline, state, f"{timeuntil(deadline.due_at, now, depth=2)} left")


def deadline_states(report: Report) -> list[DeadlineState]:
    now = timezone.now()
    return [deadline_state(deadline, now) for deadline in report.deadlines.order_by("due_at")]
