"""Intake mail in the admin: listed for staff who triage, read-only, and its raw source only
for those allowed to read it, decrypted on download and every download recorded."""

import pytest
from django.urls import reverse

from intake.models import IntakeMessage, RawSourceDownload
from tests.factories import RAW_MAIL, IntakeMessageFactory, ReportFactory

pytestmark = pytest.mark.django_db

LIST = reverse("admin:intake_intakemessage_changelist")


def raw_url(message):
    return reverse("admin:intake_intakemessage_raw_source", args=[message.pk])


def page_url(message):
    return reverse("admin:intake_intakemessage_change", args=[message.pk])


def test_a_triager_sees_what_came_in_and_what_became_of_it(client, triager):
    report = ReportFactory()
    IntakeMessageFactory(state=IntakeMessage.State.PROCESSED, report=report)
    IntakeMessageFactory(state=IntakeMessage.State.FAILED, error="It has no Subject.")
    client.force_login(triager)

    page = client.get(LIST).content.decode()

    assert "carol@example.test" in page
    assert report.public_id in page
    assert "Processed" in page and "Failed" in page


def test_a_failed_message_shows_why_on_its_page(client, triager):
    message = IntakeMessageFactory(state=IntakeMessage.State.FAILED, error="It has no Subject.")
    client.force_login(triager)

    page = client.get(page_url(message)).content.decode()

    assert "It has no Subject." in page
    assert raw_url(message) in page


def test_staff_find_a_researchers_mail_by_their_address(client, triager):
    IntakeMessageFactory(sender="carol@example.test")
    IntakeMessageFactory(sender="dave@example.test")
    client.force_login(triager)

    page = client.get(LIST, {"q": "Dave@Example.test"}).content.decode()

    assert "dave@example.test" in page and "carol@example.test" not in page


def test_a_triager_downloads_the_raw_source_decrypted_and_the_download_is_recorded(client, triager):
    message = IntakeMessageFactory()
    client.force_login(triager)

    response = client.get(raw_url(message))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == RAW_MAIL
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    download = RawSourceDownload.objects.get()
    assert (download.message, download.downloaded_by) == (message, triager)
    page = client.get(page_url(message)).content.decode().lower()
    assert "who downloaded the raw source" in page and triager.email in page


def test_a_program_admin_sees_the_list_but_not_the_mail_itself(client, program_admin):
    message = IntakeMessageFactory()
    client.force_login(program_admin)

    assert client.get(LIST).status_code == 200
    assert client.get(raw_url(message)).status_code == 403
    assert not RawSourceDownload.objects.exists()


@pytest.mark.parametrize("who", ["finance_user", "researcher"])
def test_neither_finance_nor_a_researcher_reaches_intake_mail(client, request, who):
    message = IntakeMessageFactory()
    client.force_login(request.getfixturevalue(who))

    for url in (LIST, page_url(message), raw_url(message)):
        response = client.get(url)
        assert response.status_code in (302, 403), url
    assert not RawSourceDownload.objects.exists()


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    message = IntakeMessageFactory()

    response = client.get(raw_url(message))

    assert response.status_code == 302
    assert not RawSourceDownload.objects.exists()


def test_nobody_adds_changes_or_deletes_intake_mail_in_the_admin(client, superuser):
    message = IntakeMessageFactory()
    client.force_login(superuser)

    page = client.get(page_url(message)).content.decode()
    assert 'name="_save"' not in page
    assert client.get(reverse("admin:intake_intakemessage_add")).status_code == 403
    delete = reverse("admin:intake_intakemessage_delete", args=[message.pk])
    assert client.post(delete).status_code == 403
    assert IntakeMessage.objects.filter(pk=message.pk).exists()


def test_a_mail_never_fetched_has_no_raw_source_to_download(client, triager):
    message = IntakeMessageFactory(raw="", state=IntakeMessage.State.FAILED)
    client.force_login(triager)

    assert client.get(raw_url(message)).status_code == 404
    assert "stays on the mail server" in client.get(page_url(message)).content.decode()
