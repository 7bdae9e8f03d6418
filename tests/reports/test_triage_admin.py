"""Triage in the admin: moves offered when legal, short forms, bulk actions, filters."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bounty.models import Severity
from reports import services
from reports.models import Deadline, Report

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:reports_report_changelist")


def _change(report):
    return reverse("admin:reports_report_change", args=[report.pk])


def _move(report, move):
    return reverse("admin:reports_report_move", args=[report.pk, move])


def test_the_report_page_offers_only_the_moves_allowed_now(client, submit, triager):
    report = submit()
    client.force_login(triager)

    page = client.get(_change(report)).content.decode()

    assert _move(report, "acknowledge") in page
    assert _move(report, "close") in page
    assert _move(report, "resolve") not in page
    assert _move(report, "reopen") not in page


def test_an_illegal_move_is_refused_with_a_message(client, submit, triager):
    report = submit()
    client.force_login(triager)

    response = client.post(_move(report, "resolve"), follow=True)

    assert "not possible" in response.content.decode()
    report.refresh_from_db()
    assert report.status == Report.Status.SUBMITTED


def test_triaging_from_the_admin_sets_severity_and_cvss(client, submit, triager):
    report = submit()
    services.acknowledge_report(report, acting_user=triager)
    client.force_login(triager)

    response = client.post(
        _move(report, "triage"),
        {
            "severity": Severity.objects.get(name="High").pk,
            "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "message": "",
        },
        follow=True,
    )

    report.refresh_from_db()
    assert report.status == Report.Status.TRIAGED
    assert report.severity.name == "High"
    assert "suggests Critical; you chose High" in response.content.decode()
    assert report.history.latest().history_user == triager


def test_an_invalid_cvss_vector_shows_the_reason_on_the_form(client, submit, triager):
    report = submit()
    services.acknowledge_report(report, acting_user=triager)
    client.force_login(triager)

    response = client.post(
        _move(report, "triage"),
        {"severity": Severity.objects.get(name="High").pk, "cvss_vector": "CVSS:3.1/AV:Q"},
    )

    assert response.status_code == 200
    assert "Invalid CVSS vector" in response.content.decode()
    report.refresh_from_db()
    assert report.status == Report.Status.ACKNOWLEDGED


def test_marking_a_duplicate_takes_the_originals_public_id(client, submit, triager):
    original = submit(title="Original")
    report = submit(title="Later")
    client.force_login(triager)

    client.post(_move(report, "mark_duplicate"), {"original": original.public_id.lower()})

    report.refresh_from_db()
    assert report.duplicate_of == original


def test_staff_without_the_triage_permission_cannot_move_reports(
    client, submit, finance_user, program_admin
):
    report = submit()
    for user in (finance_user, program_admin):
        client.force_login(user)

        response = client.post(_move(report, "acknowledge"))

        assert response.status_code == 403
    report.refresh_from_db()
    assert report.status == Report.Status.SUBMITTED


def test_a_researcher_cannot_reach_a_move(client, submit, researcher):
    report = submit()
    client.force_login(researcher)

    response = client.post(_move(report, "acknowledge"))

    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == Report.Status.SUBMITTED


def test_bulk_actions_apply_the_service_to_each_and_report_what_was_refused(
    client, submit, triager
):
    fresh = submit(title="Fresh")
    closed = submit(title="Closed")
    services.close_report(closed, acting_user=triager, resolution="spam")
    client.force_login(triager)

    response = client.post(
        CHANGELIST + "?view=all",
        {"action": "acknowledge", "_selected_action": [fresh.pk, closed.pk]},
        follow=True,
    )

    fresh.refresh_from_db()
    assert fresh.status == Report.Status.ACKNOWLEDGED
    assert f"Not done: {closed.public_id}" in response.content.decode()


def test_assign_to_me_and_close_as_spam_in_bulk(client, submit, triager):
    first, second = submit(title="One"), submit(title="Two")
    client.force_login(triager)

    client.post(CHANGELIST, {"action": "assign_to_me", "_selected_action": [first.pk, second.pk]})
    client.post(CHANGELIST, {"action": "close_as_spam", "_selected_action": [second.pk]})

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.assignee == triager and second.assignee == triager
    assert second.resolution == Report.Resolution.SPAM


def test_deadlines_on_the_report_page_show_time_left_or_overdue(client, submit, triager):
    report = submit()
    Deadline.objects.filter(report=report, kind="triage").update(
        due_at=timezone.now() - timedelta(days=2)
    )
    client.force_login(triager)

    page = client.get(_change(report)).content.decode()

    assert "overdue by 2" in page
    assert " left" in page


def test_a_report_received_by_email_is_recorded_for_an_email_only_reporter(
    client, program, triager
):
    client.force_login(triager)

    response = client.post(
        reverse("admin:reports_report_received_by_email"),
        {
            "reporter_email": "Mallory@Example.test",
            "reporter_name": "Mallory",
            "received_at": "2026-09-04 20:00",
            "title": "Proxy leaks keys",
            "description": "Keys appear in logs.",
            "steps_to_reproduce": "1. Enable debug.\n2. Read the log.",
        },
    )

    report = Report.objects.get(title="Proxy leaks keys")
    assert response.status_code == 302
    assert report.reporter.email == "mallory@example.test"
    assert report.reporter.user is None
    assert report.deadlines.filter(kind="first_response").exists()


def test_finance_cannot_record_reports(client, program, finance_user):
    client.force_login(finance_user)

    response = client.get(reverse("admin:reports_report_received_by_email"))

    assert response.status_code == 403


def test_a_closed_reports_deadlines_show_as_not_owed_rather_than_running(client, submit, triager):
    report = submit()
    services.close_report(report, acting_user=triager, resolution="spam")
    client.force_login(triager)

    page = client.get(_change(report)).content.decode()

    assert "not owed: the report was closed" in page
    assert "hours left" not in page and "days left" not in page and "day left" not in page
