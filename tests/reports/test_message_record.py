"""The thread is the record: only a superuser corrects or deletes a message, and it is audited."""

import logging

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from reports import services
from reports.models import Message
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db

STAFF = ["triager", "finance_user", "program_admin"]


@pytest.fixture
def message(db):
    return MessageFactory(body="We have reproduced it.")


def _message_page(message, view="change"):
    return reverse(f"admin:reports_message_{view}", args=[message.pk])


@pytest.mark.parametrize("fixture", STAFF)
def test_staff_cannot_edit_or_delete_a_message_in_the_admin(client, request, message, fixture):
    client.force_login(request.getfixturevalue(fixture))

    edited = client.post(
        _message_page(message), {"body": "It never happened.", "visibility": "internal"}
    )
    deleted = client.post(_message_page(message, "delete"), {"post": "yes"})
    bulk_deleted = client.post(
        reverse("admin:reports_message_changelist"),
        {"action": "delete_selected", "_selected_action": [message.pk], "post": "yes"},
    )

    assert edited.status_code == 403
    assert deleted.status_code == 403
    assert bulk_deleted.status_code in (200, 302, 403)
    message.refresh_from_db()
    assert (message.body, message.visibility) == ("We have reproduced it.", "public")


@pytest.mark.parametrize("fixture", STAFF)
def test_the_services_refuse_anyone_but_a_superuser(request, message, fixture):
    user = request.getfixturevalue(fixture)

    with pytest.raises(PermissionDenied):
        services.correct_message(message, body="x", visibility="public", acting_user=user)
    with pytest.raises(PermissionDenied):
        services.delete_message(message, acting_user=user)
    assert Message.objects.filter(pk=message.pk).exists()


def test_the_report_page_offers_no_edit_or_delete_of_existing_messages(client, triager, message):
    client.force_login(triager)

    page = client.get(reverse("admin:reports_report_change", args=[message.report_id])).content

    assert b"messages-0-DELETE" not in page
    assert b'name="messages-0-body"' not in page
    assert b"We have reproduced it." in page


def test_a_superusers_correction_is_kept_in_history_with_them_and_logged(
    client, superuser, message, caplog
):
    client.force_login(superuser)

    with caplog.at_level(logging.WARNING, logger="reports.services.thread"):
        response = client.post(
            _message_page(message),
            {"body": "We have reproduced it. [key removed]", "visibility": "public"},
        )

    assert response.status_code == 302
    message.refresh_from_db()
    assert message.body == "We have reproduced it. [key removed]"
    row = message.history.latest()
    assert row.history_user == superuser
    assert row.history_change_reason == f"Corrected by superuser {superuser.email}"
    assert row.prev_record.body == "We have reproduced it."
    assert LogEntry.objects.filter(object_id=str(message.pk), action_flag=CHANGE).exists()
    assert f"corrected message {message.pk}" in caplog.text


def test_a_superusers_deletion_is_kept_in_history_with_them_and_logged(
    client, superuser, message, caplog
):
    message_id = message.pk
    client.force_login(superuser)

    with caplog.at_level(logging.WARNING, logger="reports.services.thread"):
        response = client.post(_message_page(message, "delete"), {"post": "yes"})

    assert response.status_code == 302
    assert not Message.objects.filter(pk=message_id).exists()
    row = Message.history.filter(id=message_id).latest()
    assert (row.history_type, row.history_user) == ("-", superuser)
    assert row.body == "We have reproduced it."
    assert LogEntry.objects.filter(object_id=str(message_id), action_flag=DELETION).exists()
    assert f"deleted message {message_id}" in caplog.text
