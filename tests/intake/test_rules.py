"""No mail loops and no floods: robots' mail makes nothing, list mail and busy senders get no
automatic answer, our own answers say they are automatic, and one sender cannot bury the queue.

A real new mail always makes its report unless it is a robot's, a bounce, blocked or past the
rate limit; what the rules hold back from a person is only the acknowledgement."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from intake import services
from intake.models import IntakeMessage
from outbox.models import OutgoingMail
from outbox.services import deliver_pending_mail
from reports.models import Report
from tests.intake.conftest import INTAKE_ADDRESS
from tests.intake.mails import report_mail

pytestmark = pytest.mark.django_db

State = IntakeMessage.State


@pytest.fixture(autouse=True)
def _reference_program(program):
    return program


def ingest(raw: bytes) -> IntakeMessage:
    return services.ingest_raw(raw).message


def acknowledgements() -> int:
    return OutgoingMail.objects.filter(template="report_received").count()


# Mail a program sent: ignored, no report, no reply


@pytest.mark.parametrize(
    "header",
    [
        ("Auto-Submitted", "auto-replied"),
        ("Auto-Submitted", "auto-generated"),
        ("Precedence", "auto_reply"),
        ("X-Autoreply", "yes"),
        ("X-Autorespond", "Out of office"),
    ],
)
def test_an_out_of_office_reply_is_ignored_and_not_answered(header):
    message = ingest(report_mail(subject="Out of office: SSRF", headers=[header]))

    assert message.state == State.IGNORED
    assert "Sent by a program" in message.error and header[0] in message.error
    assert not Report.objects.exists()
    assert not OutgoingMail.objects.exists()


@pytest.mark.parametrize(
    "sender",
    [
        f"Security <{INTAKE_ADDRESS}>",
        "security+r-8f3a2c@example.test",  # a reply address of ours, plus-tagged
        "Bounty Desk <security@localhost>",  # DEFAULT_FROM_EMAIL, what our mail comes from
    ],
)
def test_mail_from_our_own_addresses_is_ignored(sender, settings):
    settings.DEFAULT_FROM_EMAIL = "Bounty Desk <security@localhost>"

    message = ingest(report_mail(sender=sender))

    assert message.state == State.IGNORED
    assert message.error == "Sent from the desk's own address."
    assert not OutgoingMail.objects.exists()


def test_a_plus_tag_on_someone_elses_address_is_theirs():
    message = ingest(report_mail(sender="carol+security@example.test"))

    assert message.state == State.PROCESSED


# List and bulk mail: a report, never an automatic answer


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (("Precedence", "bulk"), "Precedence: bulk"),
        (("Precedence", "list"), "Precedence: list"),
        (("Precedence", "junk"), "Precedence: junk"),
        (("List-Id", "Security researchers <sec.lists.example.test>"), "List-Id"),
        (("List-Unsubscribe", "<mailto:leave@lists.example.test>"), "List-Unsubscribe"),
        (("X-Auto-Response-Suppress", "DR, OOF, AutoReply"), "X-Auto-Response-Suppress"),
        (("X-Auto-Response-Suppress", "All"), "X-Auto-Response-Suppress"),
        (("Return-Path", "<>"), "no return path"),
    ],
)
def test_list_and_bulk_mail_makes_a_report_but_gets_no_acknowledgement(header, reason, triager):
    message = ingest(report_mail(headers=[header]))

    assert message.state == State.PROCESSED
    assert message.report is not None
    assert reason in message.acknowledgement_withheld
    assert acknowledgements() == 0
    # Staff are still told: only the answer to the sender is held back.
    assert OutgoingMail.objects.filter(template="new_report").count() == 1


def test_a_suppression_that_does_not_cover_auto_replies_leaves_the_acknowledgement():
    message = ingest(report_mail(headers=[("X-Auto-Response-Suppress", "DR, NDR")]))

    assert message.acknowledgement_withheld == ""
    assert acknowledgements() == 1


# One acknowledgement per sender per hour


def test_a_sender_gets_one_acknowledgement_an_hour_and_every_report():
    first = ingest(report_mail(subject="First finding"))
    second = ingest(report_mail(subject="Second finding"))
    other = ingest(report_mail(sender="dave@example.test", subject="Dave's finding"))

    assert Report.objects.count() == 3
    assert first.acknowledgement_withheld == ""
    assert second.acknowledgement_withheld == (
        "The sender was sent an acknowledgement less than an hour ago."
    )
    assert other.acknowledgement_withheld == ""
    assert acknowledgements() == 2


def test_an_acknowledgement_more_than_an_hour_old_allows_the_next():
    ingest(report_mail(subject="First finding"))
    OutgoingMail.objects.filter(template="report_received").update(
        created_at=timezone.now() - timedelta(minutes=61)
    )

    later = ingest(report_mail(subject="Second finding"))

    assert later.acknowledgement_withheld == ""
    assert acknowledgements() == 2


def test_a_portal_acknowledgement_counts_for_the_same_address(submit, researcher):
    submit(title="Sent through the portal")

    message = ingest(report_mail(sender=researcher.email, subject="And one by mail"))

    assert message.state == State.PROCESSED
    assert "less than an hour ago" in message.acknowledgement_withheld


# The rate limit


def test_past_the_rate_limit_a_senders_mail_is_kept_and_ignored(settings):
    settings.INTAKE_REPORTS_PER_SENDER_PER_HOUR = 2
    now = timezone.now()
    made = [
        ingest(report_mail(subject=f"Finding {n}", date=now - timedelta(minutes=3 - n)))
        for n in range(3)
    ]

    assert [message.state for message in made] == [State.PROCESSED, State.PROCESSED, State.IGNORED]
    excess = made[2]
    assert "INTAKE_REPORTS_PER_SENDER_PER_HOUR" in excess.error
    assert excess.report is None and excess.raw
    assert Report.objects.count() == 2
    # Someone else is not limited by Carol's mail.
    assert ingest(report_mail(sender="dave@example.test")).state == State.PROCESSED


def test_the_rate_limit_counts_by_arrival_so_an_old_archive_imports_whole(settings):
    settings.INTAKE_REPORTS_PER_SENDER_PER_HOUR = 2
    long_ago = timezone.now() - timedelta(days=400)
    for n in range(4):
        ingest(report_mail(subject=f"Old finding {n}", date=long_ago + timedelta(days=n)))

    assert Report.objects.count() == 4


def test_a_rate_limit_of_zero_is_none(settings):
    settings.INTAKE_REPORTS_PER_SENDER_PER_HOUR = 0
    for n in range(3):
        ingest(report_mail(subject=f"Finding {n}"))

    assert Report.objects.count() == 3


# On the wire


def test_our_acknowledgement_says_it_is_automatic_on_the_wire(smtp_server):
    ingest(report_mail())

    deliver_pending_mail()

    [acknowledgement] = smtp_server.to("carol@example.test")
    assert acknowledgement["Auto-Submitted"] == "auto-replied"
    assert acknowledgement["X-Auto-Response-Suppress"] == "All"
    assert (
        acknowledgement["Message-ID"]
        == OutgoingMail.objects.get(template="report_received").message_id
    )


def test_a_portal_acknowledgement_is_auto_generated_not_a_reply(submit, smtp_server):
    submit(title="Through the portal")

    deliver_pending_mail()

    [acknowledgement] = smtp_server.to("alice@example.test")
    assert acknowledgement["Auto-Submitted"] == "auto-generated"


def test_a_vacation_reply_in_the_mailbox_makes_nothing_and_is_settled(mailbox):
    uid = mailbox.append(
        report_mail(subject="Out of office", headers=[("Auto-Submitted", "auto-replied")])
    )

    call_command("poll_intake_mailbox", stdout=StringIO())

    message = IntakeMessage.objects.get()
    assert (message.state, message.uid) == (State.IGNORED, uid)
    assert message.settled_at is not None
    assert not Report.objects.exists() and not OutgoingMail.objects.exists()


def test_staff_see_on_the_message_why_its_report_was_not_acknowledged(client, triager):
    message = ingest(report_mail(headers=[("List-Id", "<sec.lists.example.test>")]))
    client.force_login(triager)

    page = client.get(reverse("admin:intake_intakemessage_change", args=[message.pk]))

    assert "Mailing-list mail (List-Id)." in page.content.decode()
