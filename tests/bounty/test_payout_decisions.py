"""Every move of a payout records one decision (from, to, who, when, why) in the move's own
transaction, whoever or whatever makes it; the payout's admin page shows them."""

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from bounty import emails, services
from bounty.models import Payout, PayoutStatusChange
from bounty.services import IllegalPayoutMove
from tests.audit.decisions import decision_rows
from tests.bounty.awarding import approved, instructed, propose, triaged_report

pytestmark = pytest.mark.django_db

S = Payout.Status


@pytest.fixture
def payout(submit, triager):
    return propose(triaged_report(submit, triager), triager, "300")


def _decisions(payout):
    return list(
        payout.status_changes.values_list("from_status", "to_status", "acting_user", "actor")
    )


def test_a_proposed_payout_has_no_decision_yet(payout):
    assert _decisions(payout) == []


def test_approving_records_the_approver(payout, finance_user):
    payout = approved(payout, finance_user)

    [decision] = payout.status_changes.all()
    assert (decision.from_status, decision.to_status) == (S.AWAITING_APPROVAL, S.APPROVED)
    assert (decision.acting_user, decision.actor) == (finance_user, finance_user.email)
    assert payout.approved_at <= decision.at == payout.updated_at


def test_an_approval_short_of_the_required_ones_is_no_move(
    submit, triager, finance_user, second_finance_user
):
    payout = propose(triaged_report(submit, triager, "Critical"), triager, "2000")

    payout = approved(payout, finance_user)
    assert _decisions(payout) == []

    payout = approved(payout, second_finance_user)
    assert _decisions(payout) == [
        (S.AWAITING_APPROVAL, S.APPROVED, second_finance_user.pk, second_finance_user.email)
    ]


def test_rejecting_records_the_reason(payout, finance_user):
    services.reject_payout(payout, acting_user=finance_user, reason="Out of scope asset.")

    [decision] = payout.status_changes.all()
    assert (decision.from_status, decision.to_status) == (S.AWAITING_APPROVAL, S.REJECTED)
    assert decision.acting_user == finance_user
    assert decision.reason == "Out of scope asset."


def test_the_instruction_is_recorded_as_the_systems_decision(payout, finance_user):
    payout = instructed(payout, finance_user)

    decision = payout.status_changes.get(to_status=S.INSTRUCTED)
    assert (decision.acting_user, decision.actor) == (None, "system")
    assert decision.reason == "system: payment instruction created"
    assert payout.instructed_at <= decision.at == payout.updated_at


def test_paying_records_who_paid_once_however_often_it_is_recorded(payout, finance_user):
    payout = instructed(payout, finance_user)

    for _ in range(2):
        services.mark_payout_paid(payout, acting_user=finance_user, payment_reference="TX-1")

    assert _decisions(payout) == [
        (S.AWAITING_APPROVAL, S.APPROVED, finance_user.pk, finance_user.email),
        (S.APPROVED, S.INSTRUCTED, None, "system"),
        (S.INSTRUCTED, S.PAID, finance_user.pk, finance_user.email),
    ]


def test_an_illegal_move_records_no_decision(payout, finance_user):
    with pytest.raises(IllegalPayoutMove):
        services.mark_payout_paid(payout, acting_user=finance_user, payment_reference="TX-1")

    assert _decisions(payout) == []


def test_a_move_that_fails_after_its_decision_is_written_leaves_neither(
    payout, finance_user, monkeypatch
):
    def refuse(*args, **kwargs):
        raise ConnectionError("the outbox is unreachable")

    monkeypatch.setattr(emails, "mail_payout_rejected", refuse)

    with pytest.raises(ConnectionError):
        services.reject_payout(payout, acting_user=finance_user, reason="No.")

    payout.refresh_from_db()
    assert payout.status == S.AWAITING_APPROVAL
    assert _decisions(payout) == []


def test_the_payout_admin_shows_every_decision_with_who_and_why(client, payout, finance_user):
    services.reject_payout(payout, acting_user=finance_user, reason="Already paid elsewhere.")
    client.force_login(finance_user)

    page = client.get(reverse("admin:bounty_payout_change", args=[payout.pk])).content.decode()

    assert decision_rows(page) == [
        ("Awaiting approval", "Rejected", finance_user.email, "Already paid elsewhere."),
    ]


def test_the_backfill_rebuilds_from_history_the_decisions_the_moves_record(payout, finance_user):
    payout = instructed(payout, finance_user)
    services.mark_payout_paid(payout, acting_user=finance_user, payment_reference="TX-1")
    recorded = _decisions(payout)
    PayoutStatusChange.objects.all().delete()
    migration = importlib.import_module("bounty.migrations.0009_backfill_payout_status_changes")

    migration.backfill_decisions(apps, None)
    migration.backfill_decisions(apps, None)

    assert _decisions(payout) == recorded
