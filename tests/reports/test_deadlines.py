"""Deadlines count business days in the program's timezone, skip holidays, pause and recompute."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from bounty.models import Program, Severity
from reports import services
from reports.deadlines import business_days_after
from reports.models import Deadline

pytestmark = pytest.mark.django_db

Kind = Deadline.Kind
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
BERLIN = ZoneInfo("Europe/Berlin")


def _program(country="US", tz="America/Los_Angeles"):
    return Program(country=country, timezone=tz)


def test_a_friday_evening_report_before_a_monday_holiday_is_due_a_week_later_on_monday():
    # Friday 4 September 2026, 20:00 in Los Angeles; Monday 7 September is Labor Day.
    received = dt.datetime(2026, 9, 4, 20, 0, tzinfo=LOS_ANGELES)

    due = business_days_after(received, 5, _program())

    # Tue 8, Wed 9, Thu 10, Fri 11, Mon 14: the end of Monday 14 September, local time.
    assert due == dt.datetime(2026, 9, 14, 23, 59, 59, tzinfo=LOS_ANGELES)


def test_the_day_of_receipt_is_the_programs_local_day_not_the_utc_day():
    # 00:30 on Tuesday 3 March in Berlin is still Monday 2 March in UTC.
    received = dt.datetime(2026, 3, 3, 0, 30, tzinfo=BERLIN)
    assert received.astimezone(dt.UTC).date() == dt.date(2026, 3, 2)

    due = business_days_after(received, 5, _program("DE", "Europe/Berlin"))

    assert due == dt.datetime(2026, 3, 10, 23, 59, 59, tzinfo=BERLIN)


def test_a_report_received_on_saturday_counts_from_monday():
    received = dt.datetime(2026, 6, 6, 11, 0, tzinfo=LOS_ANGELES)

    due = business_days_after(received, 5, _program())

    assert due.astimezone(LOS_ANGELES).date() == dt.date(2026, 6, 12)


def test_holidays_of_another_country_are_business_days():
    # 3 October is German Unity Day, a working day in the United States.
    received = dt.datetime(2024, 10, 2, 9, 0, tzinfo=LOS_ANGELES)

    us_due = business_days_after(received, 1, _program())
    de_due = business_days_after(received, 1, _program("DE", "America/Los_Angeles"))

    assert us_due.astimezone(LOS_ANGELES).date() == dt.date(2024, 10, 3)
    assert de_due.astimezone(LOS_ANGELES).date() == dt.date(2024, 10, 4)


def test_a_new_report_owes_a_first_response_within_the_programs_target(submit, program):
    received = dt.datetime(2026, 9, 4, 20, 0, tzinfo=LOS_ANGELES)

    report = submit(received_at=received)

    first = report.deadlines.get(kind=Kind.FIRST_RESPONSE)
    assert first.due_at == dt.datetime(2026, 9, 14, 23, 59, 59, tzinfo=LOS_ANGELES)


def test_a_new_report_owes_triage_by_its_categorys_typical_severity(submit):
    received = dt.datetime(2026, 9, 8, 10, 0, tzinfo=LOS_ANGELES)

    report = submit(received_at=received)  # P1: typically High, triage within 2 business days

    triage = report.deadlines.get(kind=Kind.TRIAGE)
    assert triage.due_at.astimezone(LOS_ANGELES).date() == dt.date(2026, 9, 10)


def test_acknowledging_meets_the_first_response_deadline(submit, triager):
    report = submit()

    services.acknowledge_report(report, acting_user=triager)

    assert report.deadlines.get(kind=Kind.FIRST_RESPONSE).met_at is not None
    assert report.deadlines.get(kind=Kind.TRIAGE).met_at is None


def test_triage_meets_its_deadline_and_starts_award_and_resolution_clocks(submit, triager):
    report = submit()
    services.acknowledge_report(report, acting_user=triager)

    services.triage_report(report, acting_user=triager, severity=Severity.objects.get(name="High"))

    kinds = {d.kind: d for d in report.deadlines.all()}
    assert kinds[Kind.TRIAGE].met_at is not None
    assert set(kinds) == {Kind.FIRST_RESPONSE, Kind.TRIAGE, Kind.AWARD_DECISION, Kind.RESOLUTION}


def test_a_severity_change_recomputes_the_open_deadlines(submit, triager):
    report = submit()
    services.acknowledge_report(report, acting_user=triager)
    services.triage_report(report, acting_user=triager, severity=Severity.objects.get(name="Low"))
    low_due = report.deadlines.get(kind=Kind.RESOLUTION).due_at

    services.triage_report(
        report, acting_user=triager, severity=Severity.objects.get(name="Critical")
    )

    critical_due = report.deadlines.get(kind=Kind.RESOLUTION).due_at
    report.refresh_from_db()
    assert critical_due == business_days_after(report.triaged_at, 15, Program.objects.get())
    assert critical_due < low_due


def test_a_disclosure_only_program_owes_no_award_decision(submit, triager, program):
    program.bounties_enabled = False
    program.save()
    report = submit()
    services.acknowledge_report(report, acting_user=triager)

    services.triage_report(report, acting_user=triager, severity=Severity.objects.get(name="High"))

    assert not report.deadlines.filter(kind=Kind.AWARD_DECISION).exists()


def test_waiting_for_the_researcher_pauses_the_clock(submit, triager, researcher):
    report = submit()
    services.acknowledge_report(report, acting_user=triager)
    due_before = report.deadlines.get(kind=Kind.TRIAGE).due_at
    services.request_information(report, acting_user=triager, question="Which version?")
    triage = report.deadlines.get(kind=Kind.TRIAGE)
    assert triage.paused_at is not None
    # The researcher takes three days to answer.
    Deadline.objects.filter(pk=triage.pk).update(paused_at=timezone.now() - dt.timedelta(days=3))

    services.add_researcher_reply(report, acting_user=researcher, body="1.40.2")

    triage.refresh_from_db()
    assert triage.paused_at is None
    shift = triage.due_at - due_before
    assert dt.timedelta(days=3) <= shift < dt.timedelta(days=3, seconds=30)


def test_closing_stops_the_clocks_without_calling_them_met(submit, triager):
    report = submit()

    services.close_report(report, acting_user=triager, resolution="spam")

    triage = report.deadlines.get(kind=Kind.TRIAGE)
    assert triage.cancelled_at is not None and triage.met_at is None
    assert report.deadlines.get(kind=Kind.FIRST_RESPONSE).met_at is not None


def test_resolving_meets_the_resolution_deadline(submit, triager):
    report = submit()
    services.acknowledge_report(report, acting_user=triager)
    services.triage_report(report, acting_user=triager, severity=Severity.objects.get(name="Low"))

    services.resolve_report(report, acting_user=triager)

    assert report.deadlines.get(kind=Kind.RESOLUTION).met_at is not None
