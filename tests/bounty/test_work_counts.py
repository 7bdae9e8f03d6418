"""What finance and program admins are shown as waiting: the approval queue's count, approvals
past the escalation threshold (the same rule the escalation task follows), open batches, and
the money approved and not yet paid."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bounty import selectors, services
from bounty.models import PaymentBatchLine, Payout
from tests.bounty.awarding import approved, instructed, propose, triaged_report

pytestmark = pytest.mark.django_db


def _proposed_on(payout, moment):
    Payout.objects.filter(pk=payout.pk).update(created_at=moment)


@pytest.mark.parametrize(
    "now",
    [
        # The reference program: three business days, in Los Angeles, with US holidays.
        datetime(2025, 3, 12, 20, tzinfo=UTC),  # a Wednesday afternoon
        datetime(2025, 3, 17, 6, 30, tzinfo=UTC),  # Sunday night in Los Angeles
        datetime(2025, 11, 28, 18, tzinfo=UTC),  # the Friday after Thanksgiving
        datetime(2025, 12, 29, 7, 59, 59, tzinfo=UTC),  # a minute before a local midnight
    ],
)
def test_stale_approvals_are_exactly_those_the_escalation_task_escalates(
    submit, triager, finance_user, program, now
):
    payouts = []
    for hours_back in range(0, 24 * 12, 7):
        payout = propose(triaged_report(submit, triager, title=f"{hours_back} h"), triager)
        _proposed_on(payout, now - timedelta(hours=hours_back))
        payouts.append(payout)

    stale = set(selectors.stale_approvals(program, now).values_list("pk", flat=True))
    services.escalate_stale_approvals(now=now)
    escalated = set(Payout.objects.filter(escalated_at__isnull=False).values_list("pk", flat=True))

    assert stale == escalated
    assert 0 < len(stale) < len(payouts)


def test_a_decided_payout_is_not_a_stale_approval(submit, triager, finance_user, program):
    payout = approved(propose(triaged_report(submit, triager), triager), finance_user)
    _proposed_on(payout, timezone.now() - timedelta(days=30))

    assert not selectors.stale_approvals(program).exists()


def test_the_queue_count_is_the_length_of_each_users_queue(
    submit, triager, finance_user, second_finance_user, superuser
):
    waiting = propose(triaged_report(submit, triager, title="Waiting"), triager)
    approved(
        propose(triaged_report(submit, triager, severity="High", title="Big"), triager, "1200"),
        finance_user,
    )

    for user in (finance_user, second_finance_user, superuser, triager):
        assert selectors.count_payouts_awaiting_approval_by(user) == len(
            selectors.payouts_awaiting_approval_by(user)
        )
    assert selectors.count_payouts_awaiting_approval_by(triager) == 0
    assert list(selectors.payouts_awaiting_approval_by(finance_user)) == [waiting]


def test_a_batch_is_open_while_a_live_line_waits_to_be_paid(submit, triager, finance_user):
    first = instructed(propose(triaged_report(submit, triager, title="A"), triager), finance_user)
    second = instructed(propose(triaged_report(submit, triager, title="B"), triager), finance_user)
    [batch] = services.export_payment_batches(acting_user=finance_user)
    assert list(selectors.open_payment_batches()) == [batch]

    services.mark_payout_paid(first, acting_user=finance_user, payment_reference="BANK-1")
    assert list(selectors.open_payment_batches()) == [batch], "one payout still to pay"

    PaymentBatchLine.objects.filter(payout=second).update(voided_at=timezone.now())
    assert list(selectors.open_payment_batches()) == [], "a void line is not to be paid from"


def test_approved_not_paid_totals_are_per_currency(submit, triager, finance_user):
    instructed(propose(triaged_report(submit, triager, title="A"), triager, "300"), finance_user)
    approved(propose(triaged_report(submit, triager, title="B"), triager, "250"), finance_user)
    propose(triaged_report(submit, triager, title="Waiting"), triager, "400")
    euros = instructed(
        propose(triaged_report(submit, triager, title="C"), triager, "260"), finance_user
    )
    Payout.objects.filter(pk=euros.pk).update(currency="EUR")

    totals = selectors.approved_not_paid_totals()

    assert [(row["currency"], row["total"], row["payouts"]) for row in totals] == [
        ("EUR", Decimal("260"), 1),
        ("USD", Decimal("550"), 2),
    ]
