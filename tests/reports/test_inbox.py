"""The report list is the staff inbox: what needs someone now, in the order promises fall due."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reports import deadlines, inbox, services
from reports.models import Deadline, Report

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:reports_report_changelist")
View = inbox.View


def _due_in(report, delta):
    """Move every running deadline of ``report`` to fall due ``delta`` from now."""
    Deadline.objects.filter(report=report, met_at__isnull=True).update(
        due_at=timezone.now() + delta
    )
    report.refresh_from_db()
    deadlines.refresh_next_deadline(report)


def _listed(client, **params):
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.fixture
def desk(submit, triager, researcher):
    """One report in each state the views tell apart."""
    reports = {
        "late": submit(title="Late"),
        "soon": submit(title="Soon"),
        "later": submit(title="Later"),
        "mine": submit(title="Mine"),
        "asked": submit(title="Asked"),
        "replied": submit(title="Replied"),
        "closed": submit(title="Closed"),
    }
    _due_in(reports["late"], -timedelta(hours=2))
    _due_in(reports["soon"], timedelta(hours=3))
    _due_in(reports["later"], timedelta(days=3))
    _due_in(reports["mine"], timedelta(days=2))
    services.assign_report(reports["mine"], acting_user=triager, assignee=triager)
    services.request_information(reports["asked"], acting_user=triager, question="Which version?")
    services.request_information(reports["replied"], acting_user=triager, question="Logs?")
    services.add_researcher_reply(reports["replied"], acting_user=researcher, body="Attached.")
    services.close_report(reports["closed"], acting_user=triager, resolution="spam")
    for report in reports.values():
        report.refresh_from_db()
    return reports


def test_the_inbox_opens_on_what_needs_staff_ordered_by_the_next_deadline(client, triager, desk):
    client.force_login(triager)

    listed = _listed(client)

    assert desk["asked"] not in listed, "waiting on the researcher"
    assert desk["closed"] not in listed
    by_due = [desk["late"], desk["soon"], desk["mine"], desk["later"]]
    assert [report for report in listed if report in by_due] == by_due
    assert desk["replied"] in listed


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (View.MINE, {"mine", "asked", "replied"}),
        (View.OVERDUE, {"late"}),
        (View.DUE_SOON, {"soon"}),
        (View.WAITING, {"asked"}),
        (View.REPLIED, {"replied"}),
        (View.ALL, {"late", "soon", "later", "mine", "asked", "replied", "closed"}),
    ],
)
def test_each_sidebar_view_lists_its_reports(client, triager, desk, view, expected):
    # Asking the researcher is acting on the report: "asked" and "replied" became the triager's.
    client.force_login(triager)

    listed = _listed(client, view=view.value)

    assert {report.title.lower() for report in listed} == expected


def test_unassigned_lists_reports_that_need_staff_and_have_nobody(client, triager, desk):
    client.force_login(triager)

    listed = {report.title.lower() for report in _listed(client, view="unassigned")}

    assert listed == {"late", "soon", "later"}


def test_the_sidebar_counts_every_view_for_whoever_looks(client, triager, program_admin, desk):
    client.force_login(program_admin)

    page = client.get(CHANGELIST).content.decode()
    counts = inbox.view_counts(program_admin)

    assert counts[View.MINE] == 0, "the program admin has nothing assigned"
    assert inbox.view_counts(triager)[View.MINE] == 3
    assert counts[View.OVERDUE] == 1 and counts[View.ALL] == 7
    assert 'class="view-count urgent">1<' in page, "an overdue report is marked in the sidebar"


def test_a_search_looks_through_every_report_not_only_the_open_ones(client, triager, desk):
    client.force_login(triager)

    listed = _listed(client, q=desk["closed"].public_id)

    assert listed == [desk["closed"]]


def test_a_row_says_when_the_next_promise_falls_due_in_the_programs_time_zone(
    client, triager, desk
):
    client.force_login(triager)

    page = client.get(CHANGELIST).content.decode()

    assert 'class="deadline overdue">overdue by 2' in page
    assert 'class="deadline due-soon">' in page
    assert "Times in <strong>America/Los_Angeles</strong>" in page
    assert "PST" in page or "PDT" in page
    assert 'class="badge replied"' in page, "the researcher wrote since staff last did"


def test_the_replied_mark_clears_when_staff_write_back_not_on_an_internal_note(
    triager, researcher, desk
):
    report = desk["replied"]
    assert report.awaiting_staff_since is not None

    services.add_staff_message(report, acting_user=triager, body="Looking.", public=False)
    report.refresh_from_db()
    assert report.awaiting_staff_since is not None

    services.add_staff_message(report, acting_user=triager, body="Thanks!", public=True)
    report.refresh_from_db()
    assert report.awaiting_staff_since is None


def test_the_next_deadline_follows_every_move(submit, triager, researcher, program):
    report = submit()
    first = report.deadlines.order_by("due_at").first()
    assert (report.next_deadline_at, report.next_deadline_kind) == (first.due_at, first.kind)

    services.acknowledge_report(report, acting_user=triager)
    report.refresh_from_db()
    assert report.next_deadline_kind == Deadline.Kind.TRIAGE, "the first response is met"
    assert report.next_deadline_at == report.deadlines.get(kind="triage").due_at

    services.request_information(report, acting_user=triager, question="Which version?")
    report.refresh_from_db()
    assert report.next_deadline_at is None, "paused clocks promise nothing"

    services.add_researcher_reply(report, acting_user=researcher, body="1.2.3")
    report.refresh_from_db()
    assert report.next_deadline_kind == Deadline.Kind.TRIAGE

    services.close_report(report, acting_user=triager, resolution="informative")
    report.refresh_from_db()
    assert report.next_deadline_at is None and report.next_deadline_kind == ""


def test_the_inbox_costs_the_same_queries_for_5_reports_as_for_40(client, submit, triager):
    client.force_login(triager)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(CHANGELIST).status_code == 200
        return len(captured)

    for _ in range(5):
        submit()
    few = queries()
    for index in range(35):
        report = submit(title=f"More {index}")
        if index % 3 == 0:
            services.assign_report(report, acting_user=triager, assignee=triager)
    assert queries() == few


def test_the_report_list_is_staff_only(client, researcher, desk):
    client.force_login(researcher)

    response = client.get(CHANGELIST)

    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert Report.objects.count() == 7
