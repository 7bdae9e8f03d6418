"""Once approved, a payout gets one payment instruction however often its task runs, and is
paid once, by finance, under one payment reference; every change has history naming who made it."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from bounty import services, tasks
from bounty.models import Payout
from bounty.services import IllegalPayoutMove
from reports.models import Reporter
from tests.bounty.awarding import (
    approved,
    instructed,
    mails,
    propose,
    status_changes_to,
    triaged_report,
)

pytestmark = pytest.mark.django_db

S = Payout.Status


@pytest.fixture
def payout(submit, triager):
    return propose(triaged_report(submit, triager), triager, "300")


@pytest.fixture
def approved_payout(payout, finance_user):
    return approved(payout, finance_user)


@pytest.fixture
def instructed_payout(approved_payout):
    services.create_payment_instruction(approved_payout.pk)
    approved_payout.refresh_from_db()
    return approved_payout


def test_the_instruction_task_creates_one_instruction_however_often_it_runs(approved_payout):
    assert tasks.create_payment_instruction_task(approved_payout.pk) is True
    assert tasks.create_payment_instruction_task(approved_payout.pk) is False

    approved_payout.refresh_from_db()
    reference = approved_payout.instruction_reference
    # A worker killed after the commit but before the acknowledgement: the broker redelivers.
    assert tasks.create_payment_instruction_task(approved_payout.pk) is False

    approved_payout.refresh_from_db()
    assert approved_payout.status == S.INSTRUCTED
    assert approved_payout.instruction_reference == reference
    assert status_changes_to(approved_payout, S.INSTRUCTED) == 1


def test_a_worker_killed_before_the_commit_leaves_the_instruction_to_the_redelivery(
    approved_payout,
):
    with pytest.raises(SystemExit), transaction.atomic():
        services.create_payment_instruction(approved_payout.pk)
        raise SystemExit("worker killed")
    approved_payout.refresh_from_db()
    assert approved_payout.status == S.APPROVED

    assert tasks.create_payment_instruction_task(approved_payout.pk) is True
    assert tasks.create_payment_instruction_task(approved_payout.pk) is False
    assert status_changes_to(approved_payout, S.INSTRUCTED) == 1


def test_the_instruction_reference_is_derived_from_the_payout(instructed_payout):
    assert instructed_payout.instruction_reference == f"BD-PAY-{instructed_payout.pk:08d}"
    assert instructed_payout.instructed_at is not None


def test_two_payouts_can_never_share_an_instruction(instructed_payout, submit, triager):
    other = propose(triaged_report(submit, triager, title="Another"), triager, "300")

    with pytest.raises(IntegrityError), transaction.atomic():
        Payout.objects.filter(pk=other.pk).update(
            instruction_reference=instructed_payout.instruction_reference
        )


def test_the_instruction_carries_the_destination_the_approval_covered(approved_payout):
    Reporter.objects.filter(pk=approved_payout.reporter_id).update(payment_method="paypal")

    services.create_payment_instruction(approved_payout.pk)

    approved_payout.refresh_from_db()
    assert approved_payout.status == S.INSTRUCTED
    assert approved_payout.destination_method == ""


@pytest.mark.parametrize("state", ["awaiting", "rejected"])
def test_only_an_approved_payout_gets_an_instruction(payout, finance_user, state):
    if state == "rejected":
        services.reject_payout(payout, acting_user=finance_user, reason="No.")

    assert services.create_payment_instruction(payout.pk) is False
    payout.refresh_from_db()
    assert payout.instruction_reference == ""


def test_the_instruction_is_recorded_as_a_system_action(instructed_payout):
    latest = instructed_payout.history.latest()

    assert latest.status == S.INSTRUCTED
    assert latest.history_user is None
    assert latest.history_change_reason == "system: payment instruction created"


def test_the_sweep_instructs_approved_payouts_that_have_no_instruction(
    approved_payout, instructed_payout, submit, triager, finance_user
):
    waiting = approved(
        propose(triaged_report(submit, triager, title="Waiting"), triager, "300"), finance_user
    )

    assert services.instruct_approved_payouts() == 1
    assert services.instruct_approved_payouts() == 0
    waiting.refresh_from_db()
    assert waiting.status == S.INSTRUCTED


PAYERS = [
    ("finance_user", True),
    ("second_finance_user", True),
    ("superuser", True),
    ("triager", False),
    ("program_admin", False),
    ("researcher", False),
    ("anonymous", False),
]


@pytest.mark.parametrize(("who", "may_pay"), PAYERS)
def test_only_finance_records_payments(request, instructed_payout, who, may_pay):
    user = AnonymousUser() if who == "anonymous" else request.getfixturevalue(who)

    if may_pay:
        services.mark_payout_paid(instructed_payout, acting_user=user, payment_reference="TX-1")
        instructed_payout.refresh_from_db()
        assert instructed_payout.status == S.PAID
    else:
        with pytest.raises(PermissionDenied):
            services.mark_payout_paid(instructed_payout, acting_user=user, payment_reference="TX-1")


def test_marking_paid_records_the_reference_and_tells_the_researcher(
    instructed_payout, second_finance_user, researcher
):
    instructed_payout.reporter.payment_details = "IBAN SECRET-4711"
    instructed_payout.reporter.save()

    services.mark_payout_paid(
        instructed_payout, acting_user=second_finance_user, payment_reference=" TX-1 "
    )

    instructed_payout.refresh_from_db()
    assert instructed_payout.payment_reference == "TX-1"
    assert instructed_payout.paid_at is not None
    [mail] = mails("payout_paid", to=researcher.email)
    assert instructed_payout.award.report.public_id in mail.subject
    assert "SECRET-4711" not in mail.body_text + mail.body_html


def test_marking_paid_twice_with_the_same_reference_pays_once(instructed_payout, finance_user):
    services.mark_payout_paid(instructed_payout, acting_user=finance_user, payment_reference="TX-1")
    services.mark_payout_paid(instructed_payout, acting_user=finance_user, payment_reference="TX-1")

    assert status_changes_to(instructed_payout, S.PAID) == 1
    assert len(mails("payout_paid")) == 1


def test_a_paid_payout_is_not_paid_again_under_another_reference(instructed_payout, finance_user):
    services.mark_payout_paid(instructed_payout, acting_user=finance_user, payment_reference="TX-1")

    with pytest.raises(ValidationError) as refused:
        services.mark_payout_paid(
            instructed_payout, acting_user=finance_user, payment_reference="TX-2"
        )

    assert refused.value.code == "paid_already"
    instructed_payout.refresh_from_db()
    assert instructed_payout.payment_reference == "TX-1"


def test_a_payout_without_an_instruction_cannot_be_paid(approved_payout, finance_user):
    with pytest.raises(IllegalPayoutMove):
        services.mark_payout_paid(
            approved_payout, acting_user=finance_user, payment_reference="TX-1"
        )


def test_a_payment_needs_a_reference(instructed_payout, finance_user):
    with pytest.raises(ValidationError):
        services.mark_payout_paid(instructed_payout, acting_user=finance_user, payment_reference="")


def test_a_payment_reference_pays_one_payout(instructed_payout, finance_user, submit, triager):
    services.mark_payout_paid(instructed_payout, acting_user=finance_user, payment_reference="TX-1")
    other = instructed(
        propose(triaged_report(submit, triager, title="Other"), triager, "300"), finance_user
    )

    with pytest.raises(ValidationError) as refused:
        services.mark_payout_paid(other, acting_user=finance_user, payment_reference="TX-1")

    assert refused.value.code == "reference_used"


def test_every_payout_change_has_history_naming_who_made_it(
    payout, triager, finance_user, second_finance_user
):
    approved(payout, finance_user)
    tasks.create_payment_instruction_task(payout.pk)
    services.mark_payout_paid(payout, acting_user=second_finance_user, payment_reference="TX-1")

    trail = [
        (row.status, row.history_user)
        for row in payout.history.order_by("history_date", "history_id")
    ]
    assert trail == [
        (S.AWAITING_APPROVAL, triager),
        (S.APPROVED, finance_user),
        (S.INSTRUCTED, None),
        (S.PAID, second_finance_user),
    ]
    assert payout.approvals.get().history.get().history_user == finance_user


def test_amounts_are_decimals_with_their_currency(instructed_payout):
    instructed_payout.refresh_from_db()

    assert instructed_payout.amount == Decimal("300.00")
    assert isinstance(instructed_payout.amount, Decimal)
    assert instructed_payout.currency == "USD"
