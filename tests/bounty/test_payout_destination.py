"""Approval covers where the money goes: a payout carries the payment details as they were when
its award was proposed, and a change of them before the payment voids the approvals, whoever
makes it: the researcher, or an account a reporter was re-linked to."""

import csv
import html
import io
import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from bounty import selectors, services
from bounty.models import PaymentBatchLine, Payout
from bounty.payment_csv import stream_payment_batch
from bounty.services import Outcome
from reports import services as report_services
from reports.models import Reporter
from tests.bounty.awarding import approved, instructed, mails, propose, triaged_report
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

S = Payout.Status
VICTIM_IBAN = "IBAN DE89 3704 0044 0532 0130 00"
ATTACKER_PAYPAL = "attacker@evil.example"
SHOWN_AT = re.compile(r'name="destination_shown_at" value="([^"]+)"')


@pytest.fixture
def reporter(researcher):
    return report_services.update_payment_details(
        researcher.reporter, acting_user=researcher, method="bank_transfer", details=VICTIM_IBAN
    )


@pytest.fixture
def payout(reporter, submit, triager):
    return propose(triaged_report(submit, triager), triager, "300")


@pytest.fixture
def attacker(reporter):
    """An account the reporter was re-linked to, as ReporterAdmin let a triager do."""
    account = UserFactory(email="fresh-account@evil.example")
    Reporter.objects.filter(pk=reporter.pk).update(user=account)
    return account


def _redirect(reporter, user, details=ATTACKER_PAYPAL):
    return report_services.update_payment_details(
        reporter, acting_user=user, method="paypal", details=details
    )


def _rows(batch, *, redownload=False):
    lines = selectors.batch_lines(batch).iterator(chunk_size=10)
    text = "".join(stream_payment_batch(batch, lines, redownload=redownload))
    return list(csv.DictReader(io.StringIO(text)))


def test_the_payout_keeps_the_destination_of_the_proposal(payout):
    assert (payout.destination_method, payout.destination_details) == (
        "bank_transfer",
        VICTIM_IBAN,
    )


@pytest.mark.parametrize("who", ["the researcher", "a re-linked account"])
def test_changed_details_void_the_approvals_of_an_approved_payout(
    request, payout, reporter, researcher, finance_user, who
):
    approved(payout, finance_user)
    changer = researcher if who == "the researcher" else request.getfixturevalue("attacker")

    _redirect(reporter, changer)

    payout.refresh_from_db()
    assert payout.status == S.AWAITING_APPROVAL
    assert payout.approved_at is None
    assert [a.voided_at is not None for a in payout.approvals.all()] == [True]
    assert (payout.destination_method, payout.destination_details) == ("paypal", ATTACKER_PAYPAL)
    back = payout.history.latest()
    assert back.history_user == changer
    assert "changed their payment details" in back.history_change_reason


def test_an_exported_payout_pays_the_old_destination_from_no_file(
    payout, reporter, attacker, finance_user, second_finance_user
):
    instructed(payout, finance_user)
    [batch] = services.export_payment_batches(acting_user=finance_user)
    reference = payout.instruction_reference

    _redirect(reporter, attacker)

    payout.refresh_from_db()
    assert payout.status == S.AWAITING_APPROVAL
    assert payout.instruction_reference == ""
    [row] = _rows(batch, redownload=True)
    assert (row["reference"], row["line"], row["account"]) == (reference, "void: do not pay", "")
    assert ATTACKER_PAYPAL not in str(_rows(batch))
    settled = services.import_settlement(
        io.BytesIO(
            f"batch,reference,amount,currency,payment_reference\n1,{reference},300,USD,TX-1\n".encode()
        ),
        acting_user=second_finance_user,
    )
    assert settled.rows[0].outcome == Outcome.VOID
    payout.refresh_from_db()
    assert payout.status == S.AWAITING_APPROVAL


def test_the_new_destination_is_paid_only_after_a_new_approval(
    payout, reporter, attacker, finance_user
):
    instructed(payout, finance_user)
    services.export_payment_batches(acting_user=finance_user)
    _redirect(reporter, attacker)

    assert services.export_payment_batches(acting_user=finance_user) == []
    instructed(payout, finance_user)
    [second] = services.export_payment_batches(acting_user=finance_user)

    [row] = _rows(second)
    assert (row["batch"], row["method"], row["account"]) == ("2", "PayPal", ATTACKER_PAYPAL)
    assert PaymentBatchLine.objects.filter(payout=payout, voided_at__isnull=True).count() == 1


def test_the_file_carries_the_approved_destination_whatever_the_reporter_row_says_now(
    payout, reporter, finance_user
):
    instructed(payout, finance_user)
    # A write that skips the service (a database console, a bug) moves no money.
    Reporter.objects.filter(pk=reporter.pk).update(payment_method="paypal")
    reporter.refresh_from_db()
    reporter.payment_details = ATTACKER_PAYPAL
    reporter.save(update_fields=["payment_details"])

    [batch] = services.export_payment_batches(acting_user=finance_user)

    [row] = _rows(batch)
    assert (row["method"], row["account"]) == ("Bank transfer", VICTIM_IBAN)


def test_approvers_see_the_destination_they_approve_not_the_reporters_current(
    client, payout, reporter, finance_user
):
    reporter.payment_details = "IBAN NOT-APPROVED-0000"
    reporter.save(update_fields=["payment_details"])
    client.force_login(finance_user)

    page = client.get(reverse("admin:bounty_payoutawaitingmyapproval_changelist")).content.decode()

    assert VICTIM_IBAN in page
    assert "NOT-APPROVED" not in page


def test_a_void_approval_lets_its_approver_decide_the_new_destination(
    payout, reporter, researcher, finance_user
):
    approved(payout, finance_user)
    _redirect(reporter, researcher)

    assert list(selectors.payouts_awaiting_approval_by(finance_user)) == [payout]
    approved(payout, finance_user)

    assert payout.status == S.APPROVED
    assert payout.approvals.filter(voided_at__isnull=True).count() == 1


def test_a_payout_awaiting_its_second_approval_starts_over(
    reporter, researcher, submit, triager, finance_user, second_finance_user
):
    large = propose(triaged_report(submit, triager, severity="Critical"), triager, "2000")
    approved(large, finance_user)

    _redirect(reporter, researcher)
    approved(large, second_finance_user)

    assert large.status == S.AWAITING_APPROVAL
    assert "1 of 2" not in str(selectors.payouts_awaiting_approval_by(second_finance_user))


def test_finance_and_the_researcher_are_told_and_no_mail_carries_the_details(
    payout, reporter, attacker, finance_user, second_finance_user, researcher
):
    approved(payout, finance_user)
    mailed_before = len(mails("payment_details_changed", to=researcher.email))

    _redirect(reporter, attacker)

    told = {mail.to for mail in mails("payout_destination_changed")}
    assert told == {finance_user.email, second_finance_user.email}
    assert len(mails("payment_details_changed", to=researcher.email)) == mailed_before + 1
    assert len(mails("payment_details_changed", to=attacker.email)) == 1
    for mail in [*mails("payout_destination_changed"), *mails("payment_details_changed")]:
        for text in (mail.subject, mail.body_text, mail.body_html):
            assert ATTACKER_PAYPAL not in text
            assert VICTIM_IBAN not in text


def test_the_researcher_is_mailed_on_every_change_of_their_details(researcher):
    reporter = researcher.reporter
    _redirect(reporter, researcher, "a@example.test")
    _redirect(reporter, researcher, "b@example.test")

    assert len(mails("payment_details_changed", to=researcher.email)) == 2


def test_saving_the_same_details_again_changes_nothing(payout, reporter, researcher, finance_user):
    approved(payout, finance_user)
    mails_before = len(mails("payment_details_changed"))

    report_services.update_payment_details(
        reporter, acting_user=researcher, method="bank_transfer", details=f"  {VICTIM_IBAN} "
    )

    payout.refresh_from_db()
    assert payout.status == S.APPROVED
    assert len(mails("payment_details_changed")) == mails_before


def test_a_paid_payout_keeps_its_record(payout, reporter, researcher, finance_user):
    instructed(payout, finance_user)
    services.mark_payout_paid(payout, acting_user=finance_user, payment_reference="TX-1")

    _redirect(reporter, researcher)

    payout.refresh_from_db()
    assert (payout.status, payout.destination_details) == (S.PAID, VICTIM_IBAN)
    assert payout.approvals.filter(voided_at__isnull=True).count() == 1


def test_a_rejected_payout_stays_rejected(payout, reporter, researcher, finance_user):
    services.reject_payout(payout, acting_user=finance_user, reason="Out of scope.")

    _redirect(reporter, researcher)

    payout.refresh_from_db()
    assert payout.status == S.REJECTED


def _queue_approve(client, payout, shown_at):
    return client.post(
        reverse("admin:bounty_payoutawaitingmyapproval_changelist"),
        {
            "action": "approve",
            ACTION_CHECKBOX_NAME: [payout.pk],
            "index": 0,
            "destination_shown_at": shown_at,
        },
        follow=True,
    )


def test_an_approval_from_a_page_shown_before_the_details_changed_is_refused(
    client, payout, reporter, researcher, finance_user
):
    queue = reverse("admin:bounty_payoutawaitingmyapproval_changelist")
    client.force_login(finance_user)
    page = client.get(queue).content.decode()
    shown_at = html.unescape(SHOWN_AT.search(page)[1])
    _redirect(reporter, researcher)

    refused = _queue_approve(client, payout, shown_at).content.decode()

    assert "changed their payment details after the page was shown" in refused
    payout.refresh_from_db()
    assert payout.status == S.AWAITING_APPROVAL
    assert not payout.approvals.filter(voided_at__isnull=True).exists()
    shown_again = html.unescape(SHOWN_AT.search(client.get(queue).content.decode())[1])
    _queue_approve(client, payout, shown_again)
    payout.refresh_from_db()
    assert payout.status == S.APPROVED
