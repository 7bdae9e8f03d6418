"""Threads by mail: every mail to a researcher carries its report's reply address and thread,
a reply from the researcher's address lands in the thread, and anyone else's mail is held for
staff, never shown to the researcher. Checked on the wire (aiosmtpd) and through a real
mailbox (Dovecot), and from the attacker's side."""

from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from bounty.models import Severity
from intake import services, threads
from intake.models import HeldMail, IntakeMessage
from outbox.models import OutgoingMail
from outbox.services import deliver_pending_mail
from reports import services as report_services
from reports.emails import reply_address, thread_root_id
from reports.models import Message, Report, ReportStatusChange
from tests.factories import ReporterFactory, UserFactory
from tests.intake.conftest import INTAKE_ADDRESS
from tests.intake.mails import PNG, SUBJECT, report_mail

State = IntakeMessage.State
CAROL = "carol@example.test"
QUESTION = "Which version of the webhook tester did you use?"


@pytest.fixture(autouse=True)
def _reference_program(program):
    return program


def mailed_report() -> Report:
    """A report Carol mailed in; she has no account."""
    services.ingest_raw(report_mail())
    return Report.objects.get()


def asked(report: Report, triager) -> Report:
    return report_services.request_information(report, acting_user=triager, question=QUESTION)


def reply(*, to=INTAKE_ADDRESS, sender=f"Carol Mailer <{CAROL}>", text="1.40.2", headers=()):
    return report_mail(sender=sender, to=to, subject=f"Re: {SUBJECT}", text=text, headers=headers)


def said(report: Report, words: str) -> bool:
    """Whether any message on the report says ``words`` (bodies are encrypted: read here)."""
    return any(words in message.body for message in report.messages.all())


def poll() -> str:
    out = StringIO()
    call_command("poll_intake_mailbox", stdout=out)
    return out.getvalue()


def researchers_mail(report: Report) -> list[OutgoingMail]:
    return [
        mail for mail in OutgoingMail.objects.order_by("pk") if mail.to == report.reporter.email
    ]


# What goes out ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_mail_to_the_researcher_carries_the_reply_address_and_the_thread_on_the_wire(
    smtp_server, triager
):
    report = mailed_report()
    asked(report, triager)

    deliver_pending_mail()

    acknowledgement, question = smtp_server.to(CAROL)
    address = reply_address(report)
    local, domain = INTAKE_ADDRESS.split("@")
    assert address.startswith(f"{local}+r-") and address.endswith(f"@{domain}")
    # The token is in the address, and the public id alone would not be.
    assert report.mail_token in address and len(report.mail_token) == 24
    for mail in (acknowledgement, question):
        assert mail["Reply-To"] == address
        assert mail["From"] != address  # the sender stays the desk's own address
    root = thread_root_id(report)
    assert acknowledgement["Message-ID"] == root
    assert acknowledgement["In-Reply-To"] is None
    assert question["Message-ID"] != root
    assert question["In-Reply-To"] == root and question["References"] == root
    sent = {mail.template: mail.message_id for mail in OutgoingMail.objects.all()}
    assert question["Message-ID"] == sent["report_needs_information"]
    # Carol has no account: the question itself is in the mail, and how to answer it.
    text = question.get_body(("plain",)).get_content()
    assert QUESTION in text and "replying to this mail" in text
    assert QUESTION in question.get_body(("html",)).get_content()


@pytest.mark.django_db
def test_staff_mail_carries_no_reply_address_of_the_report(smtp_server, triager):
    report = mailed_report()
    deliver_pending_mail()

    assert any(triager.email in delivered.rcpt_tos for delivered in smtp_server.received)
    for delivered in smtp_server.received:
        if CAROL not in delivered.rcpt_tos:
            assert delivered.message["Reply-To"] is None
            assert report.mail_token not in delivered.data.decode(errors="replace")


@pytest.mark.django_db
def test_a_portal_researcher_is_notified_by_mail_and_reads_the_message_in_the_portal(
    submit, triager
):
    report = submit()
    report_services.add_staff_message(
        report, acting_user=triager, body="Only in the portal, please.", public=True
    )

    [notification] = [m for m in researchers_mail(report) if m.template == "report_new_message"]
    assert "Only in the portal" not in notification.body_text + notification.body_html
    assert notification.headers["In-Reply-To"] == thread_root_id(report)
    assert notification.headers["Reply-To"] == reply_address(report)


@pytest.mark.django_db
def test_internal_notes_never_go_out_by_mail_even_to_a_researcher_without_an_account(triager):
    report = mailed_report()
    before = len(researchers_mail(report))

    report_services.add_staff_message(
        report, acting_user=triager, body="Looks like the 2024 bug again.", public=False
    )

    assert len(researchers_mail(report)) == before
    assert not any("2024 bug" in mail.body_text for mail in OutgoingMail.objects.all())


@pytest.mark.django_db
def test_each_report_has_its_own_token_and_thread():
    services.ingest_raw(report_mail())
    services.ingest_raw(report_mail(subject="Another flaw"))
    first, second = Report.objects.order_by("pk")

    assert first.mail_token != second.mail_token
    assert reply_address(first) != reply_address(second)
    assert thread_root_id(first) != thread_root_id(second)


# What comes in, through a real mailbox ------------------------------------------------------


@pytest.mark.django_db
def test_a_reply_to_the_reply_address_lands_in_the_thread_and_resumes_the_clocks(
    mailbox, smtp_server, triager
):
    report = report_services.acknowledge_report(mailed_report(), acting_user=triager)
    report = report_services.triage_report(
        report, acting_user=triager, severity=Severity.objects.get(name="High")
    )
    report = asked(report, triager)
    deliver_pending_mail()
    question = smtp_server.to(CAROL)[-1]
    assert report.deadlines.filter(paused_at__isnull=False).exists()
    quoted = "\n".join(
        f"> {line}" for line in question.get_body(("plain",)).get_content().split("\n")
    )
    # As a mail client answers: to the Reply-To, no threading headers, the quote below.
    uid = mailbox.append(
        reply(
            to=question["Reply-To"],
            text=f"1.40.2, on Debian.\n\nOn Tue, 1 Dec 2026 at 10:00, Bounty Desk\n"
            f"<desk@example.test> wrote:\n{quoted}\n",
            headers=[],
        )
    )

    poll()

    report.refresh_from_db()
    assert Report.objects.count() == 1
    assert report.status == Report.Status.TRIAGED
    assert not report.deadlines.filter(paused_at__isnull=False).exists()
    answer = report.messages.get(by_researcher=True)
    assert answer.body == "1.40.2, on Debian."  # the quoted mail below it is left out
    assert (answer.author, answer.visibility) == (None, Message.Visibility.PUBLIC)
    assert report.awaiting_staff_since is not None
    change = ReportStatusChange.objects.filter(report=report).latest("at")
    assert (change.to_status, change.actor) == (Report.Status.TRIAGED, "researcher")
    assert OutgoingMail.objects.filter(template="researcher_replied").exists()
    message = IntakeMessage.objects.get(uid=uid)
    assert (message.state, message.report) == (State.PROCESSED, report)
    assert not HeldMail.objects.exists()


@pytest.mark.django_db
def test_a_reply_by_in_reply_to_lands_in_the_thread_with_its_file(mailbox, smtp_server, triager):
    report = asked(mailed_report(), triager)
    deliver_pending_mail()
    question = smtp_server.to(CAROL)[-1]
    raw = report_mail(
        sender=f"Carol <{CAROL.upper()}>",
        subject=f"Re: {SUBJECT}",
        text="Here is the screenshot.",
        attachments=[("shot.png", PNG, "image/png")],
        headers=[
            ("In-Reply-To", question["Message-ID"]),
            ("References", f"{question['References']} {question['Message-ID']}"),
        ],
    )
    mailbox.append(raw)

    poll()

    report.refresh_from_db()
    assert Report.objects.count() == 1 and report.status == Report.Status.SUBMITTED
    answer = report.messages.get(by_researcher=True)
    assert answer.body == "Here is the screenshot."
    [attachment] = answer.attachments.all()
    assert attachment.original_name == "shot.png" and attachment.report == report


@pytest.mark.django_db
def test_a_researcher_with_an_account_who_replies_by_mail_is_the_author(submit, researcher):
    report = submit()
    raw = reply(to=reply_address(report), sender=researcher.email, text="Still there in 1.41.")

    services.ingest_raw(raw)

    answer = report.messages.get(by_researcher=True)
    assert answer.author == researcher and answer.body == "Still there in 1.41."


# From the attacker's side --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_stranger_who_knows_the_public_id_makes_a_report_of_their_own_not_a_reply():
    report = mailed_report()
    raw = report_mail(
        sender="mallory@evil.test",
        subject=f"Re: {report.public_id}",
        text=f"Please close {report.public_id}, it is not a bug.",
        headers=[("In-Reply-To", f"<{report.public_id}@example.test>")],
    )

    services.ingest_raw(raw)

    assert Report.objects.count() == 2
    assert not report.messages.filter(by_researcher=True).exists()
    assert not HeldMail.objects.exists()


@pytest.mark.django_db
def test_a_guessed_token_in_the_reply_address_finds_no_report():
    report = mailed_report()
    wrong = reply_address(report).replace(report.mail_token, "0" * 24)

    services.ingest_raw(reply(to=wrong, text="Hello?"))

    assert Report.objects.count() == 2  # a new report from Carol, not a reply on this one
    assert not report.messages.filter(by_researcher=True).exists()


@pytest.mark.django_db
def test_a_stranger_with_our_message_id_in_in_reply_to_is_held(mailbox, smtp_server, triager):
    report = asked(mailed_report(), triager)
    deliver_pending_mail()
    question = smtp_server.to(CAROL)[-1]
    sent_before = OutgoingMail.objects.count()
    uid = mailbox.append(
        reply(
            sender="mallory@evil.test",
            text="Forget it, I withdraw the report.",
            headers=[("In-Reply-To", question["Message-ID"])],
        )
    )

    poll()

    report.refresh_from_db()
    assert report.status == Report.Status.NEEDS_INFO  # not answered
    assert not said(report, "withdraw")
    assert not report.messages.filter(by_researcher=True).exists()
    held = HeldMail.objects.get()
    assert (held.report, held.sender, held.matched_by) == (
        report,
        "mallory@evil.test",
        HeldMail.MatchedBy.THREADING,
    )
    assert held.body.startswith("Forget it") and held.decision == HeldMail.Decision.PENDING
    message = IntakeMessage.objects.get(uid=uid)
    assert (message.state, message.report, held.message) == (State.PROCESSED, report, message)
    assert OutgoingMail.objects.count() == sent_before  # nobody is told anything by mail


@pytest.mark.django_db
def test_another_researcher_who_uses_the_reply_address_is_held_and_carol_sees_nothing(
    client, submit, researcher, other_researcher, triager
):
    report = submit()
    raw = reply(to=reply_address(report), sender=other_researcher.email, text="Me too, pay me.")

    services.ingest_raw(raw)

    held = HeldMail.objects.get()
    assert held.matched_by == HeldMail.MatchedBy.REPLY_ADDRESS
    assert not said(report, "pay me")
    threads.attach_held_mail(held, acting_user=triager, reason="Bob claims the same bug.")
    [note] = [m for m in report.messages.all() if "pay me" in m.body]
    assert (note.visibility, note.author) == (Message.Visibility.INTERNAL, triager)
    client.force_login(researcher)
    page = client.get(f"/portal/reports/{report.public_id}/").content.decode()
    assert "pay me" not in page and "Bob claims" not in page
    assert not any("pay me" in mail.body_text for mail in OutgoingMail.objects.all())


@pytest.mark.django_db
def test_an_auto_reply_in_the_thread_is_neither_a_reply_nor_held():
    report = mailed_report()
    raw = reply(
        to=reply_address(report),
        text="I am out of office.",
        headers=[("Auto-Submitted", "auto-replied")],
    )

    services.ingest_raw(raw)

    assert not report.messages.filter(by_researcher=True).exists()
    assert not HeldMail.objects.exists()
    assert IntakeMessage.objects.latest("pk").state == State.IGNORED


# Staff review held mail ----------------------------------------------------------------------


@pytest.fixture
def held(triager) -> HeldMail:
    report = mailed_report()
    services.ingest_raw(reply(to=reply_address(report), sender="eve@example.test", text="Hi."))
    return HeldMail.objects.get()


@pytest.mark.django_db
def test_discarding_held_mail_is_audited_and_leaves_the_report_alone(held, triager):
    threads.discard_held_mail(held, acting_user=triager, reason="Spam.")

    held.refresh_from_db()
    assert (held.decision, held.decided_by, held.reason) == (
        HeldMail.Decision.DISCARDED,
        triager,
        "Spam.",
    )
    assert held.decided_at is not None and held.note is None
    assert held.history.latest().history_user == triager
    assert not said(held.report, "Hi.")


@pytest.mark.django_db
def test_held_mail_is_decided_once_with_a_reason_by_staff_allowed_to(held, triager, finance_user):
    with pytest.raises(PermissionDenied):
        threads.discard_held_mail(held, acting_user=finance_user, reason="Not mine.")
    with pytest.raises(ValidationError):
        threads.attach_held_mail(held, acting_user=triager, reason=" ")
    threads.attach_held_mail(held, acting_user=triager, reason="Relevant.")
    with pytest.raises(ValidationError):
        threads.discard_held_mail(held, acting_user=triager, reason="Changed my mind.")
    assert held.report.messages.filter(visibility=Message.Visibility.INTERNAL).count() >= 1


@pytest.mark.django_db
def test_staff_review_held_mail_in_the_admin(client, held, triager, finance_user):
    client.force_login(finance_user)
    assert client.get("/admin/intake/heldmail/").status_code == 403
    client.force_login(triager)
    listing = client.get("/admin/intake/heldmail/").content.decode()
    assert held.report.public_id in listing
    url = f"/admin/intake/heldmail/{held.pk}/change/"
    assert 'name="reason_given"' in client.get(url).content.decode()

    response = client.post(url, {"decide": "attached", "reason_given": "Useful context."})

    assert response.status_code == 302
    held.refresh_from_db()
    assert (held.decision, held.decided_by) == (HeldMail.Decision.ATTACHED, triager)
    assert held.note.visibility == Message.Visibility.INTERNAL and "Hi." in held.note.body
    # Decided: the page reads, and takes no second decision.
    page = client.get(url).content.decode()
    assert 'name="reason_given"' not in page and "Useful context." in page


@pytest.mark.django_db
def test_the_count_of_held_mail_waiting_for_staff(held, triager):
    assert threads.pending_held_mail_count() == 1
    threads.discard_held_mail(held, acting_user=triager, reason="Spam.")
    assert threads.pending_held_mail_count() == 0


# The reply service's own check ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_mail_reply_service_refuses_a_sender_who_is_not_the_researcher():
    report = mailed_report()
    other = ReporterFactory(user=UserFactory(email="dave@example.test"))

    with pytest.raises(report_services.NotTheResearcher):
        report_services.add_researcher_reply_by_mail(
            report, sender_email=other.email, body="Mine now.", files=[]
        )
    assert not report.messages.filter(by_researcher=True).exists()


# Quoted text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, kept",
    [
        ("Yes.\n\nOn Mon, 1 Dec 2026, Desk <d@x.test> wrote:\n> Which?\n> Thanks\n", "Yes."),
        (
            "Yes.\nOn Mon, 1 Dec 2026, Desk\n<d@x.test>\nwrote:\n> Which?\n",
            "Yes.\nOn Mon, 1 Dec 2026, Desk\n<d@x.test>\nwrote:",
        ),
        ("Yes.\nOn Mon, Desk <d@x.test>\nwrote:\n> Which?\n", "Yes."),
        (
            "> Which version?\n1.40\n> And the OS?\nDebian\n",
            "> Which version?\n1.40\n> And the OS?\nDebian\n",
        ),
        ("> only a quote\n", "> only a quote\n"),
        ("No quote at all.", "No quote at all."),
        ("Yes.\n\n> quoted without an attribution\n", "Yes."),
    ],
)
def test_only_the_quote_a_reply_ends_with_is_left_out(text, kept):
    assert threads.without_quoted_reply(text) == kept


@pytest.mark.django_db
def test_staff_read_a_mailed_reply_as_the_researchers_in_the_report_page(client, triager):
    report = mailed_report()
    services.ingest_raw(reply(to=reply_address(report), text="Seen on 1.40.2 too."))
    client.force_login(triager)

    page = client.get(f"/admin/reports/report/{report.pk}/change/").content.decode()

    assert "Seen on 1.40.2 too." in page
    assert f'aria-label="Public message by {report.reporter} (researcher)"' in page
