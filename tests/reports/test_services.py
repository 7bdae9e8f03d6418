"""What each move records: who and when, what the researcher sees, and what stays internal."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from bounty.models import Severity
from reports import services
from reports.models import Message, Report

pytestmark = pytest.mark.django_db

VALID_31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
VALID_40 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"


def _public(report):
    return list(report.messages.filter(visibility=Message.Visibility.PUBLIC))


def test_a_move_stamps_when_and_who_in_history(submit, triager):
    report = submit()

    services.acknowledge_report(report, acting_user=triager)

    report.refresh_from_db()
    assert report.acknowledged_at is not None
    assert report.history.latest().history_user == triager
    assert report.history.latest().status == Report.Status.ACKNOWLEDGED


def test_every_move_leaves_a_message_the_researcher_sees(submit, triager):
    report = submit()

    services.acknowledge_report(report, acting_user=triager, message="We are on it.")

    assert [m.body for m in _public(report)] == ["We are on it."]
    assert _public(report)[0].author == triager


def test_a_researcher_cannot_reply_on_someone_elses_report(submit, other_researcher):
    report = submit()

    with pytest.raises(PermissionDenied):
        services.add_researcher_reply(report, acting_user=other_researcher, body="Hello")
    assert not report.messages.exists()


@pytest.mark.parametrize(("vector", "score"), [(VALID_31, "9.8"), (VALID_40, "9.3")])
def test_triage_scores_cvss_31_and_40_vectors(submit, triager, vector, score):
    report = submit()
    services.acknowledge_report(report, acting_user=triager)

    services.triage_report(
        report,
        acting_user=triager,
        severity=Severity.objects.get(name="Critical"),
        cvss_vector=vector,
    )

    report.refresh_from_db()
    assert str(report.cvss_score) == score
    assert report.cvss_vector == vector


@pytest.mark.parametrize(
    ("vector", "reason"),
    [
        ("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 'Unknown value "X"'),
        ("CVSS:4.0/AV:N", "Missing mandatory metrics"),
        ("AV:N/AC:L", "must start with CVSS:3.1/ or CVSS:4.0/"),
    ],
)
def test_an_invalid_cvss_vector_is_refused_with_its_reason_and_changes_nothing(
    submit, triager, vector, reason
):
    report = submit()
    services.acknowledge_report(report, acting_user=triager)

    with pytest.raises(ValidationError, match=reason):
        services.triage_report(
            report,
            acting_user=triager,
            severity=Severity.objects.get(name="Low"),
            cvss_vector=vector,
        )

    report.refresh_from_db()
    assert report.status == Report.Status.ACKNOWLEDGED
    assert report.severity is None


def test_the_cvss_score_suggests_but_does_not_set_a_severity(submit, triager):
    report = submit()
    services.acknowledge_report(report, acting_user=triager)

    services.triage_report(
        report, acting_user=triager, severity=Severity.objects.get(name="Low"), cvss_vector=VALID_31
    )

    report.refresh_from_db()
    assert report.severity.name == "Low"


def test_a_duplicate_links_to_the_original_and_tells_only_its_status(
    submit, triager, researcher, other_researcher
):
    original = submit(title="Secret original title", reporter_user=other_researcher)
    services.acknowledge_report(original, acting_user=triager)
    duplicate = submit(title="Mine")

    services.mark_duplicate(duplicate, acting_user=triager, original=original)

    duplicate.refresh_from_db()
    assert duplicate.duplicate_of == original
    assert duplicate.resolution == Report.Resolution.DUPLICATE
    public_text = " ".join(m.body for m in _public(duplicate))
    assert "acknowledged" in public_text
    # The original is another researcher's: not its id, title or address.
    assert original.public_id not in public_text
    assert "Secret original title" not in public_text
    assert other_researcher.email not in public_text


def test_a_duplicate_of_a_duplicate_points_at_the_first_original(submit, triager):
    first = submit(title="First")
    second = submit(title="Second")
    third = submit(title="Third")
    services.mark_duplicate(second, acting_user=triager, original=first)

    services.mark_duplicate(third, acting_user=triager, original=second)

    third.refresh_from_db()
    assert third.duplicate_of == first


def test_a_report_cannot_duplicate_itself(submit, triager):
    report = submit()

    with pytest.raises(ValidationError):
        services.mark_duplicate(report, acting_user=triager, original=report)


def test_closing_needs_a_closing_resolution(submit, triager):
    report = submit()

    with pytest.raises(ValidationError):
        services.close_report(report, acting_user=triager, resolution="fixed")


def test_reopening_clears_the_resolution_and_needs_a_reason(submit, triager):
    report = submit()
    services.close_report(report, acting_user=triager, resolution="wont_fix")

    with pytest.raises(ValidationError):
        services.reopen_report(report, acting_user=triager, reason="  ")
    services.reopen_report(report, acting_user=triager, reason="New information arrived.")

    report.refresh_from_db()
    assert report.resolution == "" and report.closed_at is None


def test_an_internal_note_is_not_shown_as_public(submit, triager):
    report = submit()

    services.add_staff_message(report, acting_user=triager, body="Looks real", public=False)

    assert _public(report) == []


def test_reports_are_assigned_to_staff_only(submit, triager, researcher):
    report = submit()

    with pytest.raises(ValidationError):
        services.assign_report(report, acting_user=triager, assignee=researcher)
    services.assign_report(report, acting_user=triager, assignee=triager)

    report.refresh_from_db()
    assert report.assignee == triager


def test_a_submission_needs_steps_to_reproduce(program, researcher):
    with pytest.raises(ValidationError, match="Steps to reproduce"):
        services.submit_report(
            reporter=researcher.reporter,
            submission=services.Submission(title="t", description="d", steps_to_reproduce="   "),
            acting_user=researcher,
        )
    assert not Report.objects.exists()
