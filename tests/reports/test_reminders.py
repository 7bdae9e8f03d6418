"""Reminders before and at a deadline, escalation past it: each exactly once per stage."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import roles
from outbox.models import OutgoingMail
from reports import reminders, services
from reports.models import Deadline

pytestmark = pytest.mark.django_db

Stage = Deadline.ReminderStage
HOUR = timedelta(hours=1)


def _reminders(template=None):
    mail = OutgoingMail.objects.filter(template__startswith="deadline_")
    if template:
        mail = mail.filter(template=template)
    return sorted((m.template, m.to) for m in mail)


def _deadline_due_in(report, delta, kind="first_response"):
    deadline = report.deadlines.get(kind=kind)
    Deadline.objects.filter(report=report).exclude(pk=deadline.pk).update(
        due_at=timezone.now() + timedelta(days=30)
    )
    Deadline.objects.filter(pk=deadline.pk).update(due_at=timezone.now() + delta)
    deadline.refresh_from_db()
    return deadline


@pytest.mark.parametrize(
    ("offset", "stage"),
    [
        (-25 * HOUR, Stage.NONE),
        (-23 * HOUR, Stage.DUE_SOON),
        (timedelta(0), Stage.DUE),
        (23 * HOUR, Stage.DUE),
        (24 * HOUR, Stage.ESCALATED),
    ],
)
def test_the_stage_a_deadline_has_reached(offset, stage):
    due = timezone.now()

    assert reminders.stage_due(due, due + offset) == stage


def test_the_assignee_is_reminded_before_the_deadline(submit, triager, superuser):
    report = submit()
    services.assign_report(report, acting_user=superuser, assignee=triager)
    _deadline_due_in(report, 3 * HOUR)

    reminders.send_deadline_reminders()

    assert _reminders() == [("deadline_due_soon", triager.email)]


def test_without_an_assignee_every_triager_is_reminded(submit, triager):
    other = Group.objects.get(name=roles.TRIAGER).user_set.create(
        email="second.triager@example.test", is_staff=True
    )
    report = submit()
    _deadline_due_in(report, -HOUR)

    reminders.send_deadline_reminders()

    assert _reminders() == [("deadline_due", other.email), ("deadline_due", triager.email)]


def test_past_the_grace_period_program_admins_get_an_escalation(submit, triager, program_admin):
    report = submit()
    _deadline_due_in(report, -30 * HOUR)

    reminders.send_deadline_reminders()

    assert _reminders() == [
        ("deadline_escalated", program_admin.email),
        ("deadline_escalated", triager.email),
    ]


def test_each_stage_is_sent_once_however_often_the_sweep_runs(submit, triager):
    report = submit()
    deadline = _deadline_due_in(report, 3 * HOUR)

    reminders.send_deadline_reminders()
    reminders.send_deadline_reminders()
    reminders.send_deadline_reminders(now=deadline.due_at + HOUR)
    reminders.send_deadline_reminders(now=deadline.due_at + HOUR)

    assert _reminders() == [
        ("deadline_due", triager.email),
        ("deadline_due_soon", triager.email),
    ]


def test_met_and_paused_deadlines_are_not_chased(submit, triager):
    met, paused = submit(title="met"), submit(title="paused")
    _deadline_due_in(met, -HOUR)
    _deadline_due_in(paused, -HOUR)
    services.acknowledge_report(met, acting_user=triager)
    services.request_information(paused, acting_user=triager, question="Version?")

    result = reminders.send_deadline_reminders()

    assert _reminders() == []
    assert sum(result.reminded.values()) == 0


def test_a_moved_deadline_is_chased_again(submit, triager, researcher):
    report = submit()
    deadline = _deadline_due_in(report, -HOUR, kind="triage")
    reminders.send_deadline_reminders()
    services.acknowledge_report(report, acting_user=triager)
    services.request_information(report, acting_user=triager, question="Version?")
    Deadline.objects.filter(pk=deadline.pk).update(paused_at=timezone.now() - 2 * HOUR)

    services.add_researcher_reply(report, acting_user=researcher, body="1.40")
    reminders.send_deadline_reminders(now=timezone.now() + 2 * HOUR)

    assert _reminders("deadline_due") == [("deadline_due", triager.email)] * 2


def test_the_sweep_costs_the_same_queries_whatever_the_number_of_quiet_deadlines(submit, triager):
    due = [submit(title=f"due {n}") for n in range(3)]
    for report in due:
        _deadline_due_in(report, -HOUR)
    with CaptureQueriesContext(connection) as few:
        reminders.send_deadline_reminders()
    OutgoingMail.objects.all().delete()
    Deadline.objects.update(last_reminder_stage=Stage.NONE)
    for n in range(20):
        _deadline_due_in(submit(title=f"quiet {n}"), timedelta(days=10))

    with CaptureQueriesContext(connection) as many:
        reminders.send_deadline_reminders()

    assert len(many) == len(few)


def test_the_sweep_reads_in_batches(submit, triager):
    for n in range(5):
        _deadline_due_in(submit(title=f"r{n}"), -HOUR)

    result = reminders.send_deadline_reminders(batch_size=2)

    assert result.reminded[Stage.DUE] == 5


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_reminder_exactly_once(submit, triager):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    for n in range(20):
        _deadline_due_in(submit(title=f"r{n}"), -HOUR)
    start = threading.Barrier(2)
    errors = []

    def sweep():
        try:
            start.wait()
            reminders.send_deadline_reminders(batch_size=3)
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(_reminders("deadline_due")) == 20


def test_the_digest_lists_new_unassigned_due_soon_and_overdue(submit, triager):
    fresh = submit(title="fresh")
    late = submit(title="late")
    _deadline_due_in(late, -HOUR)

    sent = reminders.send_triage_digest()

    [digest] = OutgoingMail.objects.filter(template="triage_digest")
    assert sent == 1 and digest.to == triager.email
    assert "New: 2" in digest.body_text and "Unassigned: 2" in digest.body_text
    assert "Overdue: 1" in digest.body_text
    assert fresh.public_id in digest.body_text


def test_no_digest_when_there_is_nothing_to_say(program, triager):
    assert reminders.send_triage_digest() == 0
    assert not OutgoingMail.objects.filter(template="triage_digest").exists()


def test_the_digest_goes_out_once_a_day(submit, triager):
    submit()

    reminders.send_triage_digest()
    reminders.send_triage_digest()

    assert OutgoingMail.objects.filter(template="triage_digest").count() == 1
