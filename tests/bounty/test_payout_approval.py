"""Finance approves or rejects proposed payouts: never their own proposal, two distinct people
above the threshold, a reason for every rejection; overdue approvals are escalated once."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import roles
from bounty import services, tasks
from bounty.models import Payout, PayoutApproval
from bounty.services import IllegalPayoutMove
from tests.bounty.awarding import (
    approved,
    mails,
    propose,
    staff_with_roles,
    status_changes_to,
    triaged_report,
)

pytestmark = pytest.mark.django_db

S = Payout.Status


@pytest.fixture
def report(submit, triager):
    return triaged_report(submit, triager, severity="Medium")


@pytest.fixture
def payout(report, triager):
    return propose(report, triager, "300")


@pytest.fixture
def large_payout(submit, triager):
    return propose(triaged_report(submit, triager, severity="Critical"), triager, "2000")


def _user(request, who):
    return AnonymousUser() if who == "anonymous" else request.getfixturevalue(who)


DECIDERS = [
    ("finance_user", True),
    ("second_finance_user", True),
    ("superuser", True),
    ("triager", False),
    ("program_admin", False),
    ("researcher", False),
    ("anonymous", False),
]


@pytest.mark.parametrize(("who", "may_decide"), DECIDERS)
def test_only_finance_approves(request, payout, who, may_decide):
    user = _user(request, who)

    if may_decide:
        assert services.approve_payout(payout, acting_user=user).status == S.APPROVED
    else:
        with pytest.raises(PermissionDenied):
            services.approve_payout(payout, acting_user=user)
        payout.refresh_from_db()
        assert payout.status == S.AWAITING_APPROVAL
        assert not payout.approvals.exists()


@pytest.mark.parametrize(("who", "may_decide"), DECIDERS)
def test_only_finance_rejects(request, payout, who, may_decide):
    user = _user(request, who)

    if may_decide:
        services.reject_payout(payout, acting_user=user, reason="Not reproducible.")
        payout.refresh_from_db()
        assert payout.status == S.REJECTED
    else:
        with pytest.raises(PermissionDenied):
            services.reject_payout(payout, acting_user=user, reason="Not reproducible.")


def test_the_proposer_never_decides_their_own_proposal_even_holding_finance_rights(report):
    proposer = staff_with_roles("both@example.test", roles.TRIAGER, roles.FINANCE)
    payout = propose(report, proposer, "300")

    with pytest.raises(PermissionDenied):
        services.approve_payout(payout, acting_user=proposer)
    with pytest.raises(PermissionDenied):
        services.reject_payout(payout, acting_user=proposer, reason="Changed my mind.")
    payout.refresh_from_db()
    assert payout.status == S.AWAITING_APPROVAL


def test_a_superuser_who_proposed_cannot_approve_it(report, superuser):
    payout = propose(report, superuser, "300")

    with pytest.raises(PermissionDenied):
        services.approve_payout(payout, acting_user=superuser)


def test_one_approval_approves_a_payout_below_the_threshold(payout, finance_user, researcher):
    services.approve_payout(payout, acting_user=finance_user)

    payout.refresh_from_db()
    assert payout.status == S.APPROVED
    assert payout.approved_at is not None
    [approval] = payout.approvals.all()
    assert (approval.approver, approval.decision) == (finance_user, "approve")
    assert len(mails("payout_approved", to=researcher.email)) == 1


def test_above_the_threshold_two_distinct_people_must_approve(
    large_payout, finance_user, second_finance_user, researcher
):
    assert large_payout.approvals_required == 2

    approved(large_payout, finance_user)
    assert large_payout.status == S.AWAITING_APPROVAL
    assert mails("payout_approved") == []

    approved(large_payout, finance_user)
    assert large_payout.status == S.AWAITING_APPROVAL
    assert large_payout.approvals.count() == 1

    approved(large_payout, second_finance_user)
    assert large_payout.status == S.APPROVED
    assert len(mails("payout_approved", to=researcher.email)) == 1


def test_outside_the_range_one_more_person_must_approve(
    report, triager, finance_user, second_finance_user, superuser
):
    payout = propose(report, triager, "1100", justification="Exposes every tenant's keys.")
    assert payout.approvals_required == 3  # above the threshold: two; outside the range: three

    approved(payout, finance_user, second_finance_user)
    assert payout.status == S.AWAITING_APPROVAL

    approved(payout, superuser)
    assert payout.status == S.APPROVED


def test_approving_twice_changes_nothing(payout, finance_user):
    services.approve_payout(payout, acting_user=finance_user)
    history_rows = payout.history.count()

    services.approve_payout(payout, acting_user=finance_user)

    assert payout.approvals.count() == 1
    assert payout.history.count() == history_rows
    assert status_changes_to(payout, S.APPROVED) == 1
    assert len(mails("payout_approved")) == 1


def test_an_approved_payout_cannot_be_approved_by_someone_else_again(
    payout, finance_user, second_finance_user
):
    services.approve_payout(payout, acting_user=finance_user)

    with pytest.raises(IllegalPayoutMove):
        services.approve_payout(payout, acting_user=second_finance_user)


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_rejection_needs_a_reason(payout, finance_user, reason):
    with pytest.raises(ValidationError):
        services.reject_payout(payout, acting_user=finance_user, reason=reason)

    payout.refresh_from_db()
    assert payout.status == S.AWAITING_APPROVAL


def test_a_rejection_records_who_and_why_and_tells_the_proposer_not_the_researcher(
    payout, triager, finance_user, researcher
):
    services.reject_payout(payout, acting_user=finance_user, reason="Out of scope after all.")

    payout.refresh_from_db()
    assert payout.rejection_reason == "Out of scope after all."
    approval = payout.approvals.get()
    assert (approval.decision, approval.reason) == ("reject", "Out of scope after all.")
    assert payout.history.latest().history_user == finance_user
    [told] = mails("payout_rejected")
    assert told.to == triager.email
    assert "Out of scope" not in told.body_text
    assert mails("payout_approved", to=researcher.email) == []


def test_a_rejected_payout_cannot_be_approved(payout, finance_user, second_finance_user):
    services.reject_payout(payout, acting_user=finance_user, reason="Duplicate award.")

    with pytest.raises(IllegalPayoutMove):
        services.approve_payout(payout, acting_user=second_finance_user)


def test_an_approved_payout_cannot_be_rejected(payout, finance_user, second_finance_user):
    services.approve_payout(payout, acting_user=finance_user)

    with pytest.raises(IllegalPayoutMove):
        services.reject_payout(payout, acting_user=second_finance_user, reason="Too late.")


def test_someone_who_approved_cannot_then_reject(large_payout, finance_user):
    services.approve_payout(large_payout, acting_user=finance_user)

    with pytest.raises(ValidationError) as refused:
        services.reject_payout(large_payout, acting_user=finance_user, reason="Second thoughts")

    assert refused.value.code == "already_decided"


def test_a_person_decides_a_payout_at_most_once_even_past_the_service(payout, finance_user):
    PayoutApproval.objects.create(
        payout=payout, approver=finance_user, decision="approve", decided_at=timezone.now()
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutApproval.objects.create(
            payout=payout, approver=finance_user, decision="reject", decided_at=timezone.now()
        )


def test_full_approval_requests_the_payment_instruction_once_committed(
    payout, finance_user, monkeypatch, django_capture_on_commit_callbacks
):
    requested = []
    monkeypatch.setattr(tasks.create_payment_instruction_task, "delay", requested.append)

    with django_capture_on_commit_callbacks(execute=True):
        services.approve_payout(payout, acting_user=finance_user)
        assert requested == []

    assert requested == [payout.pk]


def test_a_partial_approval_requests_no_instruction(
    large_payout, finance_user, monkeypatch, django_capture_on_commit_callbacks
):
    requested = []
    monkeypatch.setattr(tasks.create_payment_instruction_task, "delay", requested.append)

    with django_capture_on_commit_callbacks(execute=True):
        services.approve_payout(large_payout, acting_user=finance_user)

    assert requested == []


def test_a_broker_outage_leaves_the_instruction_to_the_sweep(
    payout, finance_user, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.create_payment_instruction_task, "delay", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        services.approve_payout(payout, acting_user=finance_user)

    payout.refresh_from_db()
    assert payout.status == S.APPROVED
    assert tasks.instruct_approved_payouts_task() == 1
    payout.refresh_from_db()
    assert payout.status == S.INSTRUCTED


def test_the_approval_mail_carries_no_payment_details(payout, finance_user, researcher):
    payout.reporter.payment_details = "IBAN SECRET-4711"
    payout.reporter.save()

    services.approve_payout(payout, acting_user=finance_user)

    [mail] = mails("payout_approved", to=researcher.email)
    assert payout.award.report.public_id in mail.subject
    assert "300.00 USD" in mail.body_text
    assert "SECRET-4711" not in mail.subject + mail.body_text + mail.body_html


# Escalation. The reference program counts business days in Los Angeles, three of them.
FRIDAY_MORNING = datetime(2025, 3, 7, 17, 0, tzinfo=UTC)
WEDNESDAY_AFTERNOON = datetime(2025, 3, 12, 21, 0, tzinfo=UTC)
THURSDAY_MORNING = datetime(2025, 3, 13, 17, 0, tzinfo=UTC)


def _proposed_at(payout, moment):
    Payout.objects.filter(pk=payout.pk).update(created_at=moment)


def test_an_approval_pending_longer_than_the_business_days_is_escalated(
    payout, finance_user, second_finance_user, program_admin, triager
):
    _proposed_at(payout, FRIDAY_MORNING)

    assert services.escalate_stale_approvals(now=WEDNESDAY_AFTERNOON) == 0
    assert services.escalate_stale_approvals(now=THURSDAY_MORNING) == 1

    payout.refresh_from_db()
    assert payout.escalated_at == THURSDAY_MORNING
    told = sorted(mail.to for mail in mails("payout_escalated"))
    assert told == sorted([finance_user.email, second_finance_user.email, program_admin.email])
    latest = payout.history.latest()
    assert latest.history_user is None
    assert latest.history_change_reason.startswith("system:")


def test_an_approval_is_escalated_once(payout, finance_user):
    _proposed_at(payout, FRIDAY_MORNING)

    services.escalate_stale_approvals(now=THURSDAY_MORNING)
    again = services.escalate_stale_approvals(now=THURSDAY_MORNING.replace(day=20))

    assert again == 0
    assert len(mails("payout_escalated")) == 1


def test_the_escalation_period_is_set_per_program(payout, finance_user, program):
    program.approval_escalation_business_days = 5
    program.save()
    _proposed_at(payout, FRIDAY_MORNING)

    assert services.escalate_stale_approvals(now=THURSDAY_MORNING) == 0
    assert services.escalate_stale_approvals(now=datetime(2025, 3, 15, 17, tzinfo=UTC)) == 1


def test_decided_payouts_are_never_escalated(payout, report, triager, finance_user):
    services.approve_payout(payout, acting_user=finance_user)
    _proposed_at(payout, FRIDAY_MORNING)

    assert services.escalate_stale_approvals(now=THURSDAY_MORNING) == 0


def test_the_escalation_task_escalates(payout, finance_user):
    _proposed_at(payout, FRIDAY_MORNING)

    assert tasks.escalate_stale_approvals_task() == 1
