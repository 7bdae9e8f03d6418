"""Who is mailed about a report, naming it by public id, and never with an internal note."""

import pytest
from django.core import mail

from bounty.models import Severity
from outbox.models import OutgoingMail
from outbox.services import deliver_pending_mail
from reports import services
from reports.transitions import IllegalMove

pytestmark = pytest.mark.django_db


def _sent():
    deliver_pending_mail()
    sent = list(mail.outbox)
    mail.outbox.clear()
    return sent


def _to(messages, address):
    return [m for m in messages if m.to == [address]]


def test_submitting_acknowledges_receipt_to_the_researcher_and_tells_every_triager(
    submit, researcher, triager, second_finance_user
):
    report = submit()

    sent = _sent()

    [receipt] = _to(sent, researcher.email)
    assert report.public_id in receipt.subject
    assert report.public_id in receipt.body
    assert f"/portal/reports/{report.public_id}/" in receipt.body
    [alert] = _to(sent, triager.email)
    assert report.public_id in alert.subject
    assert _to(sent, second_finance_user.email) == []


def test_the_receipt_promises_the_first_response_date(submit, researcher):
    submit()

    [receipt] = _to(_sent(), researcher.email)

    assert "will answer by" in receipt.body


def test_mail_never_carries_the_report_details(submit, researcher, triager):
    submit(description="The secret token is hunter2", steps_to_reproduce="Use hunter2 here")

    for message in _sent():
        assert "hunter2" not in message.body
        assert "hunter2" not in message.alternatives[0].content


def test_every_public_move_mails_the_researcher(submit, researcher, triager):
    report = submit()
    _sent()

    services.acknowledge_report(report, acting_user=triager)
    services.triage_report(report, acting_user=triager, severity=Severity.objects.get(name="High"))

    updates = _to(_sent(), researcher.email)
    assert [m.subject.split("] ")[1] for m in updates] == [
        "Your report was acknowledged",
        "Your report was triaged",
    ]


def test_an_internal_note_never_reaches_the_researcher(submit, researcher, triager):
    report = submit()
    _sent()

    services.add_staff_message(report, acting_user=triager, body="Internal", public=False)

    assert _to(_sent(), researcher.email) == []
    to_researcher = [m.template for m in OutgoingMail.objects.all() if m.to == researcher.email]
    assert to_researcher == ["report_received"]


def test_a_public_staff_message_mails_the_researcher(submit, researcher, triager):
    report = submit()
    _sent()

    services.add_staff_message(report, acting_user=triager, body="Any logs?", public=True)

    assert len(_to(_sent(), researcher.email)) == 1


def test_the_assignee_is_told_of_an_assignment_and_of_the_researchers_reply(
    submit, researcher, triager, superuser
):
    report = submit()
    _sent()

    services.assign_report(report, acting_user=superuser, assignee=triager)
    services.add_researcher_reply(report, acting_user=researcher, body="More details")

    to_triager = _to(_sent(), triager.email)
    assert [m.subject.split("] ")[1] for m in to_triager] == [
        "Assigned to you",
        "The researcher replied",
    ]


def test_a_failed_move_queues_no_mail(submit, triager):
    report = submit()
    _sent()
    before = OutgoingMail.objects.count()

    with pytest.raises(IllegalMove):
        services.resolve_report(report, acting_user=triager)

    assert OutgoingMail.objects.count() == before
