"""The reporter portal: who reaches which page, what a researcher sees, and what they can do."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from bounty.models import Category, Payout, Severity
from outbox.models import OutgoingMail
from reports import services
from reports.models import Attachment, Message, Report, Reporter
from tests.factories import (
    AttachmentFactory,
    AwardFactory,
    MessageFactory,
    PayoutFactory,
    ReportFactory,
)
from tests.reports.portal import (
    TEXT,
    count_rate_limits_afresh,
    reauthenticate,
    report_form,
    upload,
)

pytestmark = pytest.mark.django_db

NEW_REPORT = "/portal/reports/new/"
MISSING_ID = "VR-0000-0000-0000-0000"


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(settings):
    count_rate_limits_afresh(settings)


@pytest.fixture
def report(submit):
    return submit()


@pytest.fixture
def attachment(report, researcher):
    return AttachmentFactory(report=report, uploaded_by=researcher)


def _report_url(report_or_id):
    public_id = getattr(report_or_id, "public_id", report_or_id)
    return f"/portal/reports/{public_id}/"


def _reply_url(report_or_id):
    return _report_url(report_or_id) + "reply/"


def _download_url(report_or_id, attachment_id):
    return _report_url(report_or_id) + f"attachments/{attachment_id}/"


def _text(response):
    return response.content.decode()


def _field_error(response, field):
    """Return the errors shown beside a field, checking the input points at them."""
    page = _text(response)
    assert f'aria-describedby="id_{field}_helptext id_{field}_error"' in page or (
        f'aria-describedby="id_{field}_error"' in page
    ), f"{field} is not described by its errors"
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', page, re.S)
    assert match, f"no errors beside {field}"
    return re.sub(r"<[^>]+>", " ", match[1])


# Who reaches which page


def _pages(report, attachment):
    return [
        ("get", "/portal/"),
        ("get", NEW_REPORT),
        ("get", _report_url(report)),
        ("post", _reply_url(report)),
        ("get", _download_url(report, attachment.pk)),
        ("get", "/portal/payment-details/"),
    ]


def test_anonymous_visitors_are_sent_to_sign_in_from_every_page(client, report, attachment):
    for method, url in _pages(report, attachment):
        response = getattr(client, method)(url, {"body": "hi"} if method == "post" else None)

        assert response.status_code == 302, url
        assert response["Location"] == f"/accounts/login/?next={url}", url


def test_the_owner_reaches_every_page_of_their_report(client, researcher, report, attachment):
    client.force_login(researcher)

    assert client.get("/portal/").status_code == 200
    assert client.get(NEW_REPORT).status_code == 200
    assert client.get(_report_url(report)).status_code == 200
    assert client.get(_download_url(report, attachment.pk)).status_code == 200
    reply = client.post(_reply_url(report), {"body": "More details."})
    assert reply.status_code == 302
    assert reply["Location"] == _report_url(report) + "#timeline"


@pytest.mark.parametrize("visitor", ["other_researcher", "triager", "finance_user", "superuser"])
def test_anyone_but_the_owner_gets_404_for_a_report_the_same_as_for_no_report(
    client, request, report, attachment, visitor
):
    client.force_login(request.getfixturevalue(visitor))
    missing = [
        client.get(_report_url(MISSING_ID)),
        client.post(_reply_url(MISSING_ID), {"body": "hi"}),
        client.get(_download_url(MISSING_ID, attachment.pk)),
    ]

    theirs = [
        client.get(_report_url(report)),
        client.post(_reply_url(report), {"body": "hi"}),
        client.get(_download_url(report, attachment.pk)),
    ]

    for answer, no_such in zip(theirs, missing, strict=True):
        assert answer.status_code == no_such.status_code == 404
        assert answer.content == no_such.content
    assert "hi" not in [message.body for message in report.messages.all()]


def test_a_file_of_the_researchers_own_report_is_not_reachable_through_another_report(
    client, researcher, submit, attachment
):
    second = submit(title="Another one")
    client.force_login(researcher)

    response = client.get(_download_url(second, attachment.pk))

    assert response.status_code == 404


@pytest.mark.parametrize("visitor", ["other_researcher", "triager"])
def test_the_report_list_shows_only_the_visitors_own_reports(client, request, report, visitor):
    client.force_login(request.getfixturevalue(visitor))

    response = client.get("/portal/")

    assert response.status_code == 200
    assert report.public_id not in _text(response)
    assert report.title not in _text(response)


def test_staff_visiting_the_portal_are_not_made_researchers(client, triager):
    client.force_login(triager)

    assert client.get("/portal/").status_code == 200
    assert client.get(NEW_REPORT).status_code == 403
    reauthenticate(client)
    assert client.get("/portal/payment-details/").status_code == 403
    assert not Reporter.objects.filter(user=triager).exists()


# The report list


def test_the_list_shows_status_severity_next_deadline_and_last_activity(
    client, researcher, submit, program
):
    report = submit()
    client.force_login(researcher)

    page = _text(client.get("/portal/"))

    due = report.deadlines.order_by("due_at").first().due_at
    local_due = timezone.localtime(due, ZoneInfo(program.timezone))
    assert report.title in page and report.public_id in page
    assert "Submitted" in page
    assert "Not set yet" in page
    assert f'Expect an answer by <time datetime="{local_due.isoformat()}">' in page
    assert local_due.strftime("%A %-d %B %Y") in page
    last_activity = timezone.localtime(report.last_activity_at, ZoneInfo(program.timezone))
    assert last_activity.strftime("%-d %b %Y") in page


def test_the_list_says_when_the_desk_waits_for_the_researcher(client, researcher, report, triager):
    services.request_information(report, acting_user=triager, question="Which version?")
    client.force_login(researcher)

    page = _text(client.get("/portal/"))

    assert "Needs information" in page
    assert "We are waiting for your answer." in page
    assert "Expect an answer by" not in page


def test_the_list_shows_the_severity_once_triaged(client, researcher, report, triager):
    services.acknowledge_report(report, acting_user=triager)
    services.triage_report(report, acting_user=triager, severity=Severity.objects.get(name="High"))
    client.force_login(researcher)

    assert ">High</td>" in _text(client.get("/portal/"))


def test_the_list_is_paginated_twenty_to_a_page(client, researcher):
    now = timezone.now()
    for number in range(21):
        ReportFactory(
            reporter=researcher.reporter,
            title=f"Report number {number:02d}",
            last_activity_at=now - dt.timedelta(minutes=number),
        )
    client.force_login(researcher)

    first = _text(client.get("/portal/"))
    second = _text(client.get("/portal/?page=2"))

    assert first.count("Report number") == 20
    assert "Report number 00" in first and "Report number 20" not in first
    assert second.count("Report number") == 1 and "Report number 20" in second
    assert 'href="?page=2"' in first


# Submitting a report


def test_submitting_shows_the_report_with_its_public_id_and_queues_the_acknowledgement(
    client, researcher, program
):
    client.force_login(researcher)

    response = client.post(NEW_REPORT, report_form(), follow=True)

    report = Report.objects.get(reporter__user=researcher)
    assert response.redirect_chain == [(_report_url(report), 302)]
    assert report.public_id in _text(response)
    assert "has been received" in _text(response)
    assert report.affected_asset == "llm-proxy admin API"
    assert report.category.code == "P1"
    mail = OutgoingMail.objects.get(template="report_received")
    assert mail.to == researcher.email
    assert mail.report_public_id == report.public_id


def test_the_category_choices_are_the_programs_active_categories(client, researcher, program):
    Category.objects.filter(code="P3").update(is_active=False)
    client.force_login(researcher)

    page = _text(client.get(NEW_REPORT))

    for category in Category.objects.filter(is_active=True):
        assert f">{category}</option>" in page
    assert "P3 " not in page


def test_a_submitted_cvss_vector_is_scored(client, researcher, program):
    client.force_login(researcher)

    client.post(NEW_REPORT, report_form(cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"))

    assert str(Report.objects.get().cvss_score) == "9.8"


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("title", "", "This field is required."),
        ("description", "   ", "This field is required."),
        ("impact", "", "This field is required."),
        ("affected_asset", "", "This field is required."),
        ("steps_to_reproduce", "", "This field is required."),
        ("steps_to_reproduce", "It just breaks.", "at least two"),
        ("steps_to_reproduce", "1. Start the proxy.\n\n   \n", "at least two"),
        ("cvss_vector", "CVSS:3.1/AV:X", "Invalid CVSS vector"),
        ("cvss_vector", "9.8", "must start with CVSS:3.1/ or CVSS:4.0/"),
        ("category", "999999", "Select a valid choice"),
        ("scope_confirmed", None, "systems and accounts you own"),
    ],
)
def test_a_form_error_is_shown_beside_its_field_and_nothing_is_stored(
    client, researcher, program, field, value, error
):
    client.force_login(researcher)

    response = client.post(NEW_REPORT, report_form(**{field: value}))

    assert response.status_code == 200
    assert error in _field_error(response, field)
    assert 'role="alert"' in _text(response)
    assert not Report.objects.exists()
    assert not OutgoingMail.objects.exists()


def test_every_input_of_the_submit_form_has_a_label(client, researcher, program):
    client.force_login(researcher)

    page = _text(client.get(NEW_REPORT))

    form = page[page.index('<form class="portal-form"') :]
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', form)
    assert len(ids) == 10
    for input_id in ids:
        assert f'<label for="{input_id}">' in form, input_id


# The report page


def test_the_report_page_shows_public_moves_and_messages_but_never_internal_notes(
    client, researcher, report, triager
):
    services.acknowledge_report(report, acting_user=triager, message="We are on it.")
    services.add_staff_message(
        report, acting_user=triager, body="INTERNAL: reporter seems legit", public=False
    )
    internal = MessageFactory(
        report=report, author=triager, visibility=Message.Visibility.INTERNAL, body="x"
    )
    AttachmentFactory(report=report, message=internal, original_name="internal-notes.txt")
    client.force_login(researcher)

    page = _text(client.get(_report_url(report)))

    received = page.index("Report received")
    moved = page.index("Status changed to <strong>Acknowledged</strong>")
    assert received < moved < page.index("We are on it.")
    assert "INTERNAL" not in page
    assert "internal-notes.txt" not in page
    assert triager.email not in page


def test_a_file_attached_to_an_internal_note_cannot_be_downloaded(
    client, researcher, report, triager
):
    internal = MessageFactory(report=report, visibility=Message.Visibility.INTERNAL)
    hidden = AttachmentFactory(report=report, message=internal)
    client.force_login(researcher)

    assert client.get(_download_url(report, hidden.pk)).status_code == 404


def test_the_report_page_renders_the_markdown_fields(client, researcher, submit):
    report = submit(description="Uses **bold** and `code`.", impact="- one\n- two")
    client.force_login(researcher)

    page = _text(client.get(_report_url(report)))

    assert "<strong>bold</strong>" in page and "<code>code</code>" in page
    assert "<li>one</li>" in page


def test_a_reply_joins_the_timeline_and_answers_a_request_for_information(
    client, researcher, report, triager
):
    services.request_information(report, acting_user=triager, question="Which version?")
    client.force_login(researcher)

    response = client.post(
        _reply_url(report), {"body": "Version 1.40.2.", "attachments": [upload("poc.txt", TEXT)]}
    )

    report.refresh_from_db()
    assert response.status_code == 302
    assert report.status == Report.Status.SUBMITTED
    message = report.messages.get(author=researcher)
    assert message.body == "Version 1.40.2."
    assert message.attachments.get().original_name == "poc.txt"
    page = _text(client.get(_report_url(report)))
    assert "You wrote" in page and "Version 1.40.2." in page and "poc.txt" in page
    assert OutgoingMail.objects.filter(template="researcher_replied").exists()


def test_an_empty_reply_is_refused_beside_the_box(client, researcher, report):
    client.force_login(researcher)

    response = client.post(_reply_url(report), {"body": "  "})

    assert response.status_code == 200
    assert "This field is required." in _field_error(response, "body")
    assert not report.messages.exists()


def test_the_report_page_shows_awards_and_their_payout_status(client, researcher, report):
    AwardFactory(report=report, amount="400.00", currency="USD")
    paid = AwardFactory(report=report, kind="bonus", amount="100.00", currency="USD")
    PayoutFactory(
        award=paid,
        status=Payout.Status.PAID,
        instruction_reference="INSTRUCTION-1",
        payment_reference="PAYMENT-1",
        paid_at=timezone.now(),
    )
    client.force_login(researcher)

    page = _text(client.get(_report_url(report)))

    assert "Awards and payouts" in page
    assert "400 USD" in page and "Being prepared" in page
    assert "100 USD" in page and "Paid on" in page


def test_a_report_without_awards_has_no_awards_section(client, researcher, report):
    client.force_login(researcher)

    assert "Awards and payouts" not in _text(client.get(_report_url(report)))


def test_the_next_deadline_reads_in_the_programs_timezone(client, researcher, report, program):
    due = report.deadlines.order_by("due_at").first().due_at
    client.force_login(researcher)

    page = _text(client.get(_report_url(report)))

    local = timezone.localtime(due, ZoneInfo(program.timezone))
    assert local.hour == 23 and local.minute == 59
    assert f'<time datetime="{local.isoformat()}">' in page


# Downloads


def test_a_download_is_an_attachment_the_browser_must_not_sniff(client, researcher, report):
    file = AttachmentFactory(report=report, original_name="proof.txt", content_type="text/plain")
    client.force_login(researcher)

    response = client.get(_download_url(report, file.pk))

    assert response["Content-Disposition"] == 'attachment; filename="proof.txt"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "text/plain"
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content) == b"proof of concept"


def test_a_file_of_an_unaccepted_claimed_type_downloads_as_octet_stream(client, researcher, report):
    file = AttachmentFactory(report=report, original_name="x.html", content_type="text/html")
    client.force_login(researcher)

    response = client.get(_download_url(report, file.pk))

    assert response["Content-Type"] == "application/octet-stream"


# Payment details


def test_payment_details_ask_for_the_password_first(client, researcher):
    client.force_login(researcher)

    response = client.get("/portal/payment-details/")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))


def test_a_researcher_keeps_their_payment_details(client, researcher):
    client.force_login(researcher)
    reauthenticate(client)

    response = client.post(
        "/portal/payment-details/",
        {"payment_method": "bank_transfer", "payment_details": "IBAN DE89 3704 0044 0532 0130 00"},
        follow=True,
    )

    reporter = Reporter.objects.get(user=researcher)
    assert reporter.payment_method == "bank_transfer"
    assert reporter.payment_details == "IBAN DE89 3704 0044 0532 0130 00"
    assert "have been saved" in _text(response)
    assert "IBAN DE89 3704 0044 0532 0130 00" in _text(response)
    assert reporter.history.latest().history_user == researcher


@pytest.mark.parametrize(
    ("method", "details", "field", "error"),
    [
        ("paypal", "not an address", "payment_details", "email address of your PayPal"),
        ("bank_transfer", "  ", "payment_details", "where we should send the money"),
        ("bitcoin", "bc1q...", "payment_method", "Select a valid choice"),
    ],
)
def test_unusable_payment_details_are_refused_beside_the_field(
    client, researcher, method, details, field, error
):
    client.force_login(researcher)
    reauthenticate(client)

    response = client.post(
        "/portal/payment-details/", {"payment_method": method, "payment_details": details}
    )

    assert response.status_code == 200
    assert error in _field_error(response, field)
    assert Reporter.objects.get(user=researcher).payment_method == ""


def test_choosing_no_method_clears_the_details(client, researcher):
    services.update_payment_details(
        researcher.reporter, acting_user=researcher, method="paypal", details="a@example.test"
    )
    client.force_login(researcher)
    reauthenticate(client)

    client.post("/portal/payment-details/", {"payment_method": "", "payment_details": "x"})

    reporter = Reporter.objects.get(user=researcher)
    assert (reporter.payment_method, reporter.payment_details) == ("", "")


def test_only_finance_sees_the_saved_details_in_the_admin(
    client, researcher, triager, finance_user
):
    services.update_payment_details(
        researcher.reporter, acting_user=researcher, method="paypal", details="pay@example.test"
    )
    change_page = reverse("admin:reports_reporter_change", args=[researcher.reporter.pk])

    client.force_login(triager)
    assert "pay@example.test" not in _text(client.get(change_page))
    client.force_login(finance_user)
    assert "pay@example.test" in _text(client.get(change_page))


def test_nobody_else_can_change_a_researchers_payment_details(researcher, other_researcher):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.update_payment_details(
            researcher.reporter, acting_user=other_researcher, method="paypal", details="x@y.test"
        )


# Rate limits


def test_submissions_are_limited_per_account(client, researcher, program, settings):
    settings.PORTAL_SUBMIT_RATE = "2/h"
    client.force_login(researcher)
    for address in ("10.0.0.1", "10.0.0.2"):
        assert client.post(NEW_REPORT, report_form(), REMOTE_ADDR=address).status_code == 302

    response = client.post(NEW_REPORT, report_form(), REMOTE_ADDR="10.0.0.3")

    assert response.status_code == 429
    assert "You have sent too many reports in a short time" in _text(response)
    assert Report.objects.count() == 2


def test_submissions_are_limited_per_address(
    client, researcher, other_researcher, program, settings
):
    settings.PORTAL_SUBMIT_RATE = "2/h"
    client.force_login(researcher)
    for _ in range(2):
        client.post(NEW_REPORT, report_form(), REMOTE_ADDR="10.0.0.1")
    client.force_login(other_researcher)

    response = client.post(NEW_REPORT, report_form(), REMOTE_ADDR="10.0.0.1")

    assert response.status_code == 429
    assert not Report.objects.filter(reporter__user=other_researcher).exists()


def test_replies_are_limited_with_a_clear_message(client, researcher, report, settings):
    settings.PORTAL_REPLY_RATE = "3/h"
    client.force_login(researcher)
    for number in range(3):
        client.post(_reply_url(report), {"body": f"Reply {number}"})

    response = client.post(_reply_url(report), {"body": "One too many"})

    assert response.status_code == 429
    assert "You have sent too many messages in a short time" in _text(response)
    assert report.messages.filter(author=researcher).count() == 3


def test_reading_pages_does_not_count_toward_the_limits(client, researcher, report, settings):
    settings.PORTAL_SUBMIT_RATE = "1/h"
    client.force_login(researcher)
    for _ in range(3):
        client.get(NEW_REPORT)

    assert client.post(NEW_REPORT, report_form()).status_code == 302


# Pages


@pytest.mark.parametrize("path", ["/portal/", NEW_REPORT])
def test_portal_pages_are_plain_html_with_the_sites_stylesheet(client, researcher, program, path):
    client.force_login(researcher)

    response = client.get(path)
    page = _text(response)

    assert "/static/css/desk.css" in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "<script" not in page and "style=" not in page and "<style" not in page
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_a_file_stored_with_a_report_keeps_its_sniffed_type(client, researcher, program):
    client.force_login(researcher)

    client.post(NEW_REPORT, {**report_form(), "attachments": [upload("notes.png", TEXT)]})

    stored = Attachment.objects.get()
    assert (stored.original_name, stored.content_type) == ("notes.png", "text/plain")
