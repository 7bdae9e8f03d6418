"""The intake mailbox polled for real: mail delivered to a Dovecot mailbox by IMAP APPEND
becomes reports, exactly once, whatever crashes or runs beside the poller."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F
from django.utils import timezone

from intake import imap, polling, services
from intake.models import IntakeMessage, Mailbox
from outbox.models import OutgoingMail
from outbox.services import deliver_pending_mail
from reports.models import Attachment, Report
from tests.intake.mails import PNG, SUBJECT, report_mail

State = IntakeMessage.State


@pytest.fixture(autouse=True)
def _reference_program(program):
    return program


def poll() -> str:
    out = StringIO()
    call_command("poll_intake_mailbox", stdout=out)
    return out.getvalue()


def intake_keyword_on(mailbox, uid) -> bool:
    return imap.KEYWORD.encode() in mailbox.flags(uid)


@pytest.mark.django_db
def test_a_mail_in_the_mailbox_becomes_a_report_with_its_attachment_and_an_acknowledgement(
    mailbox,
):
    uid = mailbox.append(report_mail(attachments=[("poc.png", PNG, "image/png")]))

    output = poll()

    report = Report.objects.get()
    assert report.public_id in output
    assert report.channel == Report.Channel.EMAIL
    assert report.title == SUBJECT
    assert "fetches any URL" in report.description
    assert report.reporter.email == "carol@example.test"
    attachment = Attachment.objects.get(report=report)
    assert (attachment.original_name, attachment.content_type) == ("poc.png", "image/png")
    assert b"".join(attachment.file.decrypted_chunks()) == PNG
    acknowledgement = OutgoingMail.objects.get(template="report_received")
    assert acknowledgement.to == "carol@example.test"
    assert report.public_id in acknowledgement.subject
    message = IntakeMessage.objects.get()
    assert (message.state, message.report, message.uid) == (State.PROCESSED, report, uid)
    assert message.settled_at is not None
    assert intake_keyword_on(mailbox, uid)


@pytest.mark.django_db
def test_the_researcher_gets_the_acknowledgement_on_the_wire(mailbox, smtp_server):
    mailbox.append(report_mail())
    poll()

    deliver_pending_mail()

    [acknowledgement] = smtp_server.to("carol@example.test")
    report = Report.objects.get()
    assert report.public_id in acknowledgement["Subject"]
    assert (
        acknowledgement["Message-ID"]
        == OutgoingMail.objects.get(template="report_received").message_id
    )
    text = acknowledgement.get_body(("plain",)).get_content()
    assert report.public_id in text and "/accounts/signup/" in text
    assert SUBJECT not in acknowledgement.as_string()


@pytest.mark.django_db
def test_the_mail_stays_unread_for_the_people_who_share_the_mailbox(mailbox):
    uid = mailbox.append(report_mail())

    poll()

    assert b"\\Seen" not in mailbox.flags(uid)


@pytest.mark.django_db
def test_a_mailbox_reached_with_starttls_is_polled_the_same(mailbox, settings):
    settings.INTAKE_IMAP_URL = mailbox.url(scheme="imap")
    uid = mailbox.append(report_mail())

    poll()

    assert Report.objects.count() == 1
    assert intake_keyword_on(mailbox, uid)


@pytest.mark.django_db
def test_processed_mail_moves_to_the_processed_folder_when_one_is_set(mailbox, settings):
    settings.INTAKE_PROCESSED_FOLDER = "Reported"
    mailbox.append(report_mail())

    poll()

    assert Report.objects.count() == 1
    assert mailbox.uids("INBOX") == []
    assert len(mailbox.uids("Reported")) == 1


@pytest.mark.django_db
def test_polling_again_finds_nothing_new(mailbox):
    mailbox.append(report_mail())
    poll()

    output = poll()

    assert "0 new, 0 settled" in output
    assert Report.objects.count() == 1


@pytest.mark.django_db
def test_the_same_mail_delivered_twice_makes_one_report(mailbox):
    raw = report_mail(message_id="<twice@mail.example.test>")
    first, second = mailbox.append(raw), mailbox.append(raw)

    poll()

    assert Report.objects.count() == 1
    assert IntakeMessage.objects.count() == 1
    assert intake_keyword_on(mailbox, first) and intake_keyword_on(mailbox, second)


@pytest.mark.django_db
def test_the_same_mail_in_another_folder_makes_no_second_report(mailbox, settings):
    raw = report_mail(message_id="<cc@mail.example.test>")
    mailbox.append(raw)
    poll()
    mailbox.append(raw, folder="Security")
    settings.INTAKE_IMAP_URL = mailbox.url(folder="Security")

    poll()

    assert Report.objects.count() == 1
    assert intake_keyword_on(mailbox, mailbox.uids("Security")[0]) is True


@pytest.mark.django_db
def test_a_mailbox_whose_uidvalidity_changed_makes_no_report_again(mailbox):
    """A restored or migrated mailbox numbers its mail afresh: the mail is known by its
    Message-ID all the same."""
    uid = mailbox.append(report_mail())
    poll()
    IntakeMessage.objects.update(uid_validity=F("uid_validity") - 1)
    mailbox.remove_flag(uid, imap.KEYWORD)

    poll()

    assert Report.objects.count() == 1
    assert IntakeMessage.objects.count() == 1
    assert intake_keyword_on(mailbox, uid)


class PowerCut(BaseException):
    """The process dying: nothing of the poller's own error handling runs."""


@pytest.mark.django_db
def test_a_crash_after_processing_and_before_flagging_is_settled_by_the_next_poll_once(
    mailbox, monkeypatch
):
    uid = mailbox.append(report_mail())

    def cut(self, uid):
        raise PowerCut

    with monkeypatch.context() as patched:
        patched.setattr(imap.Settler, "settle", cut)
        with pytest.raises(PowerCut):
            poll()
    # The report committed; the mailbox was never told.
    assert Report.objects.count() == 1
    assert not intake_keyword_on(mailbox, uid)
    Mailbox.objects.update(poll_lease_until=None)  # the dead poller's lease ran out

    poll()

    assert Report.objects.count() == 1
    assert OutgoingMail.objects.filter(template="report_received").count() == 1
    assert intake_keyword_on(mailbox, uid)
    assert IntakeMessage.objects.get().settled_at is not None


@pytest.mark.django_db
def test_a_crash_after_storing_and_before_processing_is_processed_by_the_next_poll_once(
    mailbox, monkeypatch
):
    uid = mailbox.append(report_mail())

    def cut(message_id):
        raise PowerCut

    with monkeypatch.context() as patched:
        patched.setattr(services, "process_message", cut)
        with pytest.raises(PowerCut):
            poll()
    assert IntakeMessage.objects.get().state == State.RECEIVED
    assert Report.objects.count() == 0
    assert not intake_keyword_on(mailbox, uid)
    Mailbox.objects.update(poll_lease_until=None)

    poll()

    assert Report.objects.count() == 1
    assert IntakeMessage.objects.get().state == State.PROCESSED
    assert intake_keyword_on(mailbox, uid)


@pytest.mark.django_db
def test_a_poller_leaves_a_mailbox_another_poller_holds(mailbox):
    mailbox.append(report_mail())
    poll()  # makes the mailbox's row
    mailbox.append(report_mail())
    held = Mailbox.objects.get()
    polling._claim(held)

    output = poll()

    assert "Another poller" in output
    assert Report.objects.count() == 1


@pytest.mark.django_db
def test_the_lease_of_a_poller_that_died_runs_out(mailbox):
    mailbox.append(report_mail())
    poll()
    mailbox.append(report_mail())
    Mailbox.objects.update(
        poll_lease_until=timezone.now() - timedelta(seconds=1), poll_token="dead"
    )

    poll()

    assert Report.objects.count() == 2


@pytest.mark.django_db
def test_a_wrong_password_fails_the_poll_and_is_recorded_on_the_mailbox(mailbox, settings):
    settings.INTAKE_IMAP_URL = mailbox.url(password="not-the-password")

    with pytest.raises(CommandError, match="LoginError"):
        poll()

    recorded = Mailbox.objects.get()
    assert "LoginError" in recorded.last_error
    assert "not-the-password" not in recorded.last_error
    assert recorded.poll_lease_until is None


@pytest.mark.django_db
def test_a_malformed_mail_is_recorded_as_failed_with_its_raw_source_and_the_next_mail_goes_on(
    mailbox,
):
    broken = report_mail(sender=None)
    bad_uid = mailbox.append(broken)
    good_uid = mailbox.append(report_mail())

    poll()

    failed = IntakeMessage.objects.get(uid=bad_uid)
    assert failed.state == State.FAILED
    assert "no From address" in failed.error
    assert b"".join(failed.raw.decrypted_chunks()) == mailbox.raw(bad_uid)
    assert intake_keyword_on(mailbox, bad_uid)
    assert IntakeMessage.objects.get(uid=good_uid).state == State.PROCESSED
    assert Report.objects.count() == 1


@pytest.mark.django_db
def test_a_mail_too_large_to_fetch_is_recorded_and_stays_on_the_server(mailbox, settings):
    settings.INTAKE_MAX_MESSAGE_BYTES = 2_000
    uid = mailbox.append(report_mail(text="x" * 5_000))

    poll()

    message = IntakeMessage.objects.get()
    assert message.state == State.FAILED
    assert "INTAKE_MAX_MESSAGE_BYTES" in message.error
    assert not message.raw
    assert mailbox.uids() == [uid]
    assert Report.objects.count() == 0


@pytest.mark.django_db
def test_the_beat_task_polls_the_mailbox(mailbox):
    from intake.tasks import poll_intake_mailbox_task

    mailbox.append(report_mail())

    poll_intake_mailbox_task()

    assert Report.objects.count() == 1


# Two pollers at the same instant, each on its own PostgreSQL connection.


def race(*calls):
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
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("two pollers at once need PostgreSQL's concurrent connections")


@pytest.mark.django_db(transaction=True)
def test_two_pollers_at_once_make_one_report(postgresql, program, mailbox):
    uid = mailbox.append(report_mail())
    url = imap.configured_mailbox()

    errors = race(lambda: polling.poll_mailbox(url), lambda: polling.poll_mailbox(url))

    assert errors == []
    assert Report.objects.count() == 1
    assert intake_keyword_on(mailbox, uid)


@pytest.mark.django_db(transaction=True)
def test_two_pollers_past_each_others_lease_still_make_one_report(
    postgresql, program, mailbox, monkeypatch
):
    """Even when both hold the mailbox (a lease outlived), each mail is recorded and processed
    once: both fetch it, both try to record it at the same instant."""
    uid = mailbox.append(report_mail())
    url = imap.configured_mailbox()
    monkeypatch.setattr(polling, "_claim", lambda mailbox: "shared")
    together = threading.Barrier(2)
    record = services.record_message

    def record_at_the_same_instant(*args, **kwargs):
        together.wait(timeout=30)
        return record(*args, **kwargs)

    monkeypatch.setattr(services, "record_message", record_at_the_same_instant)

    errors = race(lambda: polling.poll_mailbox(url), lambda: polling.poll_mailbox(url))

    assert errors == []
    assert Report.objects.count() == 1
    assert IntakeMessage.objects.count() == 1
    assert OutgoingMail.objects.filter(template="report_received").count() == 1
    assert intake_keyword_on(mailbox, uid)
