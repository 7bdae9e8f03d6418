"""Mail is not end-to-end secure: unless the program admin turns titles on, every mail the desk
sends about a report names it by public id and status only, and its footer says what it carries.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.roles import TRIAGER
from accounts.services import grant_role
from bounty import services as bounty_services
from bounty.models import Category, Program, Severity
from outbox.models import OutgoingMail
from reports import reminders, services
from tests.bounty.awarding import instructed, propose, triaged_report
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TITLE = "Quokka-Zebra SSRF in the webhook tester"
NO_TITLES = "This mail carries no report details, not even titles"
TITLES = "This mail names reports by title and category at most"
MAIL_TEMPLATES = Path(settings.BASE_DIR) / "templates" / "emails"


def _templates_there_are() -> set[str]:
    return {
        path.name.removesuffix(".subject.txt")
        for path in MAIL_TEMPLATES.glob("*.subject.txt")
        if not path.name.startswith("_")
    }


def _send_every_mail(submit, *, researcher, triager, superuser, finance_user) -> None:
    """Drive the desk through every mail it sends about a report, each through its service."""
    reminded = submit(title=TITLE)
    due = reminded.deadlines.order_by("due_at").first().due_at
    lead = timedelta(hours=settings.DEADLINE_REMINDER_LEAD_HOURS)
    grace = timedelta(hours=settings.DEADLINE_ESCALATION_AFTER_HOURS)
    for now in (due - lead / 2, due + timedelta(minutes=1), due + grace + timedelta(minutes=1)):
        reminders.send_deadline_reminders(now=now)
    reminders.send_triage_digest()

    report = submit(title=TITLE)
    services.assign_report(report, acting_user=superuser, assignee=triager)
    services.request_information(report, acting_user=triager, question="Which version?")
    services.add_researcher_reply(report, acting_user=researcher, body="1.40.2")
    services.add_staff_message(report, acting_user=triager, body="Reproduced.", public=True)

    # Every move the researcher is told of, each in its own words.
    moved = triaged_report(submit, triager, title=TITLE)
    services.triage_report(moved, acting_user=triager, severity=Severity.objects.get(name="High"))
    services.resolve_report(moved, acting_user=triager)
    services.reopen_report(moved, acting_user=triager, reason="The fix was incomplete.")
    services.close_report(submit(title=TITLE), acting_user=triager, resolution="informative")
    services.mark_duplicate(submit(title=TITLE), acting_user=triager, original=moved)

    paid = propose(triaged_report(submit, triager, title=TITLE), triager)
    refused = propose(triaged_report(submit, triager, title=TITLE), triager)
    bounty_services.escalate_stale_approvals(now=timezone.now() + timedelta(days=30))
    paid = instructed(paid, finance_user)
    bounty_services.mark_payout_paid(paid, acting_user=finance_user, payment_reference="TX-9")
    bounty_services.reject_payout(refused, acting_user=finance_user, reason="Known issue.")

    # Mail about the researcher's money and identity, and about staff roles.
    propose(triaged_report(submit, triager, title=TITLE), triager)
    services.update_payment_details(
        researcher.reporter, acting_user=researcher, method="paypal", details="new@example.test"
    )
    services.relink_reporter(
        researcher.reporter,
        user=UserFactory(email="alice.new@example.test"),
        reason="Lost access to the old mailbox.",
        acting_user=superuser,
    )
    grant_role(UserFactory(), TRIAGER, acting_user=superuser)


def _mails():
    # Bodies are encrypted at rest: read through the model, as delivery does.
    return [
        (mail.template, mail.subject, mail.body_text, mail.body_html)
        for mail in OutgoingMail.objects.order_by("pk")
    ]


@pytest.fixture
def every_mail(submit, researcher, triager, superuser, finance_user, program_admin):
    def send(*, titles_in_mail: bool):
        Program.objects.update(titles_in_mail=titles_in_mail)
        _send_every_mail(
            submit,
            researcher=researcher,
            triager=triager,
            superuser=superuser,
            finance_user=finance_user,
        )
        mails = _mails()
        assert {template for template, *_ in mails} == _templates_there_are()
        return mails

    return send


def test_by_default_no_mail_names_a_report_by_its_title(every_mail):
    assert Program.objects.get().titles_in_mail is False
    category = Category.objects.get(code="P1").name  # every report here is filed under it

    for template, subject, text, html in every_mail(titles_in_mail=False):
        assert TITLE not in subject, template
        assert TITLE not in text, template
        assert TITLE not in html, template
        assert category not in text and category not in html, template
        assert NO_TITLES in text and NO_TITLES in html, template


def test_with_titles_turned_on_mail_names_reports_and_its_footer_says_so(every_mail):
    mails = every_mail(titles_in_mail=True)

    titled = {template for template, subject, text, html in mails if TITLE in text}
    assert titled >= {"report_received", "new_report", "report_assigned", "triage_digest"}
    for template, subject, text, html in mails:
        names_it = TITLE in text or TITLE in html or TITLE in subject
        claims = TITLES if names_it else NO_TITLES
        assert claims in text and claims in html, template


def test_the_title_setting_is_the_program_admins_in_the_program_admin(
    client, program, program_admin
):
    client.force_login(program_admin)
    page = client.get(f"/admin/bounty/program/{program.pk}/change/").content.decode()

    assert 'name="titles_in_mail"' in page
