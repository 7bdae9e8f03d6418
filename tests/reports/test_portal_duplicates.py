"""A duplicate's researcher sees the status of the report theirs duplicates, and nothing else of
it: the original is another researcher's, so its title, contents and page stay theirs."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bounty.models import Severity
from reports import services
from reports.models import Message
from tests.factories import AttachmentFactory, ReporterFactory, UserFactory

pytestmark = pytest.mark.django_db

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE)\b", re.IGNORECASE)
ORIGINAL_SECRETS = {
    "title": "Original secret title",
    "description": "Original secret description",
    "steps_to_reproduce": "Original secret steps",
    "impact": "Original secret impact",
    "affected_asset": "original-secret-asset",
}


def _page(report):
    return f"/portal/reports/{report.public_id}/"


@pytest.fixture
def original(submit, other_researcher, triager):
    report = submit(reporter_user=other_researcher, **ORIGINAL_SECRETS)
    return services.acknowledge_report(report, acting_user=triager)


@pytest.fixture
def duplicate(submit, triager, original):
    report = submit(title="Mine, found later")
    return services.mark_duplicate(report, acting_user=triager, original=original)


def test_the_duplicates_researcher_sees_the_originals_status(client, researcher, duplicate):
    client.force_login(researcher)

    page = client.get(_page(duplicate)).content.decode()

    assert "Closed as a duplicate of an earlier report, which is acknowledged." in page


def test_the_duplicates_page_shows_nothing_else_of_the_original(
    client, researcher, other_researcher, original, duplicate
):
    client.force_login(researcher)

    page = client.get(_page(duplicate)).content.decode()

    for secret in ORIGINAL_SECRETS.values():
        assert secret not in page
    assert other_researcher.email not in page
    assert str(other_researcher.reporter) not in page
    assert f'href="{_page(original)}' not in page


def test_the_status_shown_is_the_originals_status_now(
    client, researcher, triager, original, duplicate
):
    services.triage_report(original, acting_user=triager, severity=Severity.objects.get(name="Low"))
    services.resolve_report(original, acting_user=triager)
    client.force_login(researcher)

    page = client.get(_page(duplicate)).content.decode()

    assert "an earlier report, which is resolved." in page


def test_an_original_closed_since_as_a_duplicate_is_followed_to_the_report_that_stands(
    client, submit, researcher, triager, original, duplicate
):
    third = ReporterFactory(user=UserFactory(email="carol@example.test")).user
    standing = services.acknowledge_report(submit(reporter_user=third), acting_user=triager)
    services.triage_report(standing, acting_user=triager, severity=Severity.objects.get(name="Low"))
    services.mark_duplicate(original, acting_user=triager, original=standing)
    client.force_login(researcher)

    page = client.get(_page(duplicate)).content.decode()

    assert "an earlier report, which is triaged." in page


def test_a_report_that_duplicates_nothing_says_nothing_of_duplicates(client, researcher, submit):
    report = submit()
    client.force_login(researcher)

    page = client.get(_page(report)).content.decode()

    assert "duplicate" not in page.lower()


def test_the_duplicates_researcher_cannot_open_the_original_its_files_or_reply_to_it(
    client, researcher, other_researcher, original, duplicate
):
    file = AttachmentFactory(report=original, uploaded_by=other_researcher)
    client.force_login(researcher)

    assert client.get(_page(original)).status_code == 404
    assert client.get(_page(original) + f"attachments/{file.pk}/").status_code == 404
    # Nor by asking for the original's file under their own report's id.
    assert client.get(_page(duplicate) + f"attachments/{file.pk}/").status_code == 404
    assert client.post(_page(original) + "reply/", {"body": "Me too"}).status_code == 404
    assert not original.messages.filter(author=researcher).exists()
    assert original.messages.filter(visibility=Message.Visibility.PUBLIC).count() == 1


def test_opening_a_duplicate_writes_nothing(client, researcher, duplicate):
    client.force_login(researcher)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(_page(duplicate))

    assert response.status_code == 200
    assert [query["sql"] for query in queries if WRITE.match(query["sql"])] == []
