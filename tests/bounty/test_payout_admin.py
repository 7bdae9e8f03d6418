"""Awards and payouts in the admin: triagers propose from the report, finance decides from its
queue and the payout page (the payout pages that show the approved destination, to finance
only), exports numbered batches, records payments and sees totals."""

import csv
import io

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bounty import services
from bounty.models import Award, PaymentBatch, Payout
from bounty.services import payments
from reports import services as report_services
from tests.bounty.awarding import approved, instructed, propose, triaged_report
from tests.factories import PayoutFactory, ReporterFactory

pytestmark = pytest.mark.django_db

S = Payout.Status
QUEUE = reverse("admin:bounty_payoutawaitingmyapproval_changelist")
PAYOUTS = reverse("admin:bounty_payout_changelist")
TOTALS = reverse("admin:bounty_payout_totals")
BATCHES = reverse("admin:bounty_paymentbatch_changelist")
EXPORT = reverse("admin:bounty_paymentbatch_export")
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


def test_finance_sees_the_approved_destination_on_the_payout_page(client, payout, finance_user):
    instructed(payout, finance_user)
    client.force_login(finance_user)

    page = client.get(reverse("admin:bounty_payout_change", args=[payout.pk])).content.decode()

    assert SECRET in page
    assert "Bank transfer" in page


def test_payment_details_appear_in_no_payout_page_for_staff_outside_finance(
    client, payout, finance_user, triager, program_admin, researcher
):
    instructed(payout, finance_user)
    # The history of a change of destination would show both, before and after.
    report_services.update_payment_details(
        researcher.reporter, acting_user=researcher, method="other", details=f"{SECRET}-NEW"
    )
    for who in (triager, program_admin):
        client.force_login(who)
        pages = [
            client.get(PAYOUTS),
            client.get(reverse("admin:bounty_payout_change", args=[payout.pk])),
            client.get(reverse("admin:bounty_payout_history", args=[payout.pk])),
            client.get(TOTALS),
        ]

        for response in pages:
            assert response.status_code == 200
            assert SECRET.encode() not in response.content
            assert b"Bank transfer" not in response.content


def test_payment_details_stay_off_the_list_and_history_pages_for_finance(
    client, payout, finance_user
):
    instructed(payout, finance_user)
    client.force_login(finance_user)

    for url in (PAYOUTS, reverse("admin:bounty_payout_history", args=[payout.pk]), TOTALS):
        assert SECRET.encode() not in client.get(url).content


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


def test_a_duplicate_reference_taken_in_a_race_is_a_form_error_not_a_crash(
    client, payout, finance_user, submit, triager, monkeypatch
):
    instructed(payout, finance_user)
    other = instructed(
        propose(triaged_report(submit, triager, title="Other"), triager), finance_user
    )
    set_status = payments._set_status

    def another_finance_user_records_tx1_first(target, status, **fields):
        # Between the service's check and its write, another payout is paid under TX-1.
        Payout.objects.filter(pk=other.pk).update(status=S.PAID, payment_reference="TX-1")
        set_status(target, status, **fields)

    # Recording a payment looks the status helper up in bounty.services.payments.
    monkeypatch.setattr(payments, "_set_status", another_finance_user_records_tx1_first)
    client.force_login(finance_user)

    response = client.post(
        reverse("admin:bounty_payout_mark_paid", args=[payout.pk]), {"payment_reference": "TX-1"}
    )

    assert response.status_code == 200
    assert "recorded for another payout" in response.content.decode()
    payout.refresh_from_db()
    assert payout.status == S.INSTRUCTED


@pytest.mark.parametrize("who", ["triager", "program_admin"])
def test_only_finance_reaches_the_payment_pages(client, request, payout, finance_user, who):
    instructed(payout, finance_user)
    batch = services.export_payment_batches(acting_user=finance_user)[0]
    client.force_login(request.getfixturevalue(who))

    for url in (
        reverse("admin:bounty_payout_mark_paid", args=[payout.pk]),
        SETTLEMENT,
        BATCHES,
        reverse("admin:bounty_paymentbatch_change", args=[batch.pk]),
        reverse("admin:bounty_paymentbatch_download", args=[batch.number]),
    ):
        assert client.get(url).status_code == 403
    assert client.post(EXPORT).status_code == 403
    assert PaymentBatch.objects.count() == 1


def _download(client, batch):
    response = client.get(reverse("admin:bounty_paymentbatch_download", args=[batch.number]))
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return response, list(csv.reader(io.StringIO(text)))


def test_the_export_button_makes_a_batch_finance_downloads(client, payout, finance_user):
    instructed(payout, finance_user)
    client.force_login(finance_user)

    listing = client.post(EXPORT, follow=True).content.decode()

    batch = PaymentBatch.objects.get()
    assert "Payment batch 1: 1 payout, 300.00 USD" in listing
    response, rows = _download(client, batch)
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == ('attachment; filename="payment-batch-00001-USD.csv"')
    assert rows[1][:2] == ["1", payout.instruction_reference]
    assert rows[1][5:] == ["Bank transfer", SECRET, "pay", "original"]


def test_the_batch_list_shows_number_who_when_total_and_count(client, payout, finance_user):
    instructed(payout, finance_user)
    services.export_payment_batches(acting_user=finance_user)
    client.force_login(finance_user)

    page = client.get(BATCHES).content.decode()

    for shown in ("300.00", "USD", finance_user.email, "Download"):
        assert shown in page


def test_an_earlier_batch_downloaded_again_says_so_and_is_recorded(
    client, payout, finance_user, second_finance_user
):
    instructed(payout, finance_user)
    [batch] = services.export_payment_batches(acting_user=finance_user)
    client.force_login(finance_user)
    _download(client, batch)
    client.force_login(second_finance_user)

    response, rows = _download(client, batch)

    assert response["Content-Disposition"] == (
        'attachment; filename="payment-batch-00001-USD-re-download.csv"'
    )
    assert {row[-1] for row in rows[1:]} == {"re-download"}
    assert [(d.downloaded_by, d.redownload) for d in batch.downloads.all()] == [
        (finance_user, False),
        (second_finance_user, True),
    ]
    page = client.get(reverse("admin:bounty_paymentbatch_change", args=[batch.pk]))
    assert second_finance_user.email in page.content.decode()


def test_a_settlement_upload_reports_each_row(client, payout, finance_user):
    instructed(payout, finance_user)
    services.export_payment_batches(acting_user=finance_user)
    client.force_login(finance_user)
    upload = SimpleUploadedFile(
        "settlement.csv",
        (
            "batch,reference,amount,currency,payment_reference\n"
            f"1,{payout.instruction_reference},300.00,USD,TX-1\n"
            "1,BD-PAY-99999999,10.00,USD,TX-2\n"
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
