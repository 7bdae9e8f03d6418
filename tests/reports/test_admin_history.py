"""A report's history page reads as one timeline, newest first: every status move with its reason,
field changes naming what they point at, deadlines, the thread with internal entries marked, who
acted and when in the active time zone. Staff who may view the report see it, nobody else; its
cost does not grow with the history; and every other history page names an empty relation "—"."""

import html
import re
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from accounts.history import acting_user
from audit.admin import ReadableHistoryMixin
from bounty.models import Category, Severity
from reports import services
from reports.admin.history import ReportHistoryMixin
from reports.history import report_history
from reports.models import Reporter
from tests.factories import StaffFactory, UserFactory
from tests.reports.history_page import history_entries, history_moments
from tests.reports.portal import upload

pytestmark = pytest.mark.django_db


def _history_url(report):
    return reverse("admin:reports_report_history", args=[report.pk])


def _page(client, user, report) -> str:
    client.force_login(user)
    response = client.get(_history_url(report))
    assert response.status_code == 200
    return response.content.decode()


class Clock:
    """Time standing still while the services run, moved on between steps."""

    def __init__(self, monkeypatch):
        self._monkeypatch = monkeypatch
        self.now = None

    @contextmanager
    def at(self, moment: datetime):
        self.now = moment
        with self._monkeypatch.context() as patch:
            patch.setattr(timezone, "now", lambda: self.now)
            yield self

    def advance(self, **duration):
        self.now += timedelta(**duration)


@pytest.fixture(autouse=True)
def _program_in_utc(program):
    # The admin reads times in the program's time zone; UTC keeps the expected times plain.
    program.timezone = "UTC"
    program.save(update_fields=["timezone"])


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


JAN_15 = datetime(2026, 1, 15, 15, 30, tzinfo=UTC)


def test_status_moves_read_from_and_to_with_the_reason_newest_first(
    client, submit, triager, researcher, clock
):
    with clock.at(JAN_15):
        report = submit()
        clock.advance(hours=1)
        services.request_information(report, acting_user=triager, question="Which version?")
        clock.advance(hours=1)
        services.add_researcher_reply(report, acting_user=researcher, body="1.40.2")
        clock.advance(hours=1)
        services.close_report(
            report, acting_user=triager, resolution="spam", message="Not a vulnerability."
        )

    page = _page(client, triager, report)

    moves = [
        (moment.who, entry.text)
        for moment in history_moments(page)
        for entry in moment.entries
        if entry.kind == "status"
    ]
    assert moves == [
        (triager.email, "Submitted → Closed (spam) Reason: Not a vulnerability."),
        ("researcher", "Needs information → Submitted"),
        (triager.email, "Submitted → Needs information Reason: Which version?"),
        ("researcher", "Submitted"),
    ]


def test_times_are_shown_in_the_active_time_zone_with_its_label(
    client, submit, triager, clock, program
):
    # The admin reads times in the program's time zone (bounty.middleware).
    program.timezone = "America/New_York"
    program.save(update_fields=["timezone"])
    with clock.at(JAN_15):
        report = submit()

    page = _page(client, triager, report)

    assert "times in America/New_York" in page
    assert "When (EST)" in page or "When (EDT)" in page
    [moment] = history_moments(page)
    assert moment.when == "15 Jan 2026, 10:30:00 EST"
    assert moment.who == "researcher"


def test_what_one_person_does_at_once_reads_as_one_moment_the_move_first(
    client, submit, triager, clock
):
    with clock.at(JAN_15):
        report = submit()
        clock.advance(minutes=5)
        services.acknowledge_report(report, acting_user=triager)
        clock.advance(minutes=5)
        services.triage_report(
            report, acting_user=triager, severity=Severity.objects.get(name="High")
        )

    page = _page(client, triager, report)

    triage, acknowledgement, submission = history_moments(page)
    assert [m.who for m in (triage, acknowledgement, submission)] == [
        triager.email,
        triager.email,
        "researcher",
    ]
    assert [m.when for m in (triage, acknowledgement)] == [
        "15 Jan 2026, 15:40:00 UTC",
        "15 Jan 2026, 15:35:00 UTC",
    ]
    kinds = [entry.kind for entry in triage.entries]
    assert kinds[0] == "status"
    assert kinds.index("change") < kinds.index("deadline") < kinds.index("message")
    assert triage.entries[0].text == "Acknowledged → Triaged Reason: Severity High"
    assert [e.text for e in triage.entries if e.kind == "change"] == ["Changed Severity: — → High"]
    # Acknowledging the unassigned report gave it to the triager, in the same moment.
    assert [e.text for e in acknowledgement.entries if e.kind == "change"] == [
        f"Changed Assignee: — → {triager.email}"
    ]


def test_field_changes_name_severity_category_assignee_and_original_by_name(
    client, submit, triager
):
    original = submit(title="The original")
    report = submit()
    services.acknowledge_report(report, acting_user=triager)
    services.triage_report(
        report,
        acting_user=triager,
        severity=Severity.objects.get(name="High"),
        category=Category.objects.get(code="P2"),
    )
    services.assign_report(report, acting_user=triager, assignee=triager)
    duplicate = submit(title="The same again")
    services.mark_duplicate(duplicate, acting_user=triager, original=original)

    changes = " | ".join(e.text for e in history_entries(_page(client, triager, report), "change"))
    duplicate_changes = [
        e.text for e in history_entries(_page(client, triager, duplicate), "change")
    ]

    p1, p2 = Category.objects.get(code="P1").name, Category.objects.get(code="P2").name
    assert "Severity: — → High" in changes
    assert f"Category: {p1} → {p2}" in changes
    assert f"Assignee: — → {triager.email}" in changes
    assert any(
        text.startswith(f"Changed Duplicate of: — → {original.public_id}")
        for text in duplicate_changes
    )


def test_no_entry_reads_deleted_or_none(client, submit, triager):
    report = submit()
    services.acknowledge_report(report, acting_user=triager)
    services.triage_report(report, acting_user=triager, severity=Severity.objects.get(name="Low"))
    services.assign_report(report, acting_user=triager, assignee=triager)
    services.assign_report(report, acting_user=triager, assignee=None)

    entries = history_entries(_page(client, triager, report))

    text = " | ".join(entry.text for entry in entries)
    assert f"Assignee: {triager.email} → —" in text
    assert "Deleted" not in text
    assert "pk=" not in text
    assert not re.search(r"\bNone\b", text)


def test_encrypted_text_shows_only_that_it_changed(client, submit, triager):
    report = submit(description="The original words of the researcher.")
    with acting_user(triager):
        report.description = "A corrected account with a secret token 7f3a."
        report.save()

    page = _page(client, triager, report)

    [change] = history_entries(page, "change")
    assert change.text.startswith("Changed Description: changed (encrypted")
    assert "original words" not in page
    assert "7f3a" not in page


def test_a_version_whose_text_fails_to_decrypt_is_named_not_shown(client, submit, triager):
    other = submit(description="Another report's words.")
    report = submit()
    services.acknowledge_report(report, acting_user=triager)
    # A ciphertext moved in SQL from another report's history row, as an attacker would.
    [moved] = other.history.values_list("description", flat=True)
    report.history.filter(history_type="+").update(description=moved)

    page = _page(client, triager, report)

    [change] = history_entries(page, "change")
    assert change.text.startswith(
        "Changed Description: cannot be compared: a stored version fails to decrypt"
    )
    assert "Another report" not in page


def test_a_move_that_leaves_the_text_alone_does_not_say_it_changed(client, submit, triager):
    report = submit()
    services.acknowledge_report(report, acting_user=triager)
    services.request_information(report, acting_user=triager, question="Which build?")

    page = _page(client, triager, report)

    # Acting on it took the unassigned report; nothing else of the report changed.
    assert [e.text for e in history_entries(page, "change")] == [
        f"Changed Assignee: — → {triager.email}"
    ]
    assert "Description" not in page


def test_messages_and_attachments_are_listed_with_internal_ones_marked(
    client, submit, triager, researcher
):
    report = submit()
    services.add_staff_message(
        report, acting_user=triager, body="We can reproduce it.", public=True
    )
    note = services.add_staff_message(
        report, acting_user=triager, body="Same root cause as last month.", public=False
    )
    [internal_file] = services.attach_files(
        report, acting_user=triager, files=[upload("trace.txt", b"stack trace")], message=note
    )
    services.add_researcher_reply_with_attachments(
        report, acting_user=researcher, body="Here is a video.", files=[upload("poc.txt", b"poc")]
    )

    page = _page(client, triager, report)

    thread = [
        (entry.kind, entry.internal, entry.public, entry.text)
        for entry in history_entries(page)
        if entry.kind in {"message", "attachment"}
    ]
    assert (
        "message",
        True,
        False,
        "Internal (staff only): Internal note Same root cause as last month.",
    ) in thread
    assert (
        "message",
        False,
        True,
        "Public (the researcher sees it): Message to the researcher We can reproduce it.",
    ) in thread
    assert (
        "message",
        False,
        True,
        "Public (the researcher sees it): Message from the researcher Here is a video.",
    ) in thread
    assert (
        "attachment",
        True,
        False,
        "Internal (staff only): Attachment trace.txt (text/plain, 11 bytes)",
    ) in thread
    assert (
        "attachment",
        False,
        True,
        "Public (the researcher sees it): Attachment poc.txt (text/plain, 3 bytes)",
    ) in thread
    download = reverse("admin:reports_attachment_download", args=[internal_file.pk])
    assert f'href="{download}"' in page


def test_a_superusers_correction_and_removal_are_listed_without_the_words_taken_out(
    client, submit, triager, superuser
):
    report = submit()
    pasted = services.add_staff_message(
        report, acting_user=triager, body="The key is sk-live-123.", public=True
    )
    services.correct_message(
        pasted, body="The key has been rotated.", visibility="internal", acting_user=superuser
    )
    services.delete_message(pasted, acting_user=superuser)

    page = _page(client, triager, report)

    corrections = [(e.internal, e.text) for e in history_entries(page, "message_correction")]
    # One person's acts within a second are one moment, read in the order they happened.
    assert [text.split(" (written")[0] for _, text in corrections] == [
        "Internal (staff only): Message corrected",
        "Internal (staff only): Message removed",
    ]
    assert (
        f"by {triager.email}) Reason: Corrected by superuser {superuser.email}"
        in (corrections[0][1])
    )
    assert f"Reason: Deleted by superuser {superuser.email}" in corrections[1][1]
    assert "sk-live-123" not in page
    assert "rotated" not in page


def test_deadlines_say_when_they_were_set_met_and_paused(client, submit, triager):
    report = submit()
    services.acknowledge_report(report, acting_user=triager)
    services.triage_report(report, acting_user=triager, severity=Severity.objects.get(name="High"))
    services.request_information(report, acting_user=triager, question="Which version?")

    deadlines = [
        entry.text for entry in history_entries(_page(client, triager, report), "deadline")
    ]

    assert any(text.startswith("Triage deadline set Due: ") for text in deadlines)
    assert any(text.startswith("Triage deadline Met: — → ") for text in deadlines)
    assert any(text.startswith("Resolution deadline set Due: ") for text in deadlines)
    assert any(text.startswith("Resolution deadline Paused since: — → ") for text in deadlines)


def test_an_answer_resumes_the_deadlines_moved_on_by_the_wait(
    client, submit, triager, researcher, clock
):
    with clock.at(JAN_15):
        report = submit()
        clock.advance(hours=1)
        services.request_information(report, acting_user=triager, question="Which version?")
        clock.advance(days=2)
        services.add_researcher_reply(report, acting_user=researcher, body="1.40.2")

    [resumed] = [
        entry.text
        for entry in history_entries(_page(client, triager, report))
        if entry.text.startswith("Triage deadline Due:")
    ]

    due = report.deadlines.get(kind="triage").due_at
    assert re.fullmatch(
        r"Triage deadline Due: .+ UTC → .+ UTC Paused since: 15 Jan 2026, 16:30 UTC → —", resumed
    )
    assert timezone.localtime(due).strftime("%-d %b %Y, %H:%M") in resumed


def test_no_payment_details_or_researcher_identity_appear(
    client, submit, triager, finance_user, researcher
):
    reporter = researcher.reporter
    reporter.display_name = "Alice Quietname"
    reporter.payment_details = "IBAN SECRET-789"
    reporter.save()
    report = submit()
    services.add_researcher_reply(report, acting_user=researcher, body="Anything else?")

    for staff in (triager, finance_user):
        page = _page(client, staff, report)

        assert "SECRET-789" not in page
        assert "Quietname" not in page
        assert researcher.email not in page


def test_finance_sees_the_moves_but_not_the_thread(client, submit, triager, finance_user):
    report = submit()
    services.add_staff_message(report, acting_user=triager, body="Internal musings.", public=False)
    services.close_report(report, acting_user=triager, resolution="spam")

    page = _page(client, finance_user, report)

    assert [e.text for e in history_entries(page, "status")] == [
        "Submitted → Closed (spam)",
        "Submitted",
    ]
    assert history_entries(page, "message") == []
    assert "Internal musings" not in page
    assert "Messages are not listed" in page


def test_anonymous_visitors_are_sent_to_sign_in(client, submit):
    report = submit()

    response = client.get(_history_url(report))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_the_researcher_is_sent_to_sign_in_even_for_their_own_report(client, submit, researcher):
    report = submit()
    client.force_login(researcher)

    response = client.get(_history_url(report))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_staff_who_may_not_view_reports_are_refused(client, submit):
    report = submit()
    client.force_login(StaffFactory())

    assert client.get(_history_url(report)).status_code == 403


def test_an_unknown_report_is_not_found(client, triager):
    client.force_login(triager)

    assert client.get(reverse("admin:reports_report_history", args=[999999])).status_code == 404


def _rounds(report, n, triager, researcher, superuser):
    """Add ``n`` rounds of a question, an answer with a file and internal notes, one corrected."""
    for i in range(n):
        services.request_information(report, acting_user=triager, question=f"Question {i}?")
        services.add_researcher_reply_with_attachments(
            report, acting_user=researcher, body=f"Answer {i}.", files=[upload(f"{i}.txt", b"x")]
        )
        note = services.add_staff_message(
            report, acting_user=triager, body=f"Note {i}.", public=False
        )
        services.correct_message(
            note, body=f"Note {i}, corrected.", visibility="internal", acting_user=superuser
        )
        services.assign_report(report, acting_user=triager, assignee=triager if i % 2 else None)


def _queries(client, report) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(_history_url(report)).status_code == 200
    return len(queries)


def test_the_page_runs_the_same_queries_for_three_rounds_as_for_thirty(
    client, submit, triager, researcher, superuser
):
    few, many = submit(title="Few"), submit(title="Many")
    _rounds(few, 3, triager, researcher, superuser)
    _rounds(many, 30, triager, researcher, superuser)
    client.force_login(triager)
    _queries(client, few)  # the first request also loads the session and permissions

    assert _queries(client, many) == _queries(client, few)


def _report_with_notes(submit, n, triager, clock):
    with clock.at(JAN_15):
        report = submit()
        for i in range(n):
            clock.advance(minutes=1)
            services.add_staff_message(report, acting_user=triager, body=f"Note {i}.", public=False)
    return report


def test_a_long_history_shows_the_newest_entries_and_says_where_it_stops(
    client, submit, triager, monkeypatch, clock
):
    monkeypatch.setattr(ReportHistoryMixin, "history_limit", 5)
    report = _report_with_notes(submit, 12, triager, clock)

    page = _page(client, triager, report)

    shown = [entry.text for entry in history_entries(page)]
    assert 1 <= len(shown) <= 5
    assert shown == [
        f"Internal (staff only): Internal note Note {i}." for i in range(11, 11 - len(shown), -1)
    ]
    assert "Older entries are not shown: this page lists the newest 5" in page


def test_a_cut_history_is_complete_back_to_where_it_stops(submit, triager, clock):
    report = _report_with_notes(submit, 8, triager, clock)

    history = report_history(report, with_messages=True, with_attachments=True, limit=4)

    entries = [entry for moment in history.moments for entry in moment.entries]
    assert 1 <= len(entries) <= 4
    assert entries[0].text == "Note 7."
    assert history.shown_since is not None
    assert all(entry.at >= history.shown_since for entry in entries)
    assert report_history(report, with_messages=True, with_attachments=True).shown_since is None


def test_every_admin_with_history_names_empty_relations_and_reasons_readably():
    history_admins = [
        model_admin
        for model_admin in admin.site._registry.values()
        if isinstance(model_admin, SimpleHistoryAdmin)
    ]

    assert history_admins
    assert [a for a in history_admins if not isinstance(a, ReadableHistoryMixin)] == []


def test_a_researchers_history_shows_an_empty_account_as_a_dash(client, triager):
    reporter = Reporter.objects.create(email="r@example.test")
    reporter.user = UserFactory(email="r@example.test")
    reporter.save()
    client.force_login(triager)

    page = client.get(reverse("admin:reports_reporter_history", args=[reporter.pk]))

    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.content.decode())).split())
    assert "User: — → r@example.test" in text
    assert "pk=None" not in text
    assert "Deleted" not in text
    assert not re.search(r"\bNone\b", text)
    # Saved outside any request, by nobody: the maker reads "system", as in the decisions.
    assert text.count("Changed system") == 1
