"""A desk filled with one secret through its real code paths: the portal, the admin, the services.

The researcher submits, replies and attaches in the portal and keeps payment details there;
staff record a report received by mail, move reports on with messages, write a note on the
report page, propose awards; finance rejects one with a reason and approves
another; the outbox delivers its mail. Titles stay in clear by design, so none holds the secret.
"""

from dataclasses import dataclass

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from bounty import services as bounty_services
from bounty.models import Payout, Severity
from outbox.services import deliver_pending_mail
from reports.models import Report, Reporter
from tests.reports.portal import reauthenticate, report_form, upload

PORTAL_TITLE = "Admin API answers without a key"
EMAILED_TITLE = "Proxy writes keys to its log"


@dataclass
class Desk:
    """What filling the desk made, for the tests to read back."""

    secret: str
    report: Report
    emailed: Report
    emailed_reporter: Reporter
    paid: Payout
    rejected: Payout


def _expect_redirect(response) -> None:
    form = (response.context or {}).get("form") if response.status_code == 200 else None
    assert response.status_code == 302, form.errors if form is not None else response


def _move(client, report, move, data) -> None:
    _expect_redirect(
        client.post(reverse("admin:reports_report_move", args=[report.pk, move]), data)
    )


def _note_on_the_report_page(client, report, body) -> None:
    _expect_redirect(
        client.post(
            reverse("admin:reports_report_compose", args=[report.pk]),
            {"body": body, "audience": "internal"},
        )
    )


def fill_the_desk(client, *, secret, researcher, triager, finance_user):
    """Put ``secret`` into every value the desk stores that can hold it; return what was made."""
    client.force_login(researcher)
    _expect_redirect(
        client.post(
            "/portal/reports/new/",
            {
                **report_form(
                    title=PORTAL_TITLE,
                    affected_asset=f"asset {secret}",
                    affected_version=f"version {secret}",
                    description=f"The description: {secret}",
                    steps_to_reproduce=f"1. Start the proxy.\n2. Send {secret}.",
                    impact=f"The impact: {secret}",
                    cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                ),
                "attachments": [
                    upload(f"{secret}-proof.txt", f"proof: {secret}\n".encode(), "text/plain")
                ],
            },
        )
    )
    report = Report.objects.get(title=PORTAL_TITLE)
    reauthenticate(client)
    _expect_redirect(
        client.post(
            "/portal/payment-details/",
            {"payment_method": "bank_transfer", "payment_details": f"IBAN {secret}"},
        )
    )

    client.force_login(triager)
    _expect_redirect(
        client.post(
            reverse("admin:reports_report_received_by_email"),
            {
                "reporter_email": f"{secret}@example.test",
                "reporter_name": f"Name {secret}",
                "received_at": "2026-09-04 20:00",
                "title": EMAILED_TITLE,
                "affected_asset": f"asset {secret}",
                "affected_version": f"version {secret}",
                "description": f"Mailed description: {secret}",
                "steps_to_reproduce": f"1. Enable debug.\n2. Read {secret}.",
                "impact": f"Mailed impact: {secret}",
            },
        )
    )
    emailed = Report.objects.get(title=EMAILED_TITLE)
    emailed_reporter = emailed.reporter
    _move(client, report, "acknowledge", {"message": f"Acknowledged: {secret}"})
    _move(client, report, "request_information", {"question": f"Question: {secret}"})

    client.force_login(researcher)
    _expect_redirect(
        client.post(
            f"/portal/reports/{report.public_id}/reply/",
            {
                "body": f"The answer: {secret}",
                "attachments": [
                    upload(f"{secret}-more.txt", f"more proof: {secret}\n".encode(), "text/plain")
                ],
            },
        )
    )

    client.force_login(triager)
    _move(
        client,
        report,
        "triage",
        {
            "severity": Severity.objects.get(name="Medium").pk,
            "cvss_vector": "",
            "message": f"Triaged: {secret}",
        },
    )
    _note_on_the_report_page(client, report, f"Internal note: {secret}")
    propose = reverse("admin:bounty_award_propose", args=[report.pk])
    for kind, amount, justification in (
        ("bounty", "300", f"Bounty because {secret}"),
        ("bonus", "100", f"Bonus because {secret}"),
    ):
        _expect_redirect(
            client.post(
                propose,
                {
                    "kind": kind,
                    "amount": amount,
                    "currency": "USD",
                    "justification": justification,
                },
            )
        )
    rejected = Payout.objects.get(award__kind="bonus")
    paid = Payout.objects.get(award__kind="bounty")

    client.force_login(finance_user)
    _expect_redirect(
        client.post(
            reverse("admin:bounty_payoutawaitingmyapproval_changelist"),
            {
                "action": "reject",
                ACTION_CHECKBOX_NAME: [rejected.pk],
                "reject": "Reject",
                "reason": f"Rejected because {secret}",
            },
        )
    )
    bounty_services.approve_payout(paid, acting_user=finance_user)
    bounty_services.create_payment_instruction(paid.pk)
    bounty_services.mark_payout_paid(
        Payout.objects.get(pk=paid.pk), acting_user=finance_user, payment_reference="TX-0001"
    )
    deliver_pending_mail(batch_size=1000)
    return Desk(
        secret=secret,
        report=Report.objects.get(pk=report.pk),
        emailed=Report.objects.get(pk=emailed.pk),
        emailed_reporter=Reporter.objects.get(pk=emailed_reporter.pk),
        paid=Payout.objects.get(pk=paid.pk),
        rejected=Payout.objects.get(pk=rejected.pk),
    )
