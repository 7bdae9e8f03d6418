"""Proposing an award: who may, on which reports, inside the severity's range or justified, and
how many finance approvals its payout then needs."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError

from bounty import services
from bounty.models import Award, Payout, Severity
from reports import services as report_services
from reports.models import Deadline, Report
from tests.bounty.awarding import mails, propose, triaged_report

pytestmark = pytest.mark.django_db

BONUS = Award.Kind.BONUS


@pytest.fixture
def report(submit, triager):
    return triaged_report(submit, triager, severity="Medium")


@pytest.mark.parametrize(
    ("who", "may_propose"),
    [
        ("triager", True),
        ("superuser", True),
        ("finance_user", False),
        ("second_finance_user", False),
        ("program_admin", False),
        ("researcher", False),
        ("anonymous", False),
    ],
)
def test_only_triagers_and_superusers_propose_awards(request, report, who, may_propose):
    user = AnonymousUser() if who == "anonymous" else request.getfixturevalue(who)

    if may_propose:
        payout = propose(report, user)
        assert payout.award.proposed_by == user
    else:
        with pytest.raises(PermissionDenied):
            propose(report, user)
        assert not Award.objects.exists()


def test_an_award_inside_the_range_needs_one_approval(report, triager):
    payout = propose(report, triager, "300")

    assert payout.status == Payout.Status.AWAITING_APPROVAL
    assert payout.approvals_required == 1
    assert payout.award.outside_range is False
    assert (payout.amount, payout.currency) == (Decimal("300.00"), "USD")
    assert isinstance(payout.amount, Decimal)
    assert payout.reporter == report.reporter


@pytest.mark.parametrize("amount", ["250", "500"])
def test_the_ends_of_the_range_are_inside_it(report, triager, amount):
    assert propose(report, triager, amount).award.outside_range is False


@pytest.mark.parametrize("amount", ["249.99", "500.01", "50"])
def test_an_amount_outside_the_range_is_refused_without_a_written_justification(
    report, triager, amount
):
    with pytest.raises(ValidationError) as refused:
        propose(report, triager, amount, justification="   ")

    assert refused.value.code == "justification_required"
    assert not Award.objects.exists()


def test_an_amount_outside_the_range_with_a_justification_needs_one_more_approval(report, triager):
    payout = propose(report, triager, "700", justification="Also exposes the billing API.")

    assert payout.award.outside_range is True
    assert payout.award.justification == "Also exposes the billing API."
    assert payout.approvals_required == 2


def test_an_amount_above_the_dual_approval_threshold_needs_two_approvers(submit, triager, program):
    high = triaged_report(submit, triager, severity="High")

    assert propose(high, triager, "1000").approvals_required == 1
    high_too = triaged_report(submit, triager, severity="High", title="Second high")
    assert propose(high_too, triager, "1000.01").approvals_required == 2


def test_outside_the_range_and_above_the_threshold_needs_three_approvals(submit, triager, program):
    high = triaged_report(submit, triager, severity="High")

    payout = propose(high, triager, "2500", justification="Chains into remote code execution.")

    assert payout.approvals_required == 3


def test_the_threshold_is_set_per_program(report, triager, program):
    program.dual_approval_threshold = Decimal("200")
    program.save()

    assert propose(report, triager, "300").approvals_required == 2


def test_a_bonus_comes_on_top_of_a_bounty_and_says_why(report, triager):
    with pytest.raises(ValidationError) as without_bounty:
        propose(report, triager, "100", kind=BONUS, justification="Great write-up.")
    assert without_bounty.value.code == "no_bounty"

    propose(report, triager, "300")
    with pytest.raises(ValidationError) as without_reason:
        propose(report, triager, "100", kind=BONUS)
    assert without_reason.value.code == "justification_required"

    bonus = propose(report, triager, "100", kind=BONUS, justification="Great write-up.")
    assert bonus.award.kind == BONUS
    assert bonus.award.outside_range is False
    assert bonus.approvals_required == 1


def test_a_bonus_that_takes_the_report_above_the_range_needs_one_more_approval(report, triager):
    propose(report, triager, "450")

    bonus = propose(report, triager, "100", kind=BONUS, justification="Found a second path.")

    assert bonus.award.outside_range is True
    assert bonus.approvals_required == 2


def test_a_report_has_one_standing_bounty(report, triager, finance_user):
    first = propose(report, triager, "300")

    with pytest.raises(ValidationError) as refused:
        propose(report, triager, "350")
    assert refused.value.code == "bounty_exists"

    services.reject_payout(first, acting_user=finance_user, reason="Amount to be reviewed.")
    assert propose(report, triager, "350").award.kind == Award.Kind.BOUNTY


def test_a_disclosure_program_offers_no_awards(report, triager, program):
    program.bounties_enabled = False
    program.save()

    with pytest.raises(ValidationError) as refused:
        propose(report, triager, "300")

    assert refused.value.code == "bounties_disabled"
    assert services.may_propose_award(report, triager) is False


@pytest.mark.parametrize("status", ["submitted", "acknowledged", "needs_info", "closed"])
def test_awards_are_proposed_only_on_triaged_or_resolved_reports(submit, triager, status):
    report = submit()
    if status != "submitted":
        report_services.acknowledge_report(report, acting_user=triager)
    if status == "needs_info":
        report_services.request_information(report, acting_user=triager, question="Version?")
    if status == "closed":
        report_services.close_report(
            report, acting_user=triager, resolution=Report.Resolution.INFORMATIVE
        )

    with pytest.raises(ValidationError) as refused:
        propose(report, triager, "300")

    assert refused.value.code == "not_awardable"


def test_a_resolved_report_may_be_awarded(report, triager):
    report_services.resolve_report(report, acting_user=triager)

    assert propose(report, triager, "300").award.report == report


def test_the_award_is_in_the_severitys_currency(report, triager):
    with pytest.raises(ValidationError) as refused:
        services.propose_award(report, acting_user=triager, amount="300", currency="EUR")

    assert refused.value.code == "wrong_currency"


@pytest.mark.parametrize("amount", ["0", "-300", "300.001", "lots", "NaN", "Infinity"])
def test_an_award_is_a_positive_amount_in_cents(report, triager, amount):
    with pytest.raises(ValidationError):
        services.propose_award(report, acting_user=triager, amount=amount, currency="USD")


def test_a_severity_in_another_currency_than_the_program_always_needs_two_approvals(
    report, triager
):
    Severity.objects.filter(name="Medium").update(currency="EUR")
    report.refresh_from_db()

    award = services.propose_award(report, acting_user=triager, amount="300", currency="EUR")

    assert award.payout.approvals_required == 2


def test_proposing_meets_the_award_decision_deadline(report, triager):
    propose(report, triager, "300")

    deadline = report.deadlines.get(kind=Deadline.Kind.AWARD_DECISION)
    assert deadline.met_at is not None


def test_every_finance_user_is_asked_by_mail_and_nobody_else(
    report, triager, finance_user, second_finance_user, researcher
):
    report.reporter.payment_details = "IBAN SECRET-4711"
    report.reporter.save()

    propose(report, triager, "300")

    asked = mails("award_proposed")
    assert sorted(m.to for m in asked) == sorted([finance_user.email, second_finance_user.email])
    for mail in asked:
        assert report.public_id in mail.subject
        assert "300.00 USD" in mail.body_text
        assert "/admin/bounty/payoutawaitingmyapproval/" in mail.body_text
        assert "SECRET-4711" not in mail.body_text + mail.body_html
        assert report.description not in mail.body_text


def test_the_history_names_the_proposer(report, triager):
    payout = propose(report, triager, "300")

    assert payout.award.history.get().history_user == triager
    assert payout.history.get().history_user == triager
