"""A bounce marks the mail it returns as bounced, never makes a report, and shows in the admin:
the acknowledgement goes out on a real SMTP server, its bounce comes back to the real mailbox."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from intake import services
from intake.models import IntakeMessage
from outbox.models import OutgoingMail
from outbox.services import deliver_pending_mail, record_bounce
from reports.models import Report
from tests.intake.mails import report_mail

pytestmark = pytest.mark.django_db

State = IntakeMessage.State
Status = OutgoingMail.Status
OUTBOX = reverse("admin:outbox_outgoingmail_changelist")


@pytest.fixture(autouse=True)
def _reference_program(program):
    return program


def postfix_bounce(message_id: str, *, action="failed", status="5.1.1") -> bytes:
    """A delivery-status notification as Postfix writes it (RFC 3464), with the returned
    mail's headers."""
    return f"""Return-Path: <>
From: MAILER-DAEMON@mx.example.test (Mail Delivery System)
To: security@example.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <20261202061500.ABC@mx.example.test>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
 boundary="D1"

--D1
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--D1
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.test
X-Postfix-Queue-ID: ABC

Final-Recipient: rfc822; carol@example.test
Original-Recipient: rfc822;carol@example.test
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 5.1.1 <carol@example.test>: Recipient address
 rejected: User unknown in virtual mailbox table

--D1
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Bounty Desk <security@localhost>
To: carol@example.test
Subject: [VR-1] We received your report
Message-ID: {message_id}

--D1--
""".replace("\n", "\r\n").encode()


def exchange_bounce(returned: bytes) -> bytes:
    """Microsoft 365's shape: a delivery-status report with the whole mail returned."""
    head = (
        "From: postmaster@outlook.example.test\r\n"
        "To: security@example.test\r\n"
        "Subject: Undeliverable: [VR-1] We received your report\r\n"
        "Message-ID: <ex-1@outlook.example.test>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="X"\r\n\r\n'
        "--X\r\nContent-Type: text/plain\r\n\r\nDelivery has failed to these recipients.\r\n"
        "--X\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns;outlook.example.test\r\n\r\n"
        "Final-Recipient: rfc822;carol@example.test\r\nAction: failed\r\nStatus: 5.4.1\r\n"
        "Diagnostic-Code: smtp;550 5.4.1 Recipient address rejected: Access denied\r\n\r\n"
        "--X\r\nContent-Type: message/rfc822\r\n\r\n"
    )
    return head.encode() + returned + b"\r\n--X--\r\n"


def qmail_bounce(message_id: str) -> bytes:
    """qmail's "failure notice": plain text, the returned mail quoted below a line."""
    return (
        "From: MAILER-DAEMON@old.example.test\r\n"
        "To: security@example.test\r\n"
        "Subject: failure notice\r\n"
        "Message-ID: <q-1@old.example.test>\r\n\r\n"
        "Hi. This is the qmail-send program at old.example.test.\r\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\r\n"
        "<carol@example.test>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n"
        "--- Below this line is a copy of the message.\r\n\r\n"
        f"From: security@localhost\r\nMessage-ID: {message_id}\r\nSubject: x\r\n\r\nHello\r\n"
    ).encode()


@pytest.fixture
def sent_acknowledgement(smtp_server):
    """A report by mail whose acknowledgement went out on the wire; return it and its bytes."""
    services.ingest_raw(report_mail())
    deliver_pending_mail()
    mail = OutgoingMail.objects.get(template="report_received")
    assert mail.status == Status.SENT
    [delivered] = [item for item in smtp_server.received if "carol@example.test" in item.rcpt_tos]
    return mail, delivered.data


def test_a_postfix_bounce_in_the_mailbox_marks_the_acknowledgement_bounced(
    mailbox, sent_acknowledgement
):
    mail, _ = sent_acknowledgement
    uid = mailbox.append(postfix_bounce(mail.message_id))

    call_command("poll_intake_mailbox", stdout=StringIO())

    mail.refresh_from_db()
    assert mail.status == Status.BOUNCED
    assert mail.bounced_at is not None
    assert "5.1.1" in mail.bounce_reason and "User unknown" in mail.bounce_reason
    bounce = IntakeMessage.objects.get(uid=uid)
    assert bounce.state == State.IGNORED
    assert f"outgoing mail #{mail.pk}" in bounce.error
    assert bounce.settled_at is not None
    # The bounce made no report and was not answered.
    assert Report.objects.count() == 1
    assert OutgoingMail.objects.filter(template="report_received").count() == 1


def test_a_bounce_returning_the_whole_mail_is_matched_by_its_message_id(sent_acknowledgement):
    mail, returned = sent_acknowledgement

    services.ingest_raw(exchange_bounce(returned))

    mail.refresh_from_db()
    assert mail.status == Status.BOUNCED
    assert "5.4.1" in mail.bounce_reason


def test_an_old_style_plain_text_bounce_is_matched_too(sent_acknowledgement):
    mail, _ = sent_acknowledgement

    message = services.ingest_raw(qmail_bounce(mail.message_id)).message

    mail.refresh_from_db()
    assert mail.status == Status.BOUNCED
    assert "qmail-send" in mail.bounce_reason
    assert message.state == State.IGNORED


def test_a_delay_notice_is_not_a_bounce(sent_acknowledgement):
    mail, _ = sent_acknowledgement

    message = services.ingest_raw(
        postfix_bounce(mail.message_id, action="delayed", status="4.4.1")
    ).message

    mail.refresh_from_db()
    assert mail.status == Status.SENT
    assert message.state == State.IGNORED
    assert "not a failure" in message.error


def test_a_bounce_for_mail_that_is_not_ours_is_ignored_and_makes_no_report():
    message = services.ingest_raw(postfix_bounce("<someone-else@elsewhere.test>")).message

    assert message.state == State.IGNORED
    assert "names no mail of ours" in message.error
    assert not Report.objects.exists()
    assert not OutgoingMail.objects.exists()


def test_a_second_notice_for_the_same_mail_keeps_the_first(sent_acknowledgement):
    mail, _ = sent_acknowledgement
    services.ingest_raw(postfix_bounce(mail.message_id))
    mail.refresh_from_db()
    first = (mail.bounced_at, mail.bounce_reason)

    record_bounce(mail.message_id, reason="a relay's later notice")

    mail.refresh_from_db()
    assert (mail.bounced_at, mail.bounce_reason) == first


def test_a_bounce_quoting_the_id_without_angle_brackets_is_matched(sent_acknowledgement):
    mail, _ = sent_acknowledgement

    assert record_bounce(mail.message_id.strip("<>"), reason="550") == mail
    mail.refresh_from_db()
    assert mail.status == Status.BOUNCED


def test_a_mail_not_sent_yet_cannot_bounce():
    services.ingest_raw(report_mail())
    pending = OutgoingMail.objects.get(template="report_received")
    pending.message_id = "<queued@localhost>"
    pending.save(update_fields=["message_id"])

    record_bounce("<queued@localhost>", reason="forged")

    pending.refresh_from_db()
    assert pending.status == Status.PENDING


def test_staff_find_bounced_mail_by_the_outbox_filter(client, program_admin, sent_acknowledgement):
    mail, _ = sent_acknowledgement
    services.ingest_raw(postfix_bounce(mail.message_id))
    client.force_login(program_admin)

    bounced = client.get(OUTBOX, {"status__exact": "bounced"})
    sent = client.get(OUTBOX, {"status__exact": "sent"})

    assert bounced.status_code == 200
    assert list(bounced.context["cl"].result_list) == [mail]
    assert mail not in sent.context["cl"].result_list
    assert "Bounced" in bounced.content.decode()


def test_the_report_page_says_mail_to_the_researcher_bounced(client, triager, sent_acknowledgement):
    mail, _ = sent_acknowledgement
    report = Report.objects.get()
    page = reverse("admin:reports_report_change", args=[report.pk])
    client.force_login(triager)
    assert "mail to them bounced" not in client.get(page).content.decode()

    services.ingest_raw(postfix_bounce(mail.message_id))

    assert "mail to them bounced" in client.get(page).content.decode()
