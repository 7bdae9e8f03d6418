"""Exactly once under real concurrency: threads released together by a barrier, each on its own
PostgreSQL connection, approve, instruct and pay the same payout at the same instant."""

import threading

import pytest
from django.db import connection

from bounty import services, tasks
from bounty.models import Payout
from outbox import tasks as outbox_tasks
from tests.bounty.awarding import (
    approved,
    instructed,
    mails,
    propose,
    triaged_report,
)

pytestmark = pytest.mark.django_db(transaction=True)

S = Payout.Status


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")


@pytest.fixture
def instruction_requests(monkeypatch):
    """Run each requested instruction task at once, in the requesting thread, as a worker would."""
    requested = []

    def run_now(payout_id):
        requested.append(payout_id)
        tasks.create_payment_instruction_task(payout_id)

    monkeypatch.setattr(tasks.create_payment_instruction_task, "delay", run_now)
    # Mail stays in the outbox: no broker traffic from these tests.
    monkeypatch.setattr(outbox_tasks.deliver_mail_task, "delay", lambda mail_id: None)
    return requested


def writes_of(payout, status):
    """How many history rows show the payout being saved with ``status``: a second instruction
    or payment, even one writing the same values, leaves a second row."""
    return payout.history.filter(status=status).count()


def race(*calls):
    """Start every call at the same instant in its own thread; return what each raised."""
    start = threading.Barrier(len(calls))
    errors = []

    def run(call):
        try:
            start.wait()
            call()
        except Exception as error:  # reported by the caller's assertions
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return errors


@pytest.fixture
def large_payout(submit, triager):
    return propose(triaged_report(submit, triager, severity="Critical"), triager, "2000")


@pytest.fixture
def payout(submit, triager):
    return propose(triaged_report(submit, triager), triager, "300")


def test_two_finance_users_approving_at_once_give_one_instruction(
    large_payout, finance_user, second_finance_user, instruction_requests
):
    errors = race(
        lambda: services.approve_payout(large_payout, acting_user=finance_user),
        lambda: services.approve_payout(large_payout, acting_user=second_finance_user),
    )

    assert errors == []
    large_payout.refresh_from_db()
    assert large_payout.status == S.INSTRUCTED
    assert large_payout.approvals.count() == 2
    assert instruction_requests == [large_payout.pk]
    assert writes_of(large_payout, S.APPROVED) == 1
    assert writes_of(large_payout, S.INSTRUCTED) == 1
    assert len(mails("payout_approved")) == 1


def test_the_same_user_approving_twice_at_once_counts_once(
    large_payout, finance_user, instruction_requests
):
    errors = race(
        lambda: services.approve_payout(large_payout, acting_user=finance_user),
        lambda: services.approve_payout(large_payout, acting_user=finance_user),
    )

    assert errors == []
    large_payout.refresh_from_db()
    assert large_payout.status == S.AWAITING_APPROVAL
    assert large_payout.approvals.count() == 1
    assert instruction_requests == []


def test_the_same_user_double_clicking_approve_gives_one_instruction(
    payout, finance_user, instruction_requests
):
    errors = race(*[lambda: services.approve_payout(payout, acting_user=finance_user)] * 3)

    assert errors == []
    payout.refresh_from_db()
    assert payout.status == S.INSTRUCTED
    assert instruction_requests == [payout.pk]
    assert writes_of(payout, S.INSTRUCTED) == 1


def test_two_finance_users_approving_a_one_approval_payout_at_once_approve_it_once(
    payout, finance_user, second_finance_user, instruction_requests
):
    errors = race(
        lambda: services.approve_payout(payout, acting_user=finance_user),
        lambda: services.approve_payout(payout, acting_user=second_finance_user),
    )

    # The one who came second finds it approved already and is told so.
    assert [type(error) for error in errors] == [services.IllegalPayoutMove]
    payout.refresh_from_db()
    assert payout.status == S.INSTRUCTED
    assert payout.approvals.count() == 1
    assert instruction_requests == [payout.pk]


def test_two_workers_running_the_instruction_task_at_once_create_one_instruction(
    payout, finance_user
):
    approved(payout, finance_user)
    created = []

    errors = race(*[lambda: created.append(tasks.create_payment_instruction_task(payout.pk))] * 2)

    assert errors == []
    assert sorted(created) == [False, True]
    assert writes_of(payout, S.INSTRUCTED) == 1


def test_two_finance_users_marking_paid_at_once_pay_once(
    payout, finance_user, second_finance_user, instruction_requests
):
    instructed(payout, finance_user)

    errors = race(
        lambda: services.mark_payout_paid(
            payout, acting_user=finance_user, payment_reference="TX-1"
        ),
        lambda: services.mark_payout_paid(
            payout, acting_user=second_finance_user, payment_reference="TX-1"
        ),
    )

    assert errors == []
    payout.refresh_from_db()
    assert payout.status == S.PAID
    assert writes_of(payout, S.PAID) == 1
    assert len(mails("payout_paid")) == 1


def test_two_different_payments_at_once_record_only_the_first(
    payout, finance_user, second_finance_user, instruction_requests
):
    instructed(payout, finance_user)

    errors = race(
        lambda: services.mark_payout_paid(
            payout, acting_user=finance_user, payment_reference="TX-1"
        ),
        lambda: services.mark_payout_paid(
            payout, acting_user=second_finance_user, payment_reference="TX-2"
        ),
    )

    assert len(errors) == 1
    payout.refresh_from_db()
    assert payout.payment_reference in {"TX-1", "TX-2"}
    assert writes_of(payout, S.PAID) == 1
