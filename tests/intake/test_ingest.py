"""A mail becomes a report through the portal's own submit service: `ingest_mail` reads mail
from files (one .eml, or an mbox archive) exactly as the poller reads it from the mailbox."""

import mailbox as mbox_files
from datetime import timedelta
from email.message import EmailMessage
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.utils import timezone

from encryption.keys import generate_master_key
from intake import services
from intake.models import IntakeMessage
from intake.tasks import poll_intake_mailbox_task
from outbox.models import OutgoingMail
from reports import deadlines
from reports import services as report_services
from reports.models import Attachment, Deadline, Message, Report, Reporter
from tests.factories import ReporterFactory, UserFactory
from tests.intake.conftest import INTAKE_ADDRESS
from tests.intake.mails import (
    PNG,
    PROGRAM,
    SUBJECT,
    nested_mail,
    report_mail,
    wide_mail,
)

pytestmark = pytest.mark.django_db

State = IntakeMessage.State


@pytest.fixture(autouse=True)
def _reference_program(program):
    return program


def ingest(tmp_path, raw: bytes, *, name="report.eml") -> str:
    path = tmp_path / name
    path.write_bytes(raw)
    out = StringIO()
    call_command("ingest_mail", str(path), stdout=out)
    return out.getvalue()


def ingest_failing(tmp_path, raw: bytes) -> IntakeMessage:
    with pytest.raises(CommandError, match="did not become a report"):
        ingest(tmp_path, raw)
    return IntakeMessage.objects.get()


def acknowledgement() -> OutgoingMail:
    return OutgoingMail.objects.get(template="report_received")


# Exactly once


def test_ingesting_the_same_file_twice_makes_one_report(tmp_path):
    raw = report_mail()
    ingest(tmp_path, raw)

    output = ingest(tmp_path, raw)

    assert "ingested before" in output
    assert Report.objects.count() == 1
    assert IntakeMessage.objects.count() == 1
    assert OutgoingMail.objects.filter(template="report_received").count() == 1


def test_a_mail_without_message_id_is_known_again_by_its_bytes_whatever_its_line_ends(tmp_path):
    raw = report_mail(message_id=False)
    assert b"\r\n" not in raw
    ingest(tmp_path, raw)

    ingest(tmp_path, raw.replace(b"\n", b"\r\n"), name="same-with-crlf.eml")

    assert Report.objects.count() == 1
    assert IntakeMessage.objects.get().message_key.startswith("sha256:")


def test_two_mails_without_message_id_are_two_reports(tmp_path):
    ingest(tmp_path, report_mail(message_id=False, subject="First"))
    ingest(tmp_path, report_mail(message_id=False, subject="Second"), name="second.eml")

    assert set(Report.objects.values_list("title", flat=True)) == {"First", "Second"}


def test_an_mbox_archive_becomes_a_report_per_mail_and_importing_it_again_adds_none(tmp_path):
    path = tmp_path / "security-archive.mbox"
    archive = mbox_files.mbox(path)
    for subject in ("Stored XSS in the dashboard", "Open redirect after sign-in"):
        archive.add(report_mail(subject=subject))
    archive.flush()
    archive.close()

    first = StringIO()
    call_command("ingest_mail", "--mbox", str(path), stdout=first)
    again = StringIO()
    call_command("ingest_mail", "--mbox", str(path), stdout=again)

    assert Report.objects.count() == 2
    assert "2 new, 0 ingested before" in first.getvalue()
    assert "0 new, 2 ingested before" in again.getvalue()


def test_a_message_recorded_and_never_processed_is_processed_by_the_beat_task():
    recorded = services.record_message(report_mail(), source=IntakeMessage.Source.FILE)
    assert recorded.message.state == State.RECEIVED

    poll_intake_mailbox_task()

    assert IntakeMessage.objects.get().state == State.PROCESSED
    assert Report.objects.count() == 1


def test_processing_a_message_again_changes_nothing(tmp_path):
    ingest(tmp_path, report_mail())
    message = IntakeMessage.objects.get()

    services.process_message(message.pk)

    assert Report.objects.count() == 1


def test_an_unexpected_error_is_retried_and_after_three_attempts_recorded_as_failed(
    tmp_path, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(report_services, "submit_report_received_by_mail", broken)
    recorded = services.record_message(report_mail(), source=IntakeMessage.Source.FILE)

    services.process_message(recorded.message.pk)
    services.process_message(recorded.message.pk)
    retried = IntakeMessage.objects.get()
    assert (retried.state, retried.attempts) == (State.RECEIVED, 2)
    assert "to be retried" in retried.error
    services.process_message(recorded.message.pk)

    failed = IntakeMessage.objects.get()
    assert failed.state == State.FAILED
    assert "failed 3 times" in failed.error and "the database went away" in failed.error
    assert Report.objects.count() == 0


# The report


def test_the_subject_is_the_title_and_the_text_the_description(tmp_path):
    ingest(tmp_path, report_mail(subject="  SSRF in\tthe   webhook tester "))

    report = Report.objects.get()
    assert report.title == SUBJECT
    assert report.description.startswith("The webhook tester fetches any URL.")
    assert report.channel == Report.Channel.EMAIL
    assert report.status == Report.Status.SUBMITTED


def test_a_subject_longer_than_a_title_is_cut(tmp_path):
    ingest(tmp_path, report_mail(subject="Long " * 60))

    title = Report.objects.get().title
    assert len(title) == 200 and title.endswith("…")


def test_a_new_address_becomes_a_researcher_without_an_account(tmp_path):
    ingest(tmp_path, report_mail(sender="Carol Mailer <Carol@Example.test>"))

    reporter = Reporter.objects.get()
    assert (reporter.email, reporter.display_name, reporter.user) == (
        "carol@example.test",
        "Carol Mailer",
        None,
    )


def test_a_known_address_in_any_case_is_the_same_researcher(tmp_path, researcher):
    ingest(tmp_path, report_mail(sender="ALICE@example.test"))

    report = Report.objects.get()
    assert report.reporter == researcher.reporter
    assert Reporter.objects.count() == 1


def test_the_acknowledgement_carries_the_public_id_and_invites_to_sign_up(tmp_path):
    ingest(tmp_path, report_mail(attachments=[("ssrf-admin-panel.png", PNG, "image/png")]))

    report = Report.objects.get()
    mail = acknowledgement()
    assert mail.to == "carol@example.test"
    assert report.public_id in mail.subject and report.public_id in mail.body_text
    assert "/accounts/signup/" in mail.body_text and "/accounts/signup/" in mail.body_html
    # Mail carries no report content: not the title, not a file's name.
    for part in (mail.subject, mail.body_text, mail.body_html):
        assert SUBJECT not in part and "ssrf-admin-panel" not in part


def test_a_researcher_with_an_account_is_not_invited_to_sign_up(tmp_path, researcher):
    ingest(tmp_path, report_mail(sender=researcher.email))

    mail = acknowledgement()
    assert "/accounts/signup/" not in mail.body_text
    assert Report.objects.get().public_id in mail.body_text


def test_signing_up_with_the_same_address_gives_the_researcher_the_mailed_report(tmp_path):
    ingest(tmp_path, report_mail())
    user = UserFactory(email="carol@example.test")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)

    reporter = report_services.link_reporter_to_user(user)

    assert list(reporter.reports.all()) == list(Report.objects.all())


def test_the_programs_deadlines_count_from_when_the_mail_was_received(tmp_path, program):
    sent = timezone.now() - timedelta(days=1)
    ingest(tmp_path, report_mail(date=sent))

    report = Report.objects.get()
    first_response = report.deadlines.get(kind=Deadline.Kind.FIRST_RESPONSE)
    assert abs(report.received_at - sent) < timedelta(seconds=1)
    assert first_response.due_at == deadlines.business_days_after(
        report.received_at, program.first_response_business_days, program
    )


def test_a_date_in_the_future_counts_as_now(tmp_path):
    ingest(tmp_path, report_mail(date=timezone.now() + timedelta(days=30)))

    assert Report.objects.get().received_at <= timezone.now()


def test_triagers_hear_of_the_new_report(tmp_path, triager):
    ingest(tmp_path, report_mail())

    assert [mail.to for mail in OutgoingMail.objects.filter(template="new_report")] == [
        triager.email
    ]


def test_an_html_only_mail_becomes_its_text(tmp_path):
    html = (
        "<html><head><style>p { color: red }</style><script>alert(1)</script></head><body>"
        "<div dir='ltr'>The webhook tester &amp; the preview fetch any URL.</div>"
        "<div>See <a href='https://poc.example.test/ssrf'>my proof</a>.</div>"
        "<ol><li>Open the tester.</li><li>Give it the metadata URL.</li></ol>"
        "<img src='https://tracker.example.test/pixel.gif'></body></html>"
    )

    ingest(tmp_path, report_mail(text=None, html=html))

    description = Report.objects.get().description
    assert description == (
        "The webhook tester & the preview fetch any URL.\n"
        "See my proof (https://poc.example.test/ssrf).\n\n"
        "- Open the tester.\n"
        "- Give it the metadata URL."
    )


def test_of_a_plain_and_html_mail_the_plain_text_is_taken(tmp_path):
    ingest(tmp_path, report_mail(html="<p>The <b>HTML</b> version</p>"))

    assert Report.objects.get().description.startswith("The webhook tester fetches any URL.")
    assert Attachment.objects.count() == 0


def test_a_mail_with_only_attachments_says_so_in_the_description(tmp_path):
    ingest(
        tmp_path,
        report_mail(text=None, attachments=[("report.pdf", b"%PDF-1.4\n", "application/pdf")]),
    )

    report = Report.objects.get()
    assert "no text" in report.description
    assert report.attachments.get().content_type == "application/pdf"


def test_a_very_long_text_is_cut_to_what_the_portal_takes(tmp_path):
    ingest(tmp_path, report_mail(text="a" * 60_000))

    description = Report.objects.get().description
    assert description.startswith("a" * 50_000)
    assert "cut here" in description


# Attachments: the portal's checks, but a refused file does not refuse the report


def test_attachments_pass_the_same_type_checks_as_the_portals(tmp_path):
    ingest(
        tmp_path,
        report_mail(
            attachments=[
                ("poc.png", PNG, "image/png"),
                ("exploit.py", b"import requests\nrequests.get('http://x')\n", "text/x-python"),
            ]
        ),
    )

    types = dict(Attachment.objects.values_list("content_type", "size"))
    assert set(types) == {"image/png", "text/plain"}


def test_a_refused_attachment_is_noted_internally_and_the_researcher_is_told(tmp_path):
    ingest(
        tmp_path,
        report_mail(
            attachments=[
                ("poc.png", PNG, "image/png"),
                ("scanner.exe", PROGRAM, "application/octet-stream"),
            ]
        ),
    )

    report = Report.objects.get()
    assert [a.original_name for a in report.attachments.all()] == ["poc.png"]
    note = Message.objects.get(report=report)
    assert note.visibility == Message.Visibility.INTERNAL
    assert "attachment 2, scanner.exe" in note.body and "not a type of file" in note.body
    mail = acknowledgement()
    assert "attachment 2: it is not a type of file we accept" in mail.body_text
    assert "attachment 2: it is not a type of file we accept" in mail.body_html
    assert "scanner" not in mail.body_text


def test_an_attachment_over_the_size_limit_is_refused_and_the_rest_kept(tmp_path, settings):
    settings.ATTACHMENT_MAX_BYTES = 1_000

    ingest(
        tmp_path,
        report_mail(
            attachments=[("big.txt", b"x" * 5_000, "text/plain"), ("poc.png", PNG, "image/png")]
        ),
    )

    assert [a.original_name for a in Attachment.objects.all()] == ["poc.png"]
    assert "attachment 1: it is larger than 1000" in acknowledgement().body_text


def test_files_past_the_reports_total_are_refused(tmp_path, settings):
    settings.ATTACHMENT_REPORT_MAX_BYTES = 3_000

    ingest(
        tmp_path,
        report_mail(
            attachments=[
                ("one.txt", b"1" * 2_000, "text/plain"),
                ("two.txt", b"2" * 2_000, "text/plain"),
            ]
        ),
    )

    assert [a.original_name for a in Attachment.objects.all()] == ["one.txt"]
    assert "attachment 2: it would take the report past" in acknowledgement().body_text


def test_a_forwarded_mail_is_attached_as_a_mail_file(tmp_path):
    forwarded = report_mail(subject="The original finding")
    ingest(tmp_path, report_mail(attachments=[("original.eml", forwarded, "message/rfc822")]))

    attachment = Attachment.objects.get()
    assert attachment.content_type == "text/plain"
    assert b"The original finding" in b"".join(attachment.file.decrypted_chunks())


# Malformed mail: a clear record, the raw source kept, never a crash


MALFORMED = {
    "no From": (report_mail(sender=None), "no From address"),
    "a From that is no address": (report_mail(sender="Carol <not an address>"), "From"),
    "no Subject": (report_mail(subject=None), "no Subject"),
    "a blank Subject": (report_mail(subject="   "), "no Subject"),
    "an unknown character set": (
        report_mail().replace(b'charset="utf-8"', b'charset="x-no-such-set"'),
        "character set we do not know: 'x-no-such-set'",
    ),
    "10 MB of nested MIME": (
        nested_mail(depth=500, payload_bytes=10 * 1024 * 1024),
        "more than 100 MIME parts",
    ),
    "a hundred thousand parts": (wide_mail(parts=100_000), "more than 100 MIME parts"),
    "a Subject of a megabyte": (
        report_mail(subject="word " * 200_000),
        "Its Subject header is 1,0",
    ),
    "neither text nor attachments": (report_mail(text=None), "neither text nor attachments"),
    "not a mail at all": (b"\x00\xff" * 1000, "no From address"),
}


@pytest.mark.parametrize("raw, reason", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_mail_is_recorded_as_failed_with_the_reason_and_its_raw_source(
    tmp_path, raw, reason
):
    message = ingest_failing(tmp_path, raw)

    assert message.state == State.FAILED
    assert reason in message.error
    assert b"".join(message.raw.decrypted_chunks()) == raw
    assert Report.objects.count() == 0
    assert not OutgoingMail.objects.exists()


def test_a_mail_the_email_package_trips_on_is_failed_at_once_not_retried(tmp_path, monkeypatch):
    def trip(self, *args, **kwargs):
        raise IndexError("list index out of range")

    monkeypatch.setattr(EmailMessage, "get_body", trip)

    message = ingest_failing(tmp_path, report_mail())

    assert message.state == State.FAILED
    assert message.attempts == 0
    assert "could not read it: IndexError" in message.error


def test_a_malformed_mail_does_not_stop_the_mails_after_it_in_an_archive(tmp_path):
    path = tmp_path / "archive.mbox"
    archive = mbox_files.mbox(path)
    archive.add(report_mail(sender=None))
    archive.add(report_mail())
    archive.flush()
    archive.close()

    with pytest.raises(CommandError, match="1 mail did not become a report"):
        call_command("ingest_mail", "--mbox", str(path), stdout=StringIO())

    assert Report.objects.count() == 1
    assert IntakeMessage.objects.filter(state=State.FAILED).count() == 1


def test_mail_from_the_intake_address_itself_is_ignored(tmp_path):
    with pytest.raises(CommandError):
        ingest(tmp_path, report_mail(sender=f"Security <{INTAKE_ADDRESS.upper()}>"))

    message = IntakeMessage.objects.get()
    assert message.state == State.IGNORED
    assert Report.objects.count() == 0


@pytest.mark.parametrize("value", ["auto-replied", "auto-generated", "auto-notified; x=y"])
def test_mail_a_program_sent_is_ignored_so_that_no_acknowledgement_answers_it(tmp_path, value):
    with pytest.raises(CommandError):
        ingest(tmp_path, report_mail(subject="Out of office", headers=[("Auto-Submitted", value)]))

    assert IntakeMessage.objects.get().state == State.IGNORED
    assert Report.objects.count() == 0
    assert not OutgoingMail.objects.exists()


def test_mail_marked_auto_submitted_no_is_a_persons(tmp_path):
    ingest(tmp_path, report_mail(headers=[("Auto-Submitted", "no")]))

    assert Report.objects.count() == 1


def test_recorded_mail_is_processed_even_while_the_mailbox_url_is_malformed(settings):
    services.record_message(report_mail(), source=IntakeMessage.Source.FILE)
    settings.INTAKE_IMAP_URL = "https://not-a-mailbox.example.test/"

    poll_intake_mailbox_task()

    assert Report.objects.count() == 1


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("ingest_mail", str(tmp_path / "missing.eml"))


# At rest


def test_the_raw_mail_is_stored_encrypted_and_its_sender_and_subject_too(tmp_path, settings):
    raw = report_mail(sender="Dora Secret <dora.secret@example.test>")
    ingest(tmp_path, raw)

    message = IntakeMessage.objects.get()
    stored = (settings.MEDIA_ROOT / message.raw.name).read_bytes()
    assert b"dora.secret" not in stored and SUBJECT.encode() not in stored
    assert b"".join(message.raw.decrypted_chunks()) == raw
    sealed = IntakeMessage.objects.values_list("sender", "subject").get()
    assert all("dora" not in value.stored and "SSRF" not in value.stored for value in sealed)
    assert (message.sender, message.subject) == ("dora.secret@example.test", SUBJECT)


def test_a_researcher_is_found_among_intake_messages_by_address(tmp_path):
    ReporterFactory(user=None, email="carol@example.test")
    ingest(tmp_path, report_mail())

    assert IntakeMessage.objects.filter(sender_index__matches="CAROL@example.test").exists()


def test_after_a_key_rotation_the_raw_mail_reads_under_the_new_key_and_is_still_known(
    tmp_path, settings
):
    raw = report_mail()
    ingest(tmp_path, raw)
    settings.BOUNTY_OLD_MASTER_KEYS = [settings.BOUNTY_MASTER_KEY]
    settings.BOUNTY_MASTER_KEY = generate_master_key()

    call_command("rotate_master_key", stdout=StringIO())
    settings.BOUNTY_OLD_MASTER_KEYS = []

    message = IntakeMessage.objects.get()
    assert b"".join(message.raw.decrypted_chunks()) == raw
    assert message.sender == "carol@example.test"
    assert IntakeMessage.objects.filter(sender_index__matches="carol@example.test").exists()
    assert "ingested before" in ingest(tmp_path, raw)
    assert Report.objects.count() == 1
