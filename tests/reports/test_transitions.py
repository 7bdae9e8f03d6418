"""Every move from every status: the allowed ones happen, the others raise and change nothing."""

import pytest

from bounty.models import Severity
from reports import services
from reports.models import Report
from reports.transitions import TRANSITIONS, IllegalMove, Move, allowed_staff_moves

pytestmark = pytest.mark.django_db

S = Report.Status

ALLOWED = {
    (S.SUBMITTED, Move.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.SUBMITTED, Move.REQUEST_INFORMATION): S.NEEDS_INFO,
    (S.SUBMITTED, Move.MARK_DUPLICATE): S.CLOSED,
    (S.SUBMITTED, Move.CLOSE): S.CLOSED,
    (S.ACKNOWLEDGED, Move.REQUEST_INFORMATION): S.NEEDS_INFO,
    (S.ACKNOWLEDGED, Move.TRIAGE): S.TRIAGED,
    (S.ACKNOWLEDGED, Move.MARK_DUPLICATE): S.CLOSED,
    (S.ACKNOWLEDGED, Move.CLOSE): S.CLOSED,
    (S.NEEDS_INFO, Move.ANSWER_INFORMATION_REQUEST): S.ACKNOWLEDGED,
    (S.NEEDS_INFO, Move.MARK_DUPLICATE): S.CLOSED,
    (S.NEEDS_INFO, Move.CLOSE): S.CLOSED,
    (S.TRIAGED, Move.REQUEST_INFORMATION): S.NEEDS_INFO,
    (S.TRIAGED, Move.TRIAGE): S.TRIAGED,
    (S.TRIAGED, Move.MARK_DUPLICATE): S.CLOSED,
    (S.TRIAGED, Move.RESOLVE): S.RESOLVED,
    (S.TRIAGED, Move.CLOSE): S.CLOSED,
    (S.RESOLVED, Move.REOPEN): S.TRIAGED,
    (S.CLOSED, Move.REOPEN): S.ACKNOWLEDGED,
}
ALL_PAIRS = [(status, move) for status in S for move in Move]


def _bring_to(status, submit, triager, researcher):
    report = submit()
    if status == S.SUBMITTED:
        return report
    services.acknowledge_report(report, acting_user=triager)
    if status == S.NEEDS_INFO:
        services.request_information(report, acting_user=triager, question="Which version?")
    if status in (S.TRIAGED, S.RESOLVED):
        services.triage_report(
            report, acting_user=triager, severity=Severity.objects.get(name="High")
        )
    if status == S.RESOLVED:
        services.resolve_report(report, acting_user=triager)
    if status == S.CLOSED:
        services.close_report(report, acting_user=triager, resolution="informative")
    report.refresh_from_db()
    assert report.status == status
    return report


def _perform(move, report, triager, researcher, submit):
    if move == Move.ACKNOWLEDGE:
        services.acknowledge_report(report, acting_user=triager)
    elif move == Move.REQUEST_INFORMATION:
        services.request_information(report, acting_user=triager, question="Which version?")
    elif move == Move.ANSWER_INFORMATION_REQUEST:
        services.add_researcher_reply(report, acting_user=researcher, body="Version 1.40.")
    elif move == Move.TRIAGE:
        services.triage_report(
            report, acting_user=triager, severity=Severity.objects.get(name="Low")
        )
    elif move == Move.MARK_DUPLICATE:
        services.mark_duplicate(report, acting_user=triager, original=submit(title="Original"))
    elif move == Move.RESOLVE:
        services.resolve_report(report, acting_user=triager)
    elif move == Move.CLOSE:
        services.close_report(report, acting_user=triager, resolution="spam")
    elif move == Move.REOPEN:
        services.reopen_report(report, acting_user=triager, reason="The fix was incomplete.")


@pytest.mark.parametrize(("status", "move"), ALL_PAIRS, ids=lambda v: str(v))
def test_every_move_from_every_status(status, move, submit, triager, researcher):
    report = _bring_to(status, submit, triager, researcher)
    before = Report.objects.values().get(pk=report.pk)

    if (status, move) in ALLOWED:
        _perform(move, report, triager, researcher, submit)
        report.refresh_from_db()
        assert report.status == ALLOWED[(status, move)]
    elif move == Move.ANSWER_INFORMATION_REQUEST:
        # Outside a question, a researcher's message is only a message: the status stays.
        _perform(move, report, triager, researcher, submit)
        report.refresh_from_db()
        assert report.status == status
    else:
        with pytest.raises(IllegalMove, match=report.public_id):
            _perform(move, report, triager, researcher, submit)
        assert Report.objects.values().get(pk=report.pk) == before


def test_the_table_covers_every_move():
    assert set(TRANSITIONS) == set(Move)


@pytest.mark.parametrize("status", list(S))
def test_staff_are_offered_exactly_the_allowed_moves(status, submit, triager, researcher):
    report = _bring_to(status, submit, triager, researcher)

    offered = set(allowed_staff_moves(report))

    assert offered == {move for (source, move) in ALLOWED if source == status} - {
        Move.ANSWER_INFORMATION_REQUEST
    }


def test_an_answer_returns_the_report_to_triaged_when_it_was_asked_from_there(
    submit, triager, researcher
):
    report = _bring_to(S.TRIAGED, submit, triager, researcher)
    services.request_information(report, acting_user=triager, question="Logs?")

    services.add_researcher_reply(report, acting_user=researcher, body="Attached.")

    report.refresh_from_db()
    assert report.status == S.TRIAGED
    assert report.status_before_info_request == ""
