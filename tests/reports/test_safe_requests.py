"""A portal page that is only read writes nothing: no reporter, no history row, no row at all.

A researcher's reporter record is linked when they confirm their address; a page they merely
open never creates or claims one. Only a POST that writes anyway (a submission, saved payment
details) links an account whose address was verified some other way.
"""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reports import services
from reports.models import Report, Reporter
from reports.urls import urlpatterns as portal_urls
from tests.factories import UserFactory
from tests.reports.portal import (
    PASSWORD,
    PNG,
    count_rate_limits_afresh,
    reauthenticate,
    report_form,
    upload,
)

pytestmark = pytest.mark.django_db

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE)\b", re.IGNORECASE)
POST_ONLY = {"reply_to_report", "pgp_key"}
# Every portal page that answers GET, from what a researcher who reported by mail has.
PORTAL_GETS = {
    "report_list": lambda report, file: reverse("portal:report_list"),
    "submit_report": lambda report, file: reverse("portal:submit_report"),
    "report_detail": lambda report, file: reverse("portal:report_detail", args=[report.public_id]),
    "download_attachment": lambda report, file: reverse(
        "portal:download_attachment", args=[report.public_id, file.pk]
    ),
    "payment_details": lambda report, file: reverse("portal:payment_details"),
}


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(settings):
    count_rate_limits_afresh(settings)


@pytest.fixture
def emailed_report(triager, program):
    """A report Carol sent to the security address, with a screenshot, before she signed up."""
    report = services.record_report_received_by_email(
        reporter_email="carol@example.test",
        reporter_name="Carol Mailer",
        submission=services.Submission(
            title="Sent by mail before",
            description="Sent to the security contact.",
            steps_to_reproduce="1. Start the proxy.\n2. Call it.",
        ),
        received_at=timezone.now(),
        acting_user=triager,
    )
    [screenshot] = services.attach_files(
        report, acting_user=triager, files=[upload("screenshot.png", PNG, "image/png")]
    )
    return report, screenshot


def _writes_while(client, urls):
    """GET every url; return the responses and every statement that wrote to the database."""
    with CaptureQueriesContext(connection) as queries:
        responses = {}
        for url in urls:
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)
            responses[url] = response.status_code
    return responses, [query["sql"] for query in queries if WRITE.match(query["sql"])]


def test_the_walk_covers_every_portal_page_that_answers_get():
    assert set(PORTAL_GETS) == {pattern.name for pattern in portal_urls} - POST_ONLY


def test_a_freshly_signed_up_researcher_writes_nothing_by_opening_every_portal_page(
    client, emailed_report
):
    report, screenshot = emailed_report
    client.post(
        "/accounts/signup/",
        {"email": "carol@example.test", "password1": PASSWORD, "password2": PASSWORD},
    )
    confirm = re.search(
        r"http://testserver(/accounts/confirm-email/[^/\s]+/)", mail.outbox[-1].body
    )
    client.post(confirm[1])
    reauthenticate(client)  # the payment details page asks for the password first
    urls = [page(report, screenshot) for page in PORTAL_GETS.values()]

    responses, writes = _writes_while(client, urls)

    assert responses == dict.fromkeys(urls, 200)
    assert writes == []
    assert Reporter.objects.get(user__email="carol@example.test") == report.reporter


def test_an_account_verified_without_confirming_gets_no_reporter_from_reading_pages(
    client, emailed_report
):
    report, screenshot = emailed_report
    # Verified by an operator or a seed rather than through the confirmation link.
    carol = UserFactory(email="carol@example.test")
    EmailAddress.objects.create(user=carol, email=carol.email, verified=True, primary=True)
    client.force_login(carol)
    reauthenticate(client)
    urls = [
        PORTAL_GETS[name](report, screenshot)
        for name in ("report_list", "submit_report", "payment_details")
    ]

    responses, writes = _writes_while(client, urls)

    assert responses == dict.fromkeys(urls, 200)
    assert writes == []
    assert not Reporter.objects.filter(user=carol).exists()
    assert Reporter.objects.count() == 1


def test_an_account_verified_without_confirming_gets_its_reporter_with_its_first_report(
    client, emailed_report
):
    report, _ = emailed_report
    carol = UserFactory(email="carol@example.test")
    EmailAddress.objects.create(user=carol, email=carol.email, verified=True, primary=True)
    client.force_login(carol)

    response = client.post(reverse("portal:submit_report"), report_form(title="Found another"))

    assert response.status_code == 302
    report.reporter.refresh_from_db()
    assert report.reporter.user == carol
    assert Report.objects.get(title="Found another").reporter == report.reporter
    assert report.public_id in client.get(reverse("portal:report_list")).content.decode()


def test_an_account_without_a_verified_address_is_refused_and_nothing_is_written(
    client, emailed_report
):
    report, _ = emailed_report
    carol = UserFactory(email="carol@example.test")
    client.force_login(carol)

    responses, writes = _writes_while(client, [reverse("portal:submit_report")])

    assert list(responses.values()) == [403]
    assert writes == []
    report.reporter.refresh_from_db()
    assert report.reporter.user is None
