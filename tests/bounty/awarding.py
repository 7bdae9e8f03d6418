"""Reports taken to where awards are proposed, and payouts taken along their way, through the
real services. Reference program ranges (USD): Critical 1500-3000, High 500-1500, Medium 250-500,
Low 50-250; two approvals above 1000."""

from decimal import Decimal

from django.contrib.auth.models import Group

from bounty import services
from bounty.models import Award, Payout, Severity
from outbox.models import OutgoingMail
from reports import services as report_services
from tests.factories import StaffFactory


def triaged_report(submit, triager, severity="Medium", **submission):
    report = submit(**submission)
    report_services.acknowledge_report(report, acting_user=triager)
    return report_services.triage_report(
        report, acting_user=triager, severity=Severity.objects.get(name=severity)
    )


def propose(report, proposer, amount="300", *, kind=Award.Kind.BOUNTY, justification=""):
    award = services.propose_award(
        report,
        acting_user=proposer,
        amount=Decimal(amount),
        currency="USD",
        kind=kind,
        justification=justification,
    )
    return award.payout


def approved(payout, *approvers):
    for approver in approvers:
        services.approve_payout(payout, acting_user=approver)
    payout.refresh_from_db()
    return payout


def instructed(payout, *approvers):
    approved(payout, *approvers)
    services.create_payment_instruction(payout.pk)
    payout.refresh_from_db()
    return payout


def staff_with_roles(email, *role_names):
    user = StaffFactory(email=email)
    user.groups.add(*Group.objects.filter(name__in=role_names))
    return user


def mails(template, to=None):
    # Recipients are encrypted: the database cannot compare them, Python can.
    queued = OutgoingMail.objects.filter(template=template)
    return [mail for mail in queued if to is None or mail.to == to]


def status_changes_to(payout: Payout, status: str) -> int:
    """How many times the payout's history shows it arriving at ``status``."""
    previous, arrivals = None, 0
    for row in payout.history.order_by("history_date", "history_id"):
        if row.status == status and previous != status:
            arrivals += 1
        previous = row.status
    return arrivals
