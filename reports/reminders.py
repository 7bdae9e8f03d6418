"""Deadlines that chase people: reminders before and at the due time, escalation past it, digests.

Each reminder goes out exactly once per deadline and stage. The sweep re-checks a deadline under
a row lock before it raises its stage, and writes the stage and the mail in one transaction: a
second sweep running at the same moment skips the row, and a sweep that dies mid-way rolls back
and leaves the work to the next one. The outbox's dedupe key is the last line of defence.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from reports import emails
from reports.models import Deadline, Report

Stage = Deadline.ReminderStage
SWEEP_BATCH_SIZE = 200


def _lead() -> timedelta:
    return timedelta(hours=settings.DEADLINE_REMINDER_LEAD_HOURS)


def _grace() -> timedelta:
    return timedelta(hours=settings.DEADLINE_ESCALATION_AFTER_HOURS)


def stage_due(deadline_due_at, now) -> int:
    """Return the reminder stage a deadline has reached at ``now``."""
    if now >= deadline_due_at + _grace():
        return Stage.ESCALATED
    if now >= deadline_due_at:
        return Stage.DUE
    if now >= deadline_due_at - _lead():
        return Stage.DUE_SOON
    return Stage.NONE


def _needing_reminder(now):
    # Matches the partial index reports_deadline_to_remind; each branch is a range on due_at.
    return Deadline.objects.filter(
        met_at__isnull=True, cancelled_at__isnull=True, paused_at__isnull=True
    ).filter(
        Q(due_at__lte=now - _grace(), last_reminder_stage__lt=Stage.ESCALATED)
        | Q(due_at__lte=now, last_reminder_stage__lt=Stage.DUE)
        | Q(due_at__lte=now + _lead(), last_reminder_stage__lt=Stage.DUE_SOON)
    )


@dataclass
class SweepResult:
    reminded: dict[int, int] = field(default_factory=lambda: {s.value: 0 for s in Stage})
    skipped: int = 0


def _remind(deadline_id: int, now) -> int | None:
    """Raise one deadline to the stage it has reached and send that reminder; return the stage."""
    with transaction.atomic():
        deadline = (
            Deadline.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("report__assignee")
            .filter(pk=deadline_id, met_at__isnull=True, cancelled_at__isnull=True)
            .filter(paused_at__isnull=True)
            .first()
        )
        if deadline is None:
            return None
        stage = stage_due(deadline.due_at, now)
        if stage <= deadline.last_reminder_stage:
            return None
        deadline.last_reminder_stage = stage
        deadline._change_reason = "deadline reminder sweep"
        deadline.save(update_fields=["last_reminder_stage"])
        emails.mail_deadline_reminder(deadline, stage)
        return stage


def send_deadline_reminders(*, now=None, batch_size: int = SWEEP_BATCH_SIZE) -> SweepResult:
    """Send every reminder and escalation that has come due, each exactly once."""
    now = now or timezone.now()
    result = SweepResult()
    candidates = _needing_reminder(now).order_by("due_at", "pk")
    cursor = None
    while True:
        page = candidates
        if cursor is not None:
            due_at, pk = cursor
            page = page.filter(Q(due_at__gt=due_at) | Q(due_at=due_at, pk__gt=pk))
        batch = list(page.values_list("due_at", "pk")[:batch_size])
        for _, deadline_id in batch:
            stage = _remind(deadline_id, now)
            if stage is None:
                result.skipped += 1
            else:
                result.reminded[stage] += 1
        if len(batch) < batch_size:
            return result
        cursor = batch[-1]


DIGEST_LIST_LIMIT = 20


@dataclass(frozen=True)
class DigestSection:
    title: str
    count: int
    items: list  # the first DIGEST_LIST_LIMIT reports or deadlines


@dataclass(frozen=True)
class Digest:
    sections: list[DigestSection]

    def is_empty(self) -> bool:
        return all(section.count == 0 for section in self.sections)


def _section(title, queryset) -> DigestSection:
    return DigestSection(title, queryset.count(), list(queryset[:DIGEST_LIST_LIMIT]))


def triage_digest(*, now=None) -> Digest:
    """What triagers should look at today: new, unassigned, due soon and overdue."""
    now = now or timezone.now()
    open_reports = Report.objects.exclude(
        status__in=[Report.Status.RESOLVED, Report.Status.CLOSED]
    ).order_by("received_at")
    open_deadlines = (
        Deadline.objects.filter(met_at__isnull=True, cancelled_at__isnull=True)
        .select_related("report")
        .order_by("due_at")
    )
    return Digest(
        [
            _section("New", open_reports.filter(received_at__gte=now - timedelta(days=1))),
            _section("Unassigned", open_reports.filter(assignee__isnull=True)),
            _section("Due soon", open_deadlines.filter(due_at__gte=now, due_at__lt=now + _lead())),
            _section("Overdue", open_deadlines.filter(due_at__lt=now)),
        ]
    )


def send_triage_digest(*, now=None) -> int:
    """Mail today's digest to every triager, once a day; nothing when there is nothing."""
    now = now or timezone.now()
    digest = triage_digest(now=now)
    if digest.is_empty():
        return 0
    with transaction.atomic():
        return emails.mail_triage_digest(digest, day=timezone.localdate(now))
