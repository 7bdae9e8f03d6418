"""Saved replies: canned answers program admins write, with placeholders filled per report.

A placeholder is one of a few names (the researcher's name, the report's id and title, the
program's name); anything else is refused when the reply is saved, and never evaluated when it
is used. Only program admins write them; triagers read them; nobody else reaches them.
"""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from reports.markdown import render_markdown
from reports.models import SavedReply
from reports.saved_replies import active_saved_replies, render_saved_reply, save_saved_reply
from tests.factories import SavedReplyFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:reports_savedreply_changelist"
ADD = "admin:reports_savedreply_add"


def _change_url(saved_reply):
    return reverse("admin:reports_savedreply_change", args=[saved_reply.pk])


def _delete_url(saved_reply):
    return reverse("admin:reports_savedreply_delete", args=[saved_reply.pk])


def _form(**overrides):
    return {"name": "Ask for a video", "body": "Hello {researcher_name}.", "is_active": "on"} | (
        overrides
    )


@pytest.fixture
def report(submit, researcher):
    reporter = researcher.reporter
    reporter.display_name = "Alice Example"
    reporter.save()
    return submit(title="Admin API answers without a key")


# Filling placeholders


def test_every_placeholder_is_filled_from_the_report_and_the_program(report, program):
    saved_reply = SavedReplyFactory(
        body="Hello {researcher_name}, thank you for {report_id} "
        '("{report_title}") to {program_name}.'
    )

    text = render_saved_reply(saved_reply, report)

    assert text == (
        f"Hello Alice Example, thank you for {report.public_id} "
        f'("Admin API answers without a key") to {program.name}.'
    )


def test_a_researcher_who_gave_no_name_is_called_researcher(submit, researcher):
    researcher.reporter.display_name = ""
    researcher.reporter.save()

    text = render_saved_reply(SavedReplyFactory(body="Hello {researcher_name}."), submit())

    assert text == "Hello researcher."


def test_doubled_braces_are_braces_and_a_reply_without_placeholders_is_itself(report):
    saved_reply = SavedReplyFactory(body='Send JSON like {{"key": 1}} for {report_id}.')

    assert render_saved_reply(saved_reply, report) == (
        f'Send JSON like {{"key": 1}} for {report.public_id}.'
    )
    assert render_saved_reply(SavedReplyFactory(body="Thanks."), report) == "Thanks."


def test_a_title_full_of_markup_stays_text_once_the_reply_is_shown(submit):
    report = submit(title='<img src=x onerror="alert(1)"> [click](javascript:alert(1))')

    shown = render_markdown(render_saved_reply(SavedReplyFactory(body="{report_title}"), report))

    assert "<img" not in shown and "href" not in shown
    assert "&lt;img" in shown


def test_an_unknown_placeholder_saved_before_it_was_refused_is_left_as_typed(report):
    # Written past validation (a placeholder withdrawn since, a row loaded from elsewhere).
    saved_reply = SavedReply.objects.create(name="Old", body="{unknown} for {report_id}")

    assert render_saved_reply(saved_reply, report) == f"{{unknown}} for {report.public_id}"


def test_attribute_access_is_never_followed_at_use(report, researcher):
    researcher.reporter.payment_details = "IBAN SECRET-123"
    researcher.reporter.save()
    saved_reply = SavedReply.objects.create(
        name="Probe", body="{report.reporter.payment_details} {report_id.__class__}"
    )

    text = render_saved_reply(saved_reply, report)

    assert text == "{report.reporter.payment_details} {report_id.__class__}"
    assert "SECRET-123" not in text


def test_an_unmatched_brace_saved_before_it_was_refused_is_left_as_typed(report):
    saved_reply = SavedReply.objects.create(name="Broken", body="Hello {researcher_name")

    assert render_saved_reply(saved_reply, report) == "Hello {researcher_name"


# Checking placeholders when a saved reply is saved

REFUSED_PLACEHOLDERS = [
    "{report.reporter.payment_details}",
    "{reporter}",
    "{report_id.__class__}",
    "{report_id[0]}",
    "{0}",
    "{}",
    "{report_id!r}",
    "{report_id:>999999}",
    "{report_id:{program_name}}",
]


@pytest.mark.parametrize("placeholder", REFUSED_PLACEHOLDERS)
def test_a_placeholder_that_is_not_one_of_the_names_is_refused_saying_which(
    placeholder, program_admin
):
    saved_reply = SavedReply(name="Probe", body=f"Hello {placeholder}.")

    with pytest.raises(ValidationError) as refused:
        save_saved_reply(saved_reply, acting_user=program_admin)

    [message] = refused.value.message_dict["body"]
    assert f"Unknown placeholder: {placeholder}." in message
    assert "{researcher_name}, {report_id}, {report_title}, {program_name}" in message
    assert not SavedReply.objects.exists()


@pytest.mark.parametrize("body", ["Hello {researcher_name", "Hello }", "Hello {"])
def test_an_unmatched_brace_is_refused(body, program_admin):
    with pytest.raises(ValidationError) as refused:
        save_saved_reply(SavedReply(name="Probe", body=body), acting_user=program_admin)

    assert refused.value.error_dict["body"][0].code == "unmatched_brace"


def test_the_admin_shows_a_bad_placeholder_beside_the_text_and_saves_nothing(client, program_admin):
    client.force_login(program_admin)

    response = client.post(reverse(ADD), _form(body="Paid to {reporter.payment_details}"))

    assert response.status_code == 200
    assert "Unknown placeholder: {reporter.payment_details}." in response.content.decode()
    assert not SavedReply.objects.exists()


# Which saved replies are offered


def test_only_active_saved_replies_are_offered_by_name():
    SavedReplyFactory(name="Zebra")
    SavedReplyFactory(name="Retired", is_active=False)
    SavedReplyFactory(name="Apple")

    assert [reply.name for reply in active_saved_replies()] == ["Apple", "Zebra"]


# Who writes them


def test_a_program_admin_adds_one_and_is_named_as_its_writer(client, program_admin):
    client.force_login(program_admin)

    response = client.post(reverse(ADD), _form())

    assert response.status_code == 302
    saved_reply = SavedReply.objects.get()
    assert saved_reply.body == "Hello {researcher_name}."
    assert saved_reply.created_by == program_admin and saved_reply.updated_by == program_admin
    assert saved_reply.history.get().history_user == program_admin


def test_a_program_admin_changes_one_and_is_named_as_its_last_editor(
    client, program_admin, superuser
):
    saved_reply = save_saved_reply(SavedReply(name="Thanks", body="Thanks."), acting_user=superuser)
    client.force_login(program_admin)

    response = client.post(_change_url(saved_reply), _form(name="Thanks", body="Thank you."))

    assert response.status_code == 302
    saved_reply.refresh_from_db()
    assert saved_reply.body == "Thank you."
    assert saved_reply.created_by == superuser and saved_reply.updated_by == program_admin


def test_a_program_admin_deletes_one(client, program_admin):
    saved_reply = SavedReplyFactory()
    client.force_login(program_admin)

    response = client.post(_delete_url(saved_reply), {"post": "yes"})

    assert response.status_code == 302
    assert not SavedReply.objects.exists()


def test_a_triager_reads_them_but_cannot_add_change_or_delete_one(client, triager):
    saved_reply = SavedReplyFactory(body="Thanks.")
    client.force_login(triager)

    listing = client.get(reverse(CHANGELIST))
    assert listing.status_code == 200
    assert saved_reply.name in listing.content.decode()
    assert reverse(ADD) not in listing.content.decode()
    assert client.get(reverse(ADD)).status_code == 403
    assert client.post(reverse(ADD), _form()).status_code == 403
    changed = client.post(_change_url(saved_reply), _form(name=saved_reply.name, body="Changed."))
    assert changed.status_code == 403
    assert client.post(_delete_url(saved_reply), {"post": "yes"}).status_code == 403
    saved_reply.refresh_from_db()
    assert saved_reply.body == "Thanks."
    assert SavedReply.objects.count() == 1


def test_a_triager_cannot_write_one_through_the_service_either(triager):
    with pytest.raises(PermissionDenied):
        save_saved_reply(SavedReply(name="Mine", body="Hi."), acting_user=triager)

    saved_reply = SavedReplyFactory(body="Thanks.")
    saved_reply.body = "Changed."
    with pytest.raises(PermissionDenied):
        save_saved_reply(saved_reply, acting_user=triager)

    saved_reply.refresh_from_db()
    assert saved_reply.body == "Thanks."


def test_finance_does_not_reach_them(client, finance_user):
    saved_reply = SavedReplyFactory()
    client.force_login(finance_user)

    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(_change_url(saved_reply)).status_code == 403


def _attempts(client, saved_reply):
    return [
        client.get(reverse(CHANGELIST)),
        client.get(_change_url(saved_reply)),
        client.post(reverse(ADD), _form()),
    ]


def test_an_anonymous_visitor_is_sent_to_sign_in_and_writes_nothing(client):
    saved_reply = SavedReplyFactory(body="Internal wording.")

    for response in _attempts(client, saved_reply):
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert SavedReply.objects.get().body == "Internal wording."
    assert SavedReply.objects.count() == 1


def test_a_signed_in_researcher_is_refused_and_writes_nothing(client, researcher):
    saved_reply = SavedReplyFactory(body="Internal wording.")
    client.force_login(researcher)

    for response in _attempts(client, saved_reply):
        refused = client.get(response["Location"]) if response.status_code == 302 else response
        assert refused.status_code == 403
        assert "Internal wording." not in refused.content.decode()
    assert SavedReply.objects.count() == 1
