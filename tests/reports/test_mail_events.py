"""Mail says what happened: each move the researcher is told of has its own subject and words.

A public move or message mails the researcher what it was (a new message, a question, a
duplicate, a closure and why); an internal note mails nobody outside staff. Triagers hear of
the researcher's replies, and a staff member of a report given to them by someone else.
"""

import pytest
from django.contrib.auth.models import Group

from accounts.roles import TRIAGER
from bounty.models import Severity
from outbox.models import OutgoingMail
from reports import emails, services
from reports.models import Message
from tests.factories import MessageFactory, StaffFactory

pytestmark = pytest.mark.django_db

SECRET = "hunter2-in-the-message"


def _mails_to(address):
    # Recipients are encrypted: the database cannot compare them, Python can.
    return [mail for mail in OutgoingMail.objects.order_by("pk") if mail.to == address]


def _news_to(researcher):
    return [mail for mail in _mails_to(researcher.email) if mail.template != "report_received"]


def _second_triager():
    user = StaffFactory(email="second.triager@example.test")
    user.groups.add(Group.objects.get(name=TRIAGER))
    return user


def _replies_to(user):
    return [mail for mail in _mails_to(user.email) if mail.template == "researcher_replied"]


def _high():
    return Severity.objects.get(name="High")


def _acknowledged(report, triager):
    return services.acknowledge_report(report, acting_user=triager)


def _triaged(report, triager):
    return services.triage_report(
        _acknowledged(report, triager), acting_user=triager, severity=_high()
    )


def _acknowledge(report, triager, other_researcher, submit):
    services.acknowledge_report(report, acting_user=triager, message=SECRET)


def _request_information(report, triager, other_researcher, submit):
    services.request_information(report, acting_user=triager, question=SECRET)


def _triage(report, triager, other_researcher, submit):
    services.triage_report(report, acting_user=triager, severity=_high(), message=SECRET)


def _triage_again(report, triager, other_researcher, submit):
    services.triage_report(
        report, acting_user=triager, severity=Severity.objects.get(name="Low"), message=SECRET
    )


def _resolve(report, triager, other_researcher, submit):
    services.resolve_report(report, acting_user=triager, message=SECRET)


def _close_as_wont_fix(report, triager, other_researcher, submit):
    services.close_report(report, acting_user=triager, resolution="wont_fix", message=SECRET)


def _mark_duplicate(report, triager, other_researcher, submit):
    original = _acknowledged(submit(reporter_user=other_researcher, title="Original"), triager)
    services.mark_duplicate(report, acting_user=triager, original=original)


def _reopen(report, triager, other_researcher, submit):
    services.reopen_report(report, acting_user=triager, reason=SECRET)


def _reply(report, triager, other_researcher, submit):
    services.add_staff_message(report, acting_user=triager, body=SECRET, public=True)


def _as_submitted(report, triager):
    return report


def _resolved(report, triager):
    return services.resolve_report(_triaged(report, triager), acting_user=triager)


# (move, report taken to, template, subject after the id, what the text says)
EVERY_MOVE = [
    (
        _acknowledge,
        _as_submitted,
        "report_acknowledged",
        "Your report was acknowledged",
        "A member of the security team has read your report",
    ),
    (
        _request_information,
        _acknowledged,
        "report_needs_information",
        "Your report needs information",
        "The security team needs more information about your report",
    ),
    (
        _triage,
        _acknowledged,
        "report_triaged",
        "Your report was triaged",
        "has assessed your report",
    ),
    (
        _triage_again,
        _triaged,
        "report_reassessed",
        "The severity of your report changed",
        "has changed the severity of your report",
    ),
    (
        _resolve,
        _triaged,
        "report_resolved",
        "Your report was resolved",
        "the vulnerability you reported has been fixed",
    ),
    (
        _close_as_wont_fix,
        _acknowledged,
        "report_closed",
        "Your report was closed as won't fix",
        "was closed as won't fix",
    ),
    (
        _mark_duplicate,
        _as_submitted,
        "report_closed_as_duplicate",
        "Your report was closed as a duplicate",
        "was closed as a duplicate of an earlier report, which is acknowledged",
    ),
    (
        _reopen,
        _resolved,
        "report_reopened",
        "Your report was reopened",
        "was reopened",
    ),
    (
        _reply,
        _triaged,
        "report_new_message",
        "New message on your report",
        "The security team wrote to you about your report",
    ),
]


@pytest.mark.parametrize(
    ("move", "taken_to", "template", "subject", "says"),
    EVERY_MOVE,
    ids=[row[2] for row in EVERY_MOVE],
)
def test_each_move_mails_the_researcher_once_saying_what_happened(
    submit, researcher, other_researcher, triager, move, taken_to, template, subject, says
):
    report = taken_to(submit(), triager)
    already = len(_news_to(researcher))

    move(report, triager, other_researcher, submit)

    [mail] = _news_to(researcher)[already:]
    report.refresh_from_db()
    assert mail.template == template
    assert mail.subject == f"[{report.public_id}] {subject}"
    assert says in mail.body_text
    assert f"Its status is: {report.get_status_display()}." in mail.body_text
    assert f"/portal/reports/{report.public_id}/" in mail.body_text
    assert f"/portal/reports/{report.public_id}/" in mail.body_html
    # The message itself stays in the desk, behind the researcher's sign-in.
    assert SECRET not in mail.body_text and SECRET not in mail.body_html


def test_the_html_mail_says_the_same_escaped(submit, researcher, triager):
    report = _acknowledged(submit(), triager)

    services.close_report(report, acting_user=triager, resolution="wont_fix")

    [mail] = _news_to(researcher)[-1:]
    assert "was closed as won&#x27;t fix" in mail.body_html


def test_the_duplicates_mail_names_nothing_of_the_original_but_its_status(
    submit, researcher, other_researcher, triager
):
    original = submit(reporter_user=other_researcher, title="Original secret title")
    services.triage_report(_acknowledged(original, triager), acting_user=triager, severity=_high())
    duplicate = submit()

    services.mark_duplicate(duplicate, acting_user=triager, original=original)

    [mail] = _news_to(researcher)
    for part in (mail.subject, mail.body_text, mail.body_html):
        assert original.public_id not in part
        assert "Original secret title" not in part
        assert other_researcher.email not in part
    assert "an earlier report, which is triaged" in mail.body_text


def test_an_internal_note_mails_nobody_outside_staff(submit, researcher, triager):
    report = submit()

    services.add_staff_message(report, acting_user=triager, body=SECRET, public=False)

    assert _news_to(researcher) == []
    assert not OutgoingMail.objects.exclude(template__in=["report_received", "new_report"]).exists()


def test_the_internal_note_a_duplicate_leaves_is_not_mailed(
    submit, researcher, other_researcher, triager
):
    original = submit(reporter_user=other_researcher, title="Original secret title")
    duplicate = submit()

    services.mark_duplicate(duplicate, acting_user=triager, original=original)

    assert duplicate.messages.filter(visibility=Message.Visibility.INTERNAL).exists()
    assert [mail.template for mail in _news_to(researcher)] == ["report_closed_as_duplicate"]


def test_the_researchers_mail_refuses_an_internal_note(submit, researcher):
    report = submit()
    note = MessageFactory(report=report, visibility=Message.Visibility.INTERNAL, body=SECRET)

    with pytest.raises(ValueError, match="never mailed"):
        emails.mail_researcher_news(report, note, emails.ResearcherNews.NEW_MESSAGE)

    assert _news_to(researcher) == []


def test_a_reply_to_an_assigned_report_mails_its_assignee_only(
    submit, researcher, triager, superuser
):
    second_triager = _second_triager()
    report = submit()
    services.assign_report(report, acting_user=superuser, assignee=triager)

    services.add_researcher_reply(report, acting_user=researcher, body=SECRET)

    [mail] = [m for m in _mails_to(triager.email) if m.template == "researcher_replied"]
    assert mail.subject == f"[{report.public_id}] The researcher replied"
    assert SECRET not in mail.body_text
    assert _replies_to(second_triager) == []


def test_a_reply_to_an_unassigned_report_mails_every_triager(submit, researcher, triager):
    second_triager = _second_triager()
    report = submit()

    services.add_researcher_reply(report, acting_user=researcher, body=SECRET)

    assert len(_replies_to(triager)) == 1
    assert len(_replies_to(second_triager)) == 1


def test_a_reply_to_a_report_whose_assignee_has_left_mails_every_triager(
    submit, researcher, triager, superuser
):
    second_triager = _second_triager()
    report = submit()
    services.assign_report(report, acting_user=superuser, assignee=second_triager)
    second_triager.is_active = False
    second_triager.save(update_fields=["is_active"])

    services.add_researcher_reply(report, acting_user=researcher, body=SECRET)

    assert len(_replies_to(triager)) == 1
    assert _replies_to(second_triager) == []


def test_an_answer_to_a_question_mails_the_assignee_too(submit, researcher, triager, superuser):
    report = _acknowledged(submit(), triager)
    services.assign_report(report, acting_user=superuser, assignee=triager)
    services.request_information(report, acting_user=triager, question="Which version?")

    services.add_researcher_reply(report, acting_user=researcher, body="1.40.2")

    assert len(_replies_to(triager)) == 1


def test_the_assignee_is_told_of_an_assignment_by_someone_else(submit, triager, superuser):
    report = submit()

    services.assign_report(report, acting_user=superuser, assignee=triager)

    [mail] = [m for m in _mails_to(triager.email) if m.template == "report_assigned"]
    assert mail.subject == f"[{report.public_id}] Assigned to you"


def test_taking_a_report_oneself_mails_nobody(submit, triager):
    report = submit()

    services.assign_report(report, acting_user=triager, assignee=triager)

    assert not OutgoingMail.objects.filter(template="report_assigned").exists()


def test_unassigning_mails_nobody(submit, triager, superuser):
    report = submit()
    services.assign_report(report, acting_user=superuser, assignee=triager)

    services.assign_report(report, acting_user=superuser, assignee=None)

    assert OutgoingMail.objects.filter(template="report_assigned").count() == 1
