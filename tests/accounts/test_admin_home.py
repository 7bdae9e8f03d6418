"""The admin's first page shows each person the work their roles hold, each count linking to the
list that shows those rows; nobody sees another role's numbers, and the page costs the same
queries whatever the size of the desk."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.home import home_panels
from bounty import services as bounty_services
from bounty.models import Payout
from intake.models import IntakeMessage
from outbox.models import OutgoingMail
from reports import deadlines, inbox, services
from reports.models import Deadline
from reports.selectors import month_of
from tests.bounty.awarding import approved, instructed, propose, staff_with_roles, triaged_report
from tests.factories import IntakeMessageFactory, MailboxFactory, StaffFactory

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")
View = inbox.View
QUEUE = reverse("admin:bounty_payoutawaitingmyapproval_changelist")
BATCHES = reverse("admin:bounty_paymentbatch_changelist")
PAYOUTS = reverse("admin:bounty_payout_changelist")
MAIL = reverse("admin:outbox_outgoingmail_changelist")
DEADLINES = reverse("admin:reports_deadline_changelist")


def _index(client, user):
    client.force_login(user)
    response = client.get(INDEX)
    assert response.status_code == 200
    return response


def _tallies(response) -> dict[str, dict[str, object]]:
    """Map each panel shown to its counts, by label."""
    return {
        panel.slug: {tally.label: tally for tally in panel.tallies}
        for panel in response.context["home_panels"]
    }


def _due_in(report, delta):
    Deadline.objects.filter(report=report, met_at__isnull=True).update(
        due_at=timezone.now() + delta
    )
    deadlines.refresh_next_deadline(report)


@pytest.fixture
def triage_desk(submit, triager, researcher):
    """Reports in the states a triager's panel counts: one each, except three unassigned."""
    mine, late, soon = submit(title="Mine"), submit(title="Late"), submit(title="Soon")
    replied = submit(title="Replied")
    services.assign_report(mine, acting_user=triager, assignee=triager)
    _due_in(late, -timedelta(hours=3))
    _due_in(soon, timedelta(hours=5))
    services.request_information(replied, acting_user=triager, question="Which version?")
    services.add_researcher_reply(replied, acting_user=researcher, body="1.4.2")
    return {"mine": mine, "late": late, "soon": soon, "replied": replied}


@pytest.fixture
def money_desk(submit, triager, finance_user, second_finance_user):
    """Payouts in the states finance counts, one proposed by a person who is also finance."""
    both = staff_with_roles("both@example.test", roles.TRIAGER, roles.FINANCE)
    waiting = propose(triaged_report(submit, triager, title="Waiting"), triager, "300")
    proposed_by_both = propose(triaged_report(submit, triager, title="Theirs"), both, "300")
    # Above the reference program's 1000 USD: two approvals, the first given by finance_user.
    half_approved = approved(
        propose(triaged_report(submit, triager, severity="High", title="Big"), triager, "1200"),
        finance_user,
    )
    exported = instructed(
        propose(triaged_report(submit, triager, title="Exported"), triager, "300"), finance_user
    )
    [batch] = bounty_services.export_payment_batches(acting_user=finance_user)
    not_exported = instructed(
        propose(triaged_report(submit, triager, title="Instructed"), triager, "250"),
        finance_user,
    )
    return {
        "both": both,
        "waiting": waiting,
        "proposed_by_both": proposed_by_both,
        "half_approved": half_approved,
        "exported": exported,
        "not_exported": not_exported,
        "batch": batch,
    }


def _assert_each_count_is_its_lists_length(client, tallies):
    for tally in tallies.values():
        response = client.get(tally.url)
        assert response.status_code == 200, tally.url
        assert response.context["cl"].result_count == tally.count, (tally.label, tally.url)


# --- A triager ---------------------------------------------------------------------------


def test_a_triager_sees_their_queue_and_the_desks_unassigned_overdue_due_soon_and_replied(
    client, triager, triage_desk
):
    response = _index(client, triager)

    triage = _tallies(response)["triage"]
    assert {label: tally.count for label, tally in triage.items()} == {
        "Your queue": 2,  # the one assigned, and the one asking the researcher (auto-assigned)
        "Unassigned": 2,
        "Overdue": 1,
        "Due within a day": 1,
        "Researcher replied": 1,
    }
    assert triage["Your queue"].url == inbox.view_url(View.MINE)
    assert triage["Overdue"].urgent and triage["Researcher replied"].urgent
    assert not triage["Unassigned"].urgent


def test_every_triage_count_links_to_the_inbox_view_listing_those_reports(
    client, triager, triage_desk
):
    tallies = _tallies(_index(client, triager))["triage"]

    _assert_each_count_is_its_lists_length(client, tallies)


def test_a_triager_sees_no_finance_or_program_admin_numbers_or_links(
    client, triager, triage_desk, money_desk
):
    response = _index(client, triager)
    page = response.content.decode()

    assert set(_tallies(response)) == {"triage"}
    for hidden in (
        QUEUE,
        "?settlement=open",
        "?status__in=",
        "?approval=overdue",
        "?missed=this_month",
        MAIL,
        "Awaiting your approval",
        "Approved, not paid",
        "USD",
        "Failed mail",
        "history-retention",
    ):
        assert hidden not in page, hidden


# --- Finance -----------------------------------------------------------------------------


def test_finance_sees_the_payouts_awaiting_their_approval_the_open_batches_and_what_is_owed(
    client, finance_user, money_desk
):
    tallies = _tallies(_index(client, finance_user))["finance"]

    # Waiting, Theirs; not Big, which finance_user approved already.
    assert tallies["Awaiting your approval"].count == 2
    assert tallies["Awaiting your approval"].url == QUEUE
    assert tallies["Open payment batches"].count == 1
    assert tallies["Approved, not paid"].count == 2
    assert tallies["Approved, not paid"].detail == "550.00 USD"


def test_a_finance_user_is_not_counted_for_payouts_they_proposed_or_approved(
    client, second_finance_user, money_desk
):
    both_sees = _tallies(_index(client, money_desk["both"]))["finance"]
    second_sees = _tallies(_index(client, second_finance_user))["finance"]

    # "both" proposed Theirs: Waiting and Big are theirs to decide.
    assert both_sees["Awaiting your approval"].count == 2
    # Nobody else decided anything the second approver may take: all three.
    assert second_sees["Awaiting your approval"].count == 3


def test_every_finance_count_links_to_the_list_of_those_payouts_and_batches(
    client, finance_user, money_desk
):
    tallies = _tallies(_index(client, finance_user))["finance"]

    _assert_each_count_is_its_lists_length(client, tallies)


def test_a_batch_is_no_longer_open_once_its_payouts_are_paid(client, finance_user, money_desk):
    bounty_services.mark_payout_paid(
        money_desk["exported"], acting_user=finance_user, payment_reference="BANK-1"
    )

    tallies = _tallies(_index(client, finance_user))["finance"]

    assert tallies["Open payment batches"].count == 0
    assert tallies["Approved, not paid"].count == 1


def test_finance_who_is_not_a_triager_sees_no_triage_queue(client, finance_user, triage_desk):
    response = _index(client, finance_user)
    page = response.content.decode()

    assert set(_tallies(response)) == {"finance"}
    assert "?view=" not in page
    assert "Your queue" not in page


# --- Program admins ----------------------------------------------------------------------


@pytest.fixture
def admin_desk(program, submit, triager, money_desk):
    """A failed mail, a payout waiting far longer than the escalation threshold, and deadlines
    missed this month: one met late, one still owed."""
    OutgoingMail.objects.create(
        to="someone@example.test",
        subject="[VR-1] Update",
        body_text="Your report moved.",
        template="status_changed",
        status=OutgoingMail.Status.FAILED,
    )
    OutgoingMail.objects.create(
        to="someone@example.test", subject="[VR-2] Update", body_text="Sent.", template="x"
    )
    Payout.objects.filter(pk=money_desk["waiting"].pk).update(
        created_at=timezone.now() - timedelta(days=30)
    )
    now = timezone.now()
    this_month, _ = month_of(now, ZoneInfo(program.timezone))
    due = max(this_month, now - timedelta(minutes=5))
    # Each report owes two promises (first response, triage): four missed in all.
    late = submit(title="Met late")
    owed = submit(title="Still owed")
    Deadline.objects.filter(report=late).update(due_at=due, met_at=now)
    Deadline.objects.filter(report=owed).update(due_at=due)


def test_program_admins_see_failed_mail_stale_approvals_and_deadlines_missed_this_month(
    client, program_admin, admin_desk
):
    tallies = _tallies(_index(client, program_admin))["program-admin"]

    assert tallies["Failed mail"].count == 1
    assert tallies["Stale approvals"].count == 1
    assert tallies["Deadlines missed this month"].count == 4
    assert all(tally.urgent for tally in tallies.values())


def test_every_program_admin_count_links_to_the_list_of_those_rows(
    client, program_admin, admin_desk
):
    tallies = _tallies(_index(client, program_admin))["program-admin"]

    _assert_each_count_is_its_lists_length(client, tallies)


def test_program_admins_also_see_what_a_triager_sees_but_no_finance_queue(
    client, program_admin, triage_desk, admin_desk
):
    response = _index(client, program_admin)

    assert set(_tallies(response)) == {"triage", "program-admin"}
    assert QUEUE not in response.content.decode()
    _assert_each_count_is_its_lists_length(client, _tallies(response)["triage"])


def test_the_history_retention_notice_is_in_the_program_admins_panel_only(
    client, program_admin, triager
):
    admin_page = _index(client, program_admin).content.decode()
    triager_page = _index(client, triager).content.decode()

    panel = admin_page[admin_page.index('id="home-program-admin"') :]
    assert 'class="history-retention"' in panel[: panel.index("</section>")]
    assert "history-retention" not in triager_page


# --- Several roles, all roles, none ------------------------------------------------------


def test_someone_with_several_roles_sees_each_of_their_panels(client, money_desk, triage_desk):
    tallies = _tallies(_index(client, money_desk["both"]))

    assert set(tallies) == {"triage", "finance"}


def test_a_superuser_sees_every_panel(client, superuser, admin_desk):
    tallies = _tallies(_index(client, superuser))

    assert set(tallies) == {"triage", "finance", "program-admin"}
    assert tallies["finance"]["Awaiting your approval"].count == 3


def test_staff_with_no_role_see_no_panels_and_only_the_models_they_may_see(client, money_desk):
    nobody = StaffFactory(email="norole@example.test")

    response = _index(client, nobody)

    assert response.context["home_panels"] == []
    assert response.context["app_list"] == []
    assert 'class="desk-home"' not in response.content.decode()


def test_the_panels_are_for_active_staff_only(researcher, triager):
    triager.is_active = False

    assert home_panels(researcher) == []
    assert home_panels(triager) == []


@pytest.mark.parametrize("who", ["anonymous", "researcher"])
def test_a_researcher_or_a_stranger_cannot_reach_the_admin_index(client, researcher, who):
    if who == "researcher":
        client.force_login(researcher)

    response = client.get(INDEX)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert client.get(response["Location"]).status_code in (302, 403)


# --- Cost --------------------------------------------------------------------------------


def test_the_index_costs_the_same_queries_however_much_work_is_waiting(
    client, superuser, submit, triager, finance_user, program
):
    client.force_login(superuser)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(INDEX).status_code == 200
        return len(captured)

    def add_work(count):
        for index in range(count):
            report = triaged_report(submit, triager, title=f"Work {index}")
            instructed(propose(report, triager, "300"), finance_user)
            OutgoingMail.objects.create(
                to="a@example.test",
                subject="s",
                body_text="b",
                template="t",
                status=OutgoingMail.Status.FAILED,
            )
        bounty_services.export_payment_batches(acting_user=finance_user)
        propose(triaged_report(submit, triager, title="Waiting"), triager, "300")

    add_work(1)
    few = queries()
    add_work(6)

    assert queries() == few


# --- The mail intake, on the program admin's first page ---------------------------------


@pytest.fixture
def intake_desk(settings):
    """A mailbox polled a minute ago; two mails failed and one ignored today, older and
    processed mail besides."""
    settings.INTAKE_IMAP_URL = "imaps://desk:secret@imap.example.test:993/INBOX"
    now = timezone.now()
    mailbox = MailboxFactory(
        name="desk@imap.example.test:993/INBOX",
        last_poll_started_at=now - timedelta(minutes=1),
        last_poll_finished_at=now - timedelta(seconds=50),
    )
    State = IntakeMessage.State
    for state in (State.FAILED, State.FAILED, State.IGNORED, State.PROCESSED):
        IntakeMessageFactory(mailbox=mailbox, state=state)
    IntakeMessageFactory(mailbox=mailbox, state=State.FAILED, recorded_at=now - timedelta(days=2))
    return mailbox


def test_program_admins_see_when_the_mailbox_was_polled_and_the_days_lost_mail(
    client, program_admin, intake_desk
):
    response = _index(client, program_admin)

    [panel] = [panel for panel in response.context["home_panels"] if panel.slug == "intake"]
    tallies = {tally.label: tally for tally in panel.tallies}
    assert tallies["Mail failed in the last day"].count == 2
    assert tallies["Mail failed in the last day"].urgent
    assert tallies["Mail ignored in the last day"].count == 1
    [(note, urgent)] = panel.notes
    assert note.startswith(f"Last poll of {intake_desk.name}:") and "ago" in note
    assert not urgent
    assert "secret" not in response.content.decode()
    assert note in response.content.decode()


def test_every_intake_count_links_to_the_list_of_that_mail(client, program_admin, intake_desk):
    tallies = _tallies(_index(client, program_admin))["intake"]

    _assert_each_count_is_its_lists_length(client, tallies)


def test_a_failed_poll_and_a_stopped_poller_are_marked(client, program_admin, intake_desk):
    intake_desk.last_poll_started_at = timezone.now() - timedelta(minutes=30)
    intake_desk.last_error = "LoginError: [AUTHENTICATIONFAILED] Authentication failed."
    intake_desk.save()

    [panel] = [
        panel
        for panel in _index(client, program_admin).context["home_panels"]
        if panel.slug == "intake"
    ]

    (poll, stale), (error, failed) = panel.notes
    assert "Polling seems to have stopped." in poll and stale
    assert "AUTHENTICATIONFAILED" in error and failed


def test_a_mailbox_set_up_and_never_polled_says_so(client, program_admin, settings):
    settings.INTAKE_IMAP_URL = "imaps://desk:secret@imap.example.test:993/INBOX"

    [panel] = [
        panel
        for panel in _index(client, program_admin).context["home_panels"]
        if panel.slug == "intake"
    ]

    assert panel.notes == (
        ("The mailbox has not been polled yet: is the beat (Celery) running?", True),
    )


def test_a_desk_without_mail_intake_shows_no_intake_panel(client, program_admin):
    assert "intake" not in _tallies(_index(client, program_admin))


def test_triagers_and_finance_see_no_mailbox_status(client, triager, finance_user, intake_desk):
    for user in (triager, finance_user):
        page = _index(client, user)
        assert "intake" not in _tallies(page)
        assert intake_desk.name not in page.content.decode()


def test_the_intake_panel_costs_the_same_queries_however_much_mail_came(
    client, program_admin, intake_desk
):
    client.force_login(program_admin)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(INDEX).status_code == 200
        return len(captured)

    few = queries()
    for state in (IntakeMessage.State.FAILED, IntakeMessage.State.IGNORED) * 5:
        IntakeMessageFactory(mailbox=intake_desk, state=state)
        MailboxFactory()

    assert queries() == few


def test_mail_held_for_review_is_counted_for_program_admins(
    client, program_admin, intake_desk, submit, researcher
):
    from intake.models import HeldMail

    report = submit()
    for decision in (HeldMail.Decision.PENDING, HeldMail.Decision.DISCARDED):
        HeldMail.objects.create(
            message=IntakeMessageFactory(mailbox=intake_desk, state=IntakeMessage.State.PROCESSED),
            report=report,
            matched_by=HeldMail.MatchedBy.REPLY_ADDRESS,
            sender="stranger@example.test",
            decision=decision,
        )

    tallies = _tallies(_index(client, program_admin))["intake"]

    held = tallies["Held for review"]
    assert held.count == 1 and held.urgent
    _assert_each_count_is_its_lists_length(client, tallies)
