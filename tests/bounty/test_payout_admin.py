"""Awards and payouts in the admin: triagers propose from the report, finance decides from its
queue (the one payout page with payment details), exports, records payments and sees totals."""

import csv
import io

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bounty import services
from bounty.models import Award, Payout
from tests.bounty.awarding import approved, instructed, propose, triaged_report
from tests.factories import PayoutFactory, ReporterFactory

pytestmark = pytest.mark.django_db

S = Payout.Status
QUEUE = reverse("admin:bounty_payoutawaitingmyapproval_changelist")
PAYOUTS = reverse("admin:bounty_payout_changelist")
TOTALS = reverse("admin:bounty_payout_totals")
INSTRUCTIONS = reverse("admin:bounty_payout_instructions")
SETTLEMENT = reverse("admin:bounty_payout_settlement")
SECRET = "IBAN SECRET-4711"


@pytest.fixture
def report(submit, triager):
    report = triaged_report(submit, triager)
    report.reporter.payment_method = "bank_transfer"
    report.reporter.payment_details = SECRET
    report.reporter.save()
    return report


@pytest.fixture
def payout(report, triager):
    return propose(report, triager, "300")


def _propose_url(report):
    return reverse("admin:bounty_award_propose", args=[report.pk])


def _report_page(report):
    return reverse("admin:reports_report_change", args=[report.pk])


# Proposing


def test_the_report_page_offers_a_triager_to_propose_an_award(client, report, triager):
    client.force_login(triager)

    assert _propose_url(report) in client.get(_report_page(report)).content.decode()


def test_no_award_is_offered_by_a_disclosure_program(client, report, triager, program):
    program.bounties_enabled = False
    program.save()
    client.force_login(triager)

    assert _propose_url(report) not in client.get(_report_page(report)).content.decode()
    response = client.get(_propose_url(report), follow=True)
    assert "offers no awards" in response.content.decode()


def test_no_award_is_offered_on_a_report_not_yet_triaged(client, submit, triager):
    report = submit()
    client.force_login(triager)

    assert _propose_url(report) not in client.get(_report_page(report)).content.decode()


def test_finance_is_not_offered_to_propose(client, report, finance_user):
    client.force_login(finance_user)

    assert _propose_url(report) not in client.get(_report_page(report)).content.decode()
    assert client.get(_propose_url(report)).status_code == 403


def test_proposing_from_the_admin_creates_the_award_and_its_payout(client, report, triager):
    client.force_login(triager)

    response = client.post(
        _propose_url(report),
        {"kind": "bounty", "amount": "400", "currency": "USD", "justification": ""},
    )

    assert response.status_code == 302
    award = Award.objects.get(report=report)
    assert (award.amount, award.proposed_by, award.payout.status) == (
        400,
        triager,
        S.AWAITING_APPROVAL,
    )


def test_an_unjustified_amount_outside_the_range_is_sent_back_with_the_reason(
    client, report, triager
):
    client.force_login(triager)

    response = client.post(
        _propose_url(report), {"kind": "bounty", "amount": "900", "currency": "USD"}
    )

    assert response.status_code == 200
    assert "justify it in writing" in response.content.decode()
    assert not Award.objects.exists()


# The approval queue


@pytest.mark.parametrize("who", ["finance_user", "second_finance_user", "superuser"])
def test_finance_sees_the_payouts_awaiting_its_approval_with_payment_details(
    client, request, payout, who
):
    client.force_login(request.getfixturevalue(who))

    page = client.get(QUEUE).content.decode()

    assert payout.award.report.public_id in page
    assert SECRET in page
    assert "Bank transfer" in page


@pytest.mark.parametrize(("who", "status"), [("triager", 403), ("program_admin", 403)])
def test_staff_without_the_finance_permission_have_no_queue(client, request, payout, who, status):
    client.force_login(request.getfixturevalue(who))

    assert client.get(QUEUE).status_code == status


@pytest.mark.parametrize("who", ["researcher", None])
def test_researchers_and_strangers_are_sent_to_the_login(client, request, payout, who):
    if who:
        client.force_login(request.getfixturevalue(who))

    response = client.get(QUEUE)

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_the_queue_leaves_out_own_proposals_and_payouts_already_approved_by_me(
    client, submit, triager, superuser, finance_user, second_finance_user
):
    mine = propose(triaged_report(submit, triager, title="Mine"), superuser, "300")
    large = propose(triaged_report(submit, triager, "Critical", title="Large"), triager, "2000")
    approved(large, finance_user)
    client.force_login(superuser)

    superuser_page = client.get(QUEUE).content.decode()
    client.force_login(finance_user)
    finance_page = client.get(QUEUE).content.decode()
    client.force_login(second_finance_user)
    second_page = client.get(QUEUE).content.decode()

    assert mine.award.report.public_id not in superuser_page
    assert large.award.report.public_id in superuser_page
    assert large.award.report.public_id not in finance_page
    assert mine.award.report.public_id in finance_page
    assert "1 of 2" in second_page


def test_payment_details_appear_in_no_other_payout_page(client, payout, finance_user):
    approved(payout, finance_user)
    services.create_payment_instruction(payout.pk)
    client.force_login(finance_user)

    pages = [
        client.get(PAYOUTS),
        client.get(reverse("admin:bounty_payout_change", args=[payout.pk])),
        client.get(reverse("admin:bounty_payout_history", args=[payout.pk])),
        client.get(TOTALS),
        client.get(INSTRUCTIONS),
    ]

    for response in pages:
        assert response.status_code == 200
        assert SECRET.encode() not in response.content


def test_approving_from_the_queue(client, payout, finance_user):
    client.force_login(finance_user)

    client.post(QUEUE, {"action": "approve", ACTION_CHECKBOX_NAME: [payout.pk], "index": 0})

    payout.refresh_from_db()
    assert payout.status == S.APPROVED
    assert payout.history.filter(status=S.APPROVED).get().history_user == finance_user


def test_rejecting_from_the_queue_asks_for_the_reason_first(client, payout, finance_user):
    client.force_login(finance_user)

    asked = client.post(QUEUE, {"action": "reject", ACTION_CHECKBOX_NAME: [payout.pk], "index": 0})
    assert 'name="reason"' in asked.content.decode()
    no_reason = client.post(
        QUEUE, {"action": "reject", ACTION_CHECKBOX_NAME: [payout.pk], "reject": "Reject"}
    )
    assert no_reason.status_code == 200
    payout.refresh_from_db()
    assert payout.status == S.AWAITING_APPROVAL

    client.post(
        QUEUE,
        {
            "action": "reject",
            ACTION_CHECKBOX_NAME: [payout.pk],
            "reject": "Reject",
            "reason": "Not in scope.",
        },
    )

    payout.refresh_from_db()
    assert (payout.status, payout.rejection_reason) == (S.REJECTED, "Not in scope.")


def test_the_queue_runs_the_same_queries_for_three_rows_as_for_thirty(client, superuser):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(QUEUE).status_code == 200
        return len(captured)

    client.force_login(superuser)
    PayoutFactory.create_batch(3, award__report__reporter=ReporterFactory())
    few = queries()
    PayoutFactory.create_batch(27)
    many = queries()

    assert many == few


# Paying


def test_the_payout_page_offers_finance_to_mark_an_instructed_payout_paid(
    client, payout, finance_user, second_finance_user
):
    instructed(payout, finance_user)
    mark_paid = reverse("admin:bounty_payout_mark_paid", args=[payout.pk])
    client.force_login(second_finance_user)

    page = client.get(reverse("admin:bounty_payout_change", args=[payout.pk])).content.decode()
    assert mark_paid in page
    assert 'name="status"' not in page
    client.post(mark_paid, {"payment_reference": "TX-1"})

    payout.refresh_from_db()
    assert (payout.status, payout.payment_reference) == (S.PAID, "TX-1")


def test_marking_paid_twice_in_the_admin_pays_once(client, payout, finance_user):
    instructed(payout, finance_user)
    mark_paid = reverse("admin:bounty_payout_mark_paid", args=[payout.pk])
    client.force_login(finance_user)

    client.post(mark_paid, {"payment_reference": "TX-1"})
    again = client.post(mark_paid, {"payment_reference": "TX-2"})

    assert "paid already" in again.content.decode()
    payout.refresh_from_db()
    assert payout.payment_reference == "TX-1"


@pytest.mark.parametrize("who", ["triager", "program_admin"])
def test_only_finance_reaches_the_payment_pages(client, request, payout, finance_user, who):
    instructed(payout, finance_user)
    client.force_login(request.getfixturevalue(who))

    for url in (
        reverse("admin:bounty_payout_mark_paid", args=[payout.pk]),
        INSTRUCTIONS,
        SETTLEMENT,
    ):
        assert client.get(url).status_code == 403


def test_finance_downloads_the_batch_of_instructions(client, payout, finance_user):
    instructed(payout, finance_user)
    client.force_login(finance_user)

    response = client.get(INSTRUCTIONS)

    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][-1] == payout.instruction_reference


def test_finance_downloads_the_instructions_of_selected_payouts(client, payout, finance_user):
    instructed(payout, finance_user)
    client.force_login(finance_user)

    response = client.post(
        PAYOUTS, {"action": "download_instructions", ACTION_CHECKBOX_NAME: [payout.pk], "index": 0}
    )

    assert payout.instruction_reference in response.content.decode()


def test_a_settlement_upload_reports_each_row(client, payout, finance_user):
    instructed(payout, finance_user)
    client.force_login(finance_user)
    upload = SimpleUploadedFile(
        "settlement.csv",
        (
            "reference,amount,currency,payment_reference\n"
            f"{payout.instruction_reference},300.00,USD,TX-1\n"
            "BD-PAY-99999999,10.00,USD,TX-2\n"
        ).encode(),
        content_type="text/csv",
    )

    page = client.post(SETTLEMENT, {"settlement": upload}, follow=True).content.decode()

    assert "1 paid; 1 rows not paid" in page
    assert "unknown reference" in page
    payout.refresh_from_db()
    assert payout.status == S.PAID


# Totals


def test_totals_per_researcher_severity_and_month_keep_currencies_apart(
    client, submit, triager, finance_user, second_finance_user, program_admin
):
    usd = instructed(propose(triaged_report(submit, triager), triager, "300"), finance_user)
    services.mark_payout_paid(usd, acting_user=finance_user, payment_reference="TX-1")
    eur = PayoutFactory(award__currency="EUR", award__amount="120.00")
    client.force_login(program_admin)

    response = client.get(TOTALS)

    page = response.content.decode()
    assert response.status_code == 200
    researchers = {
        (row["researcher"].email, row["currency"]): row
        for row in response.context["per_researcher"]
    }
    assert researchers[(usd.reporter.email, "USD")]["paid"] == 300
    assert researchers[(eur.reporter.email, "EUR")]["awaiting_approval"] == 120
    severities = {
        (row["award__report__severity__name"], row["currency"]): row["paid"]
        for row in response.context["per_severity"]
    }
    assert severities[("Medium", "USD")] == 300
    [month] = response.context["per_month"]
    assert (month["currency"], month["paid"], month["payouts"]) == ("USD", 300, 1)
    assert TOTALS in client.get(PAYOUTS).content.decode()
    assert "EUR" in page
