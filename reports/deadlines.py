"""Deadlines as rows: when each promise on a report falls due, and whether its clock runs.

A deadline of N business days falls due at the end of the Nth business day after the day the
clock starts, in the program's timezone. Business days skip weekends and the public holidays of
the program's country. These functions are steps inside the workflow services' transactions.
"""

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.utils import timezone

from bounty.models import Program, Severity
from reports.models import Deadline, Report

Kind = Deadline.Kind


@lru_cache(maxsize=32)
def _holiday_calendar(country: str, subdivision: str):
    return holidays.country_holidays(country, subdiv=subdivision or None)


def is_business_day(day: dt.date, program: Program) -> bool:
    return day.weekday() < 5 and day not in _holiday_calendar(program.country, program.subdivision)


def business_days_after(start: dt.datetime, days: int, program: Program) -> dt.datetime:
    """Return the end of the ``days``-th business day after the local day of ``start``."""
    zone = ZoneInfo(program.timezone)
    day = timezone.localtime(start, zone).date()
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if is_business_day(day, program):
            counted += 1
    end_of_day = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=zone)
    return end_of_day.astimezone(dt.UTC)


def _targets(report: Report, program: Program) -> dict[str, tuple[dt.datetime, int]]:
    """Map each deadline kind this report owes now to (clock start, business days)."""
    targets = {Kind.FIRST_RESPONSE: (report.received_at, program.first_response_business_days)}
    triage_severity: Severity | None = report.severity or (
        report.category.typical_severity if report.category else None
    )
    if triage_severity:
        targets[Kind.TRIAGE] = (report.received_at, triage_severity.triage_business_days)
    if report.triaged_at and report.severity:
        targets[Kind.RESOLUTION] = (report.triaged_at, report.severity.resolution_business_days)
        if program.bounties_enabled:
            targets[Kind.AWARD_DECISION] = (
                report.triaged_at,
                report.severity.award_decision_business_days,
            )
    return targets


def plan_deadlines(report: Report, program: Program) -> None:
    """Create the deadlines the report owes; recompute open ones (after a severity change)."""
    existing = {deadline.kind: deadline for deadline in report.deadlines.all()}
    now = timezone.now()
    for kind, (start, days) in _targets(report, program).items():
        due_at = business_days_after(start, days, program)
        deadline = existing.get(kind)
        if deadline is None:
            paused_at = now if report.status == Report.Status.NEEDS_INFO else None
            Deadline.objects.create(report=report, kind=kind, due_at=due_at, paused_at=paused_at)
        elif deadline.is_open and deadline.due_at != due_at:
            deadline.due_at = due_at
            deadline.last_reminder_stage = Deadline.ReminderStage.NONE
            deadline.save(update_fields=["due_at", "last_reminder_stage"])
    refresh_next_deadline(report)


def _open(report: Report):
    return report.deadlines.filter(met_at__isnull=True, cancelled_at__isnull=True)


def refresh_next_deadline(report: Report) -> None:
    """Copy the report's next running deadline onto the report, where the inbox reads it.

    Every function here that changes a deadline ends with this. It writes with ``update()`` so
    the bookkeeping makes no history row of its own.
    """
    running = _open(report).filter(paused_at__isnull=True).order_by("due_at")
    due_at, kind = running.values_list("due_at", "kind").first() or (None, "")
    if (report.next_deadline_at, report.next_deadline_kind) == (due_at, kind):
        return
    report.next_deadline_at, report.next_deadline_kind = due_at, kind
    Report.objects.filter(pk=report.pk).update(next_deadline_at=due_at, next_deadline_kind=kind)


def meet_deadlines(report: Report, *kinds: str) -> None:
    """Mark the open deadlines of these kinds as met now."""
    for deadline in _open(report).filter(kind__in=kinds):
        deadline.met_at = timezone.now()
        deadline.paused_at = None
        deadline.save(update_fields=["met_at", "paused_at"])
    refresh_next_deadline(report)


def cancel_open_deadlines(report: Report) -> None:
    """Stop the clocks of a report that no longer owes anything (closed)."""
    for deadline in _open(report):
        deadline.cancelled_at = timezone.now()
        deadline.save(update_fields=["cancelled_at"])
    refresh_next_deadline(report)


def reopen_deadlines(report: Report, *kinds: str, program: Program) -> None:
    """Restart deadlines of these kinds from now, as a reopened report owes them again."""
    now = timezone.now()
    for deadline in report.deadlines.filter(kind__in=kinds):
        start, days = _targets(report, program).get(deadline.kind, (None, None))
        if start is None:
            continue
        deadline.due_at = business_days_after(now, days, program)
        deadline.met_at = None
        deadline.cancelled_at = None
        deadline.paused_at = None
        deadline.last_reminder_stage = Deadline.ReminderStage.NONE
        deadline.save()
    refresh_next_deadline(report)


def pause_deadlines(report: Report) -> None:
    """Stop the clocks while the report waits for the researcher."""
    for deadline in _open(report).filter(paused_at__isnull=True):
        deadline.paused_at = timezone.now()
        deadline.save(update_fields=["paused_at"])
    refresh_next_deadline(report)


def resume_deadlines(report: Report) -> None:
    """Restart paused clocks, moving each due time on by the time spent waiting."""
    now = timezone.now()
    for deadline in _open(report).filter(paused_at__isnull=False):
        deadline.due_at += now - deadline.paused_at
        deadline.paused_at = None
        deadline.last_reminder_stage = Deadline.ReminderStage.NONE
        deadline.save(update_fields=["due_at", "paused_at", "last_reminder_stage"])
    refresh_next_deadline(report)
