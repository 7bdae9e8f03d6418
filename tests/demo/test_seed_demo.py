from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from bounty.models import Payout
from intake.models import HeldMail, IntakeMessage
from reports.models import Report

pytestmark = pytest.mark.django_db


def _row_counts():
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def _seed(*args):
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_seeding_twice_changes_nothing():
    _seed()
    first = _row_counts()

    _seed()

    assert _row_counts() == first


def test_history_rows_are_counted_too():
    _seed()

    assert _row_counts()["reports.HistoricalReport"] > 0


def test_each_researcher_has_a_report_in_every_status():
    _seed()

    for email in ("alice@demo.test", "bob@demo.test"):
        reports = Report.objects.filter(reporter__email_index__matches=email)
        statuses = set(reports.values_list("status", flat=True))
        assert statuses == set(Report.Status.values), email


def test_a_duplicate_points_at_its_original():
    _seed()

    duplicate = Report.objects.get(resolution=Report.Resolution.DUPLICATE)

    assert duplicate.duplicate_of is not None
    assert duplicate.duplicate_of.reporter != duplicate.reporter


def test_one_report_came_in_by_email_through_the_intake():
    _seed()

    report = Report.objects.get(channel=Report.Channel.EMAIL)
    messages = IntakeMessage.objects.order_by("pk")
    assert [(message.state, message.report) for message in messages] == [
        (IntakeMessage.State.PROCESSED, report)
    ] * 3
    assert report.reporter.user is None
    assert report.attachments.count() == 1
    assert report.messages.filter(visibility="internal").exists()  # the refused program
    # Carol wrote again in the thread by mail; a stranger's mail in it is held for staff.
    [again] = report.messages.filter(by_researcher=True)
    assert "API keys" in again.body and again.author is None
    held = HeldMail.objects.get()
    assert (held.report, held.sender) == (report, "mallory@demo.test")


def test_payouts_exist_in_every_state():
    _seed()

    assert set(Payout.objects.values_list("status", flat=True)) == set(Payout.Status.values)


def test_demo_accounts_log_in_with_the_given_password():
    _seed("--password", "another demo password")

    for email in ("admin@demo.test", "triager@demo.test", "finance2@demo.test", "bob@demo.test"):
        # The lockout (django-axes) judges every sign-in by its request.
        sign_in = RequestFactory().post("/accounts/login/")
        assert authenticate(sign_in, username=email, password="another demo password"), email


def test_the_output_lists_the_admin_url_and_every_login():
    output = _seed()

    assert "/admin/" in output and "/portal/" in output
    for email in ("admin@demo.test", "triager@demo.test", "finance@demo.test", "alice@demo.test"):
        assert email in output


def test_seeded_history_names_who_did_each_step():
    _seed()

    report = Report.objects.get(
        status=Report.Status.RESOLVED, reporter__email_index__matches="bob@demo.test"
    )
    actors = [h.history_user.email for h in report.history.order_by("history_date", "history_id")]
    assert actors[0] == "bob@demo.test"
    assert set(actors[1:]) == {"triager@demo.test"}
