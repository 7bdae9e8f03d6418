"""Audit retention deletes history rows, never the decisions: the researcher's timeline and who
moved their report, and every payout's moves, stay for as long as the report and payout do."""

import html
import re
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.services import delete_expired_history
from bounty.models import PayoutStatusChange, Severity
from reports import services
from reports.models import ReportStatusChange
from tests.audit.history import all_history_rows, history_models
from tests.bounty.awarding import instructed, propose, triaged_report
from tests.factories import PayoutStatusChangeFactory, ReportStatusChangeFactory

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(days=400)
MOVE = re.compile(
    r'<time datetime="(?P<at>[^"]+)">[^<]*</time>\s*· Status changed to '
    r"<strong>(?P<status>[^<]+)</strong> by (?P<by>[a-zA-Z ]+)"
)


@pytest.fixture(autouse=True)
def thirty_days_retention(settings):
    settings.AUDIT_RETENTION_DAYS = 30


def _age_every_history_row(by: timedelta) -> None:
    for model in history_models():
        model._default_manager.update(history_date=timezone.now() - by)


def _timeline_moves(client, report) -> list[tuple[datetime, str, str]]:
    page = client.get(reverse("portal:report_detail", args=[report.public_id]))
    assert page.status_code == 200
    return [
        (datetime.fromisoformat(found["at"]), html.unescape(found["status"]), found["by"].strip())
        for found in MOVE.finditer(page.content.decode())
    ]


def _walk_a_report_through_its_life(report, triager, researcher):
    services.request_information(report, acting_user=triager, question="Which version?")
    services.add_researcher_reply(report, acting_user=researcher, body="Version 1.40.2.")
    services.acknowledge_report(report, acting_user=triager)
    services.triage_report(report, acting_user=triager, severity=Severity.objects.get(name="High"))
    services.close_report(report, acting_user=triager, resolution="wont_fix")


def test_after_retention_the_researcher_still_reads_every_status_move_with_who_and_when(
    client, submit, researcher, triager
):
    started = timezone.now().replace(microsecond=0)
    report = submit()
    _walk_a_report_through_its_life(report, triager, researcher)
    _age_every_history_row(LONG_AGO)

    delete_expired_history()

    assert not report.history.exists()
    client.force_login(researcher)
    moves = _timeline_moves(client, report)
    assert [(status, by) for _, status, by in moves] == [
        ("Needs information", "the security team"),
        ("Submitted", "you"),
        ("Acknowledged", "the security team"),
        ("Triaged", "the security team"),
        ("Closed as won't fix", "the security team"),
    ]
    dates = [at for at, _, _ in moves]
    assert dates == sorted(dates)
    assert all(started <= at <= timezone.now() for at in dates)


def test_retention_deletes_no_decision_however_old(submit, researcher, triager, finance_user):
    report = triaged_report(submit, triager)
    services.close_report(report, acting_user=triager, resolution="spam")
    payout = instructed(propose(triaged_report(submit, triager), triager), finance_user)
    ReportStatusChangeFactory(report=report, from_status="closed", to_status="acknowledged")
    PayoutStatusChangeFactory()
    ReportStatusChange.objects.update(at=timezone.now() - LONG_AGO)
    PayoutStatusChange.objects.update(at=timezone.now() - LONG_AGO)
    decisions = (
        set(ReportStatusChange.objects.values_list("pk", flat=True)),
        set(PayoutStatusChange.objects.values_list("pk", flat=True)),
    )
    _age_every_history_row(LONG_AGO)

    delete_expired_history()

    assert all_history_rows() == set()
    assert decisions == (
        set(ReportStatusChange.objects.values_list("pk", flat=True)),
        set(PayoutStatusChange.objects.values_list("pk", flat=True)),
    )
    assert payout.status_changes.count() == 2
    assert report.status_changes.count() == 5
    assert not any(
        model._meta.label in {"reports.ReportStatusChange", "bounty.PayoutStatusChange"}
        for model in history_models()
    )


def _portal_queries(client, report) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert (
            client.get(reverse("portal:report_detail", args=[report.public_id])).status_code == 200
        )
    return len(queries)


def test_the_portal_report_page_reads_the_moves_in_queries_that_do_not_grow_with_them(
    client, submit, researcher, triager
):
    few, many = submit(), submit()
    for report, rounds in ((few, 1), (many, 6)):
        for _ in range(rounds):
            services.request_information(report, acting_user=triager, question="More?")
            services.add_researcher_reply(report, acting_user=researcher, body="Here.")
    client.force_login(researcher)
    _portal_queries(client, few)

    assert len(_timeline_moves(client, many)) == 12
    assert _portal_queries(client, many) == _portal_queries(client, few)
