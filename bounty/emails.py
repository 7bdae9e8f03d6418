"""Mail about awards and payouts. It names the report by its public id and says the amount, and
never carries report details or anyone's payment details: those stay in the desk behind a login."""

from django.urls import reverse

from accounts import roles
from bounty.models import Payout
from outbox.services import queue_mail
from reports.emails import PORTAL_REPORT_PATH
from reports.models import Reporter

PORTAL_PAYMENT_DETAILS_PATH = "/portal/payment-details/"


def _payout_context(payout: Payout) -> dict:
    public_id = payout.award.report.public_id
    return {
        "public_id": public_id,
        "amount": payout.amount,
        "currency": payout.currency,
        "kind": payout.award.get_kind_display().lower(),
        "portal_path": PORTAL_REPORT_PATH.format(public_id=public_id),
        "queue_path": reverse("admin:bounty_payoutawaitingmyapproval_changelist"),
        "payout_path": reverse("admin:bounty_payout_change", args=[payout.pk]),
    }


def mail_award_proposed(payout: Payout) -> None:
    """Ask every finance user except the proposer (who may not approve it) for a decision."""
    proposer = payout.award.proposed_by.email
    for email in roles.member_emails(roles.FINANCE):
        if email != proposer:
            queue_mail(
                to=email,
                template="award_proposed",
                context=_payout_context(payout),
                report_public_id=payout.award.report.public_id,
            )


def mail_payout_rejected(payout: Payout) -> None:
    """Tell the proposer; the reason stays in the desk, where only staff read it."""
    queue_mail(
        to=payout.award.proposed_by.email,
        template="payout_rejected",
        context=_payout_context(payout),
        report_public_id=payout.award.report.public_id,
    )


def mail_approval_overdue(payout: Payout) -> None:
    for email in roles.member_emails(roles.FINANCE, roles.PROGRAM_ADMIN):
        queue_mail(
            to=email,
            template="payout_escalated",
            context={**_payout_context(payout), "proposed_at": payout.award.proposed_at},
            report_public_id=payout.award.report.public_id,
            dedupe_key=f"payout-escalated:{payout.pk}:{email}",
        )


def mail_payout_approved(payout: Payout) -> None:
    queue_mail(
        to=payout.reporter.email,
        template="payout_approved",
        context=_payout_context(payout),
        report_public_id=payout.award.report.public_id,
        dedupe_key=f"payout-approved:{payout.pk}",
    )


def mail_payout_paid(payout: Payout) -> None:
    queue_mail(
        to=payout.reporter.email,
        template="payout_paid",
        context=_payout_context(payout),
        report_public_id=payout.award.report.public_id,
        dedupe_key=f"payout-paid:{payout.pk}",
    )


def mail_payout_destination_changed(payout: Payout) -> None:
    """Ask finance to approve again a payout whose researcher changed their payment details."""
    for email in roles.member_emails(roles.FINANCE):
        queue_mail(
            to=email,
            template="payout_destination_changed",
            context=_payout_context(payout),
            report_public_id=payout.award.report.public_id,
        )


def mail_payment_details_changed(reporter: Reporter, *, account_email: str, renewed: int) -> None:
    """Tell the researcher that their payment details changed, at their address of record and at
    the account that changed them, so that a change they did not make does not go unnoticed."""
    addresses = {reporter.email.strip().lower(), (account_email or "").strip().lower()} - {""}
    for email in sorted(addresses):
        queue_mail(
            to=email,
            template="payment_details_changed",
            context={"renewed": renewed, "payment_details_path": PORTAL_PAYMENT_DETAILS_PATH},
        )
