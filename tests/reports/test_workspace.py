"""A report's admin page is a workspace: header, moves, the whole conversation, a composer that
never publishes by default, and moves that help (auto-assign, pre-filled triage, duplicates)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bounty.models import Severity
from outbox.models import OutgoingMail
from reports import services
from reports.models import Message, Report
from tests.factories import SavedReplyFactory
from tests.reports.portal import TEXT, upload

pytestmark = pytest.mark.django_db

VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def _page(report):
    return reverse("admin:reports_report_change", args=[report.pk])


def _compose(report):
    return reverse("admin:reports_report_compose", args=[report.pk])


def _move(report, move):
    return reverse("admin:reports_report_move", args=[report.pk, move])


def test_the_header_names_the_report_and_offers_the_moves_allowed_now(client, submit, triager):
    report = submit(cvss_vector=VECTOR)
    client.force_login(triager)

    page = client.get(_page(report)).content.decode()

    assert f'<p class="public-id" id="report-id">{report.public_id}</p>' in page
    assert f"<h1>{report.title}</h1>" in page
    assert "9.8" in page and VECTOR in page
    assert 'class="workspace-moves"' in page
    assert _move(report, "acknowledge") in page and _move(report, "resolve") not in page


def test_there_is_no_save_button_because_nothing_on_the_page_is_saved(client, submit, triager):
    report = submit()
    client.force_login(triager)

    page = client.get(_page(report)).content.decode()
    posted = client.post(_page(report), {"title": "Rewritten"})

    assert 'name="_save"' not in page and 'name="_continue"' not in page
    assert posted.status_code == 405
    report.refresh_from_db()
    assert report.title != "Rewritten"


def test_markdown_is_rendered_through_the_sanitizer(client, submit, triager):
    report = submit(description="**Bold** claim <script>alert(1)</script>")
    client.force_login(triager)

    page = client.get(_page(report)).content.decode()

    assert "<strong>Bold</strong>" in page
    assert "<script>alert(1)</script>" not in page


def test_public_internal_and_researcher_messages_look_different_and_files_sit_where_posted(
    client, submit, triager, researcher
):
    report = submit()
    services.request_information(report, acting_user=triager, question="Which version?")
    message = services.add_researcher_reply_with_attachments(
        report, acting_user=researcher, body="Logs attached.", files=[upload("poc.txt", TEXT)]
    )
    services.add_staff_message(report, acting_user=triager, body="Reproduced.", public=False)
    client.force_login(triager)

    page = client.get(_page(report)).content.decode()

    attachment = message.attachments.get()
    download = reverse("admin:reports_attachment_download", args=[attachment.pk])
    researcher_entry = page[page.index("From the researcher") :]
    assert download in researcher_entry[: researcher_entry.index("</li>")]
    assert 'class="entry entry-internal"' in page and "Internal note · staff only" in page
    assert 'class="entry entry-public"' in page and "Public · the researcher sees this" in page


def test_the_composer_has_two_explicit_buttons_and_no_default_audience(client, submit, triager):
    report = submit()
    client.force_login(triager)

    page = client.get(_page(report)).content.decode()
    response = client.post(_compose(report), {"body": "Is this the right fix?"})

    assert 'value="public"' in page and "Reply to the researcher" in page
    assert 'value="internal"' in page and "Add internal note" in page
    assert response.status_code == 400
    assert "Choose “Reply to the researcher” or “Add internal note”." in response.content.decode()
    assert "Is this the right fix?" in response.content.decode(), "what was typed is kept"
    assert not report.messages.exists()


def test_an_internal_note_never_reaches_the_portal_or_the_researchers_mail(
    client, submit, triager, researcher
):
    report = submit()
    mails = OutgoingMail.objects.filter(report_public_id=report.public_id)
    mails_before = mails.count()
    client.force_login(triager)

    response = client.post(
        _compose(report), {"body": "Internal: CVE pending", "audience": "internal"}
    )

    assert response.status_code == 302
    note = report.messages.get()
    assert note.visibility == Message.Visibility.INTERNAL and note.author == triager
    assert mails.count() == mails_before, "a note mails nobody"
    client.force_login(researcher)
    portal = client.get(f"/portal/reports/{report.public_id}/").content.decode()
    assert "CVE pending" not in portal


def test_a_reply_reaches_the_researcher_and_is_mailed(client, submit, triager, researcher):
    report = submit()
    client.force_login(triager)

    client.post(_compose(report), {"body": "Thanks, looking now.", "audience": "public"})

    (reply,) = [m for m in report.messages.all() if m.body == "Thanks, looking now."]
    assert reply.visibility == Message.Visibility.PUBLIC
    assert OutgoingMail.objects.filter(
        report_public_id=report.public_id, template="report_new_message"
    ).exists()
    client.force_login(researcher)
    assert (
        "Thanks, looking now."
        in client.get(f"/portal/reports/{report.public_id}/").content.decode()
    )


def test_someone_without_change_permission_cannot_post_to_the_composer(
    client, submit, finance_user
):
    report = submit()
    client.force_login(finance_user)

    response = client.post(_compose(report), {"body": "Hello", "audience": "public"})

    assert response.status_code == 403
    assert not report.messages.exists()


def test_a_researcher_cannot_reach_the_composer_of_their_own_report(client, submit, researcher):
    report = submit()
    client.force_login(researcher)

    response = client.post(_compose(report), {"body": "As staff", "audience": "public"})

    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not report.messages.exists()


def test_acting_on_an_unassigned_report_assigns_it_to_whoever_acted(client, submit, triager):
    report = submit()
    client.force_login(triager)

    client.post(_move(report, "acknowledge"), {"message": ""})

    report.refresh_from_db()
    assert report.assignee == triager
    note = report.messages.get(visibility=Message.Visibility.INTERNAL)
    assert f"Assigned to {triager.email}" in note.body


def test_acting_on_a_report_someone_else_has_keeps_their_assignment(submit, triager, program_admin):
    report = submit()
    services.assign_report(report, acting_user=program_admin, assignee=program_admin)

    services.acknowledge_report(report, acting_user=triager)

    report.refresh_from_db()
    assert report.assignee == program_admin


def test_an_internal_note_does_not_take_the_report(submit, triager):
    report = submit()

    services.add_staff_message(report, acting_user=triager, body="Looks like P3.", public=False)

    report.refresh_from_db()
    assert report.assignee is None


def test_the_triage_form_starts_from_what_the_researcher_sent(client, submit, triager):
    report = submit(cvss_vector=VECTOR)
    services.acknowledge_report(report, acting_user=triager)
    client.force_login(triager)

    form = client.get(_move(report, "triage")).context["form"]
    page = client.get(_move(report, "triage")).content.decode()

    assert form.initial["category"] == report.category
    assert form.initial["cvss_vector"] == VECTOR
    assert form.initial["severity"] == Severity.objects.get(name="Critical")
    assert "suggests Critical" in page, "shown before saving"
    assert "reports/triage.js" in page


def test_check_the_vector_shows_the_suggestion_without_triaging(client, submit, triager):
    report = submit()
    services.acknowledge_report(report, acting_user=triager)
    client.force_login(triager)

    response = client.post(
        _move(report, "triage"),
        {
            "cvss_vector": "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
            "severity": Severity.objects.get(name="High").pk,
            "_check_vector": "Check the vector",
        },
    )

    assert response.status_code == 200
    assert "suggests Low; you chose High" in response.content.decode() or "suggests" in (
        response.content.decode()
    )
    report.refresh_from_db()
    assert report.status == Report.Status.ACKNOWLEDGED


def test_the_live_suggestion_scores_a_vector_for_staff_only(client, triager, researcher, program):
    url = reverse("admin:reports_report_cvss_suggestion")
    client.force_login(triager)

    answer = client.get(url, {"vector": VECTOR}).json()
    wrong = client.get(url, {"vector": "CVSS:3.1/AV:X"}).json()
    client.force_login(researcher)
    refused = client.get(url, {"vector": VECTOR})

    assert answer["ok"] and answer["severity"] == Severity.objects.get(name="Critical").pk
    assert "9.8" in answer["text"]
    assert not wrong["ok"] and "Invalid CVSS vector" in wrong["text"]
    assert refused.status_code == 302


def test_a_duplicate_is_picked_by_autocomplete_with_a_message_to_the_researcher(
    client, submit, triager, other_researcher, researcher
):
    original = submit(reporter_user=other_researcher, title="Keys in logs")
    services.acknowledge_report(original, acting_user=triager)
    duplicate = submit(title="Same keys in logs")
    client.force_login(triager)

    page = client.get(_move(duplicate, "mark_duplicate")).content.decode()
    found = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "reports",
            "model_name": "report",
            "field_name": "duplicate_of",
            "term": "Keys in",
        },
    ).json()
    client.post(
        _move(duplicate, "mark_duplicate"),
        {"original": original.pk, "message": "Thanks all the same: it was a good find."},
    )

    assert "admin-autocomplete" in page
    assert str(original.pk) in {result["id"] for result in found["results"]}
    duplicate.refresh_from_db()
    assert duplicate.duplicate_of == original
    told = duplicate.messages.filter(visibility=Message.Visibility.PUBLIC).get()
    assert "acknowledged" in told.body, "the original's status, not its content"
    assert "good find" in told.body
    assert "Keys in logs" not in told.body


def test_a_researcher_cannot_search_reports_through_the_autocomplete(client, submit, researcher):
    submit(title="Secret title")
    client.force_login(researcher)

    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "reports", "model_name": "report", "field_name": "duplicate_of", "term": "S"},
    )

    assert response.status_code == 302


def test_the_report_page_costs_the_same_queries_for_a_short_and_a_long_thread(
    client, submit, triager, researcher
):
    report = submit()
    client.force_login(triager)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(_page(report)).status_code == 200
        return len(captured)

    services.add_staff_message(report, acting_user=triager, body="one", public=True)
    short = queries()
    for index in range(15):
        services.add_staff_message(report, acting_user=triager, body=f"n{index}", public=False)
        services.add_researcher_reply_with_attachments(
            report, acting_user=researcher, body=f"r{index}", files=[upload("p.txt", TEXT)]
        )
    assert queries() == short


def test_a_saved_reply_starts_the_composer_filled_in_for_this_report(client, submit, triager):
    report = submit()
    saved = SavedReplyFactory(name="Thanks", body="Thank you for {report_id}, {researcher_name}.")
    retired = SavedReplyFactory(name="Old", body="Retired {report_id}", is_active=False)
    client.force_login(triager)

    page = client.get(_page(report)).content.decode()
    filled = client.get(_page(report), {"saved_reply": saved.pk}).content.decode()
    refused = client.get(_page(report), {"saved_reply": retired.pk}).content.decode()

    assert f'<option value="{saved.pk}"' in page and f'<option value="{retired.pk}"' not in page
    assert f"Thank you for {report.public_id}, {report.reporter}." in filled
    assert "Retired" not in refused
    assert not report.messages.exists(), "inserting a saved reply sends nothing"


def test_finance_sees_the_report_but_not_its_thread_or_files(
    client, submit, triager, researcher, finance_user
):
    report = submit()
    services.add_staff_message(
        report, acting_user=triager, body="Internal: CVE pending", public=False
    )
    services.add_researcher_reply_with_attachments(
        report, acting_user=researcher, body="Here is the log", files=[upload("poc.txt", TEXT)]
    )
    client.force_login(finance_user)

    page = client.get(_page(report)).content.decode()

    assert report.title in page
    assert "CVE pending" not in page and "Here is the log" not in page
    assert "attachment" not in page.lower() or "/download/" not in page
    assert 'class="composer"' not in page, "finance cannot write on a report"


def test_the_header_says_which_door_the_report_came_in_by(client, submit, triager):
    report = submit()
    client.force_login(triager)

    page = client.get(_page(report)).content.decode()

    assert "</time> through the portal</dd>" in page
