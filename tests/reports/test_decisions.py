"""Every move of a report records one decision (from, to, who, when, why) in the move's own
transaction; the admin shows them; a backfill rebuilds them from history for older desks."""

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from bounty.models import Severity
from reports import emails, services
from reports.models import Report, ReportStatusChange
from reports.transitions import IllegalMove
from tests.audit.decisions import decision_rows

pytestmark = pytest.mark.django_db

S = Report.Status


def _high():
    return Severity.objects.get(name="High")


def _acknowledged(report, triager, researcher):
    services.acknowledge_report(report, acting_user=triager)


def _asked(report, triager, researcher):
    services.request_information(report, acting_user=triager, question="Which version?")


def _triaged(report, triager, researcher):
    _acknowledged(report, triager, researcher)
    services.triage_report(report, acting_user=triager, severity=_high())


def _closed(report, triager, researcher):
    services.close_report(report, acting_user=triager, resolution="spam")


def _duplicate(report, triager, researcher):
    original = Report.objects.exclude(pk=report.pk).get()
    services.mark_duplicate(report, acting_user=triager, original=original)


# (move, how to get there, the move itself, from, to, resolution, reason, who: staff or researcher)
MOVES = [
    (
        "acknowledge",
        None,
        lambda r, t, _: services.acknowledge_report(r, acting_user=t, message="On it."),
        S.SUBMITTED,
        S.ACKNOWLEDGED,
        "",
        "On it.",
        "staff",
    ),
    (
        "request_information",
        None,
        _asked,
        S.SUBMITTED,
        S.NEEDS_INFO,
        "",
        "Which version?",
        "staff",
    ),
    (
        "answer_information_request",
        _asked,
        lambda r, _, researcher: services.add_researcher_reply(
            r, acting_user=researcher, body="1.40.2"
        ),
        S.NEEDS_INFO,
        S.SUBMITTED,
        "",
        "",
        "researcher",
    ),
    (
        "triage",
        _acknowledged,
        lambda r, t, _: services.triage_report(r, acting_user=t, severity=_high()),
        S.ACKNOWLEDGED,
        S.TRIAGED,
        "",
        "Severity High",
        "staff",
    ),
    (
        "triage_again",
        _triaged,
        lambda r, t, _: services.triage_report(
            r, acting_user=t, severity=Severity.objects.get(name="Low")
        ),
        S.TRIAGED,
        S.TRIAGED,
        "",
        "Severity Low",
        "staff",
    ),
    ("mark_duplicate", None, _duplicate, S.SUBMITTED, S.CLOSED, "duplicate", None, "staff"),
    (
        "resolve",
        _triaged,
        lambda r, t, _: services.resolve_report(r, acting_user=t),
        S.TRIAGED,
        S.RESOLVED,
        "fixed",
        "",
        "staff",
    ),
    ("close", None, _closed, S.SUBMITTED, S.CLOSED, "spam", "", "staff"),
    (
        "reopen",
        _closed,
        lambda r, t, _: services.reopen_report(r, acting_user=t, reason="Not spam after all."),
        S.CLOSED,
        S.ACKNOWLEDGED,
        "",
        "Not spam after all.",
        "staff",
    ),
]


@pytest.mark.parametrize(
    ("before", "move", "from_status", "to_status", "resolution", "reason", "who"),
    [case[1:] for case in MOVES],
    ids=[case[0] for case in MOVES],
)
def test_each_move_records_exactly_one_decision_naming_who_when_and_why(
    submit, triager, researcher, before, move, from_status, to_status, resolution, reason, who
):
    original = submit(title="The original")
    report = submit()
    if before:
        before(report, triager, researcher)
    earlier = set(report.status_changes.values_list("pk", flat=True))

    move(report, triager, researcher)

    [decision] = report.status_changes.exclude(pk__in=earlier)
    report.refresh_from_db()
    acting = triager if who == "staff" else researcher
    assert (decision.from_status, decision.to_status, decision.resolution) == (
        from_status,
        to_status,
        resolution,
    )
    assert decision.acting_user == acting
    assert decision.actor == (triager.email if who == "staff" else "researcher")
    assert decision.at == report.last_activity_at
    assert decision.reason == (f"Duplicate of {original.public_id}" if reason is None else reason)


def test_a_submission_is_the_first_decision_dated_when_the_report_was_received(submit, researcher):
    report = submit()

    [decision] = report.status_changes.all()
    assert (decision.from_status, decision.to_status) == ("", S.SUBMITTED)
    assert decision.acting_user == researcher and decision.actor == "researcher"
    assert decision.at == report.received_at


def test_an_illegal_move_records_no_decision(submit, triager):
    report = submit()

    with pytest.raises(IllegalMove):
        services.resolve_report(report, acting_user=triager)

    assert report.status_changes.count() == 1


def test_a_move_that_fails_after_its_decision_is_written_leaves_neither(
    submit, triager, monkeypatch
):
    report = submit()

    def refuse(*args, **kwargs):
        raise ConnectionError("the outbox is unreachable")

    monkeypatch.setattr(emails, "mail_researcher_news", refuse)

    with pytest.raises(ConnectionError):
        services.close_report(report, acting_user=triager, resolution="spam")

    report.refresh_from_db()
    assert report.status == S.SUBMITTED
    assert report.status_changes.count() == 1


def test_the_report_admin_shows_every_decision_with_who_when_and_why(
    client, submit, triager, researcher
):
    report = submit()
    services.request_information(report, acting_user=triager, question="Which build exactly?")
    services.add_researcher_reply(report, acting_user=researcher, body="Build 7.")
    services.close_report(report, acting_user=triager, resolution="spam")
    client.force_login(triager)

    page = client.get(reverse("admin:reports_report_change", args=[report.pk])).content.decode()

    assert decision_rows(page) == [
        ("(submission)", "Submitted", "researcher", ""),
        ("Submitted", "Needs information", triager.email, "Which build exactly?"),
        ("Needs information", "Submitted", "researcher", ""),
        ("Submitted", "Closed (spam)", triager.email, ""),
    ]


def _backfill():
    migration = importlib.import_module("reports.migrations.0009_backfill_report_status_changes")
    migration.backfill_decisions(apps, None)


def test_the_backfill_rebuilds_from_history_the_decisions_the_moves_record(
    submit, triager, researcher
):
    report = submit()
    services.request_information(report, acting_user=triager, question="Which version?")
    services.add_researcher_reply(report, acting_user=researcher, body="1.40.2")
    services.acknowledge_report(report, acting_user=triager)
    services.close_report(report, acting_user=triager, resolution="wont_fix")
    recorded = list(
        report.status_changes.values_list(
            "from_status", "to_status", "resolution", "acting_user", "actor"
        )
    )
    report.status_changes.all().delete()

    _backfill()
    _backfill()

    assert (
        list(
            report.status_changes.values_list(
                "from_status", "to_status", "resolution", "acting_user", "actor"
            )
        )
        == recorded
    )


def test_the_backfill_invents_no_submission_for_a_report_whose_first_history_is_gone(
    submit, triager
):
    report = submit()
    services.acknowledge_report(report, acting_user=triager)
    services.close_report(report, acting_user=triager, resolution="spam")
    ReportStatusChange.objects.all().delete()
    report.history.filter(history_type="+").delete()

    _backfill()

    assert list(report.status_changes.values_list("from_status", "to_status")) == [
        (S.ACKNOWLEDGED, S.CLOSED)
    ]
