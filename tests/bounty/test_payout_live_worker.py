"""Payment instructions on a real worker through Redis: approval hands the task over on commit,
and a worker killed in the middle of the task leaves exactly one instruction behind."""

import pytest
from django.db import connection, transaction

from bounty import services
from bounty.models import Payout
from bounty.services import awards
from bounty.tasks import create_payment_instruction_task, instruct_approved_payouts_task
from tests.bounty.awarding import approved, propose, triaged_report
from tests.celery_live import wait_for

S = Payout.Status


@pytest.fixture
def payout(submit, triager):
    return propose(triaged_report(submit, triager), triager, "300")


def _status(payout):
    return Payout.objects.get(pk=payout.pk).status


def _succeeded(worker, task, result) -> int:
    """How many runs of ``task`` the worker's log shows finishing with ``result``."""
    return sum(
        f"Task {task}[" in line and " succeeded in " in line and line.endswith(f": {result}")
        for line in worker.log_tail(200).splitlines()
    )


def _someone_waits_for_our_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks "
            "WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
        )
        return cursor.fetchone()[0] > 0


def test_the_last_approval_has_a_worker_create_the_instruction(
    celery_worker_process, payout, finance_user
):
    services.approve_payout(payout, acting_user=finance_user)

    wait_for(lambda: _status(payout) == S.INSTRUCTED, timeout=30, description="the instruction")
    payout.refresh_from_db()
    assert payout.instruction_reference == services.instruction_reference_for(payout)
    assert payout.history.filter(status=S.INSTRUCTED).get().history_user is None


def test_a_worker_killed_mid_task_is_redelivered_and_instructs_once(
    celery_worker_process, payout, finance_user, monkeypatch
):
    # Approve without handing the task over: this test hands it over itself, at a chosen time.
    # approve_payout looks the hand-over up in bounty.services.awards.
    monkeypatch.setattr(awards, "_request_instruction", lambda payout_id: None)
    approved(payout, finance_user)

    with transaction.atomic():
        # Holding the table lock stops the worker inside the task, before it writes anything.
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE bounty_payout IN EXCLUSIVE MODE")
        create_payment_instruction_task.delay(payout.pk)
        wait_for(_someone_waits_for_our_lock, description="the task to wait for the lock")
        celery_worker_process.kill()

    assert _status(payout) == S.APPROVED
    celery_worker_process.start_after_visibility_timeout()
    wait_for(
        lambda: _status(payout) == S.INSTRUCTED,
        timeout=30,
        description="the redelivered task to create the instruction",
    )
    # A retry, a second worker and the sweep all find it done.
    create_payment_instruction_task.delay(payout.pk)
    create_payment_instruction_task.delay(payout.pk)
    instruct_approved_payouts_task.delay()
    wait_for(
        lambda: (
            _succeeded(celery_worker_process, "bounty.create_payment_instruction", "False") == 2
            and _succeeded(celery_worker_process, "bounty.instruct_approved_payouts", "0") == 1
        ),
        timeout=15,
        description="the retries and the sweep to finish, changing nothing",
    )
    assert payout.history.filter(status=S.INSTRUCTED).count() == 1
