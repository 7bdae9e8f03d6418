"""The sender blocklist: program admins keep it in the admin, an address (by its blind index)
or a whole domain; blocked mail is kept and ignored, makes no report and gets no reply. Spam is
closed by the normal move, and its page offers to block the sender."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from intake import blocklist, services
from intake.models import BlockedSender, IntakeMessage
from outbox.models import OutgoingMail
from reports import services as report_services
from reports.models import Report
from tests.intake.mails import report_mail

pytestmark = pytest.mark.django_db

State = IntakeMessage.State
LIST = reverse("admin:intake_blockedsender_changelist")
ADD = reverse("admin:intake_blockedsender_add")


@pytest.fixture(autouse=True)
def _reference_program(program):
    return program


def ingest(raw: bytes) -> IntakeMessage:
    return services.ingest_raw(raw).message


def block(entry, program_admin, reason="Sends spam every day."):
    return blocklist.block_sender(entry=entry, reason=reason, acting_user=program_admin)


# What is blocked


def test_mail_from_a_blocked_address_is_kept_ignored_and_unanswered(program_admin):
    entry = block("Carol@Example.test", program_admin)

    message = ingest(report_mail(sender="Carol Mailer <carol@EXAMPLE.test>"))

    assert message.state == State.IGNORED
    assert message.error == f"The sender is on the blocklist (Blocked address #{entry.pk})."
    assert message.raw and message.report is None
    assert not Report.objects.exists()
    assert not OutgoingMail.objects.exists()


def test_another_address_at_the_same_domain_is_not_blocked_by_an_address(program_admin):
    block("carol@example.test", program_admin)

    assert ingest(report_mail(sender="dave@example.test")).state == State.PROCESSED


@pytest.mark.parametrize("entry", ["spam.example", "@spam.example", " SPAM.example. "])
@pytest.mark.parametrize("sender", ["eve@spam.example", "eve@mail.spam.example"])
def test_a_blocked_domain_blocks_its_addresses_and_subdomains(program_admin, entry, sender):
    blocked = block(entry, program_admin)

    message = ingest(report_mail(sender=sender))

    assert blocked.domain == "spam.example"
    assert message.state == State.IGNORED
    assert "Blocked domain spam.example" in message.error


@pytest.mark.parametrize(
    "sender", ["eve@notspam.example", "eve@spam.example.org", "eve@example", "spam.example@x.test"]
)
def test_a_blocked_domain_blocks_nothing_that_only_looks_like_it(program_admin, sender):
    block("spam.example", program_admin)

    assert blocklist.blocking_entry(sender) is None


def test_an_address_is_stored_encrypted_and_found_by_its_blind_index(program_admin):
    block("carol@example.test", program_admin)

    stored = BlockedSender.objects.values_list("address", flat=True).get()
    assert "carol" not in stored.stored
    assert BlockedSender.objects.filter(address_index__matches="CAROL@example.test").exists()


@pytest.mark.parametrize("entry", ["", "com", "carol@", "exa mple.test", "-bad.example"])
def test_what_is_neither_an_address_nor_a_domain_is_refused(program_admin, entry):
    with pytest.raises(ValidationError):
        block(entry, program_admin)


def test_the_same_sender_cannot_be_blocked_twice(program_admin):
    block("carol@example.test", program_admin)

    with pytest.raises(ValidationError, match="blocked already"):
        block("CAROL@example.test", program_admin)


def test_lifting_a_block_lets_the_next_mail_make_a_report(program_admin):
    entry = block("carol@example.test", program_admin)
    blocklist.unblock(entry, acting_user=program_admin)

    assert ingest(report_mail()).state == State.PROCESSED


# Who keeps it


def test_a_program_admin_blocks_a_sender_in_the_admin(client, program_admin):
    client.force_login(program_admin)

    response = client.post(ADD, {"entry": "Carol@Example.test", "reason": "Spam.", "_save": "1"})

    assert response.status_code == 302, response.content.decode()[:2000]
    entry = BlockedSender.objects.get()
    assert (entry.kind, entry.address, entry.blocked_by) == (
        "address",
        "carol@example.test",
        program_admin,
    )
    assert entry.history.get().history_user == program_admin
    assert "carol@example.test" in client.get(LIST).content.decode()


def test_the_admin_says_when_a_sender_is_blocked_already(client, program_admin):
    block("spam.example", program_admin)
    client.force_login(program_admin)

    response = client.post(ADD, {"entry": "@spam.example", "reason": "Again.", "_save": "1"})

    assert response.status_code == 200
    assert "blocked already" in response.content.decode()
    assert BlockedSender.objects.count() == 1


def test_a_program_admin_changes_the_reason_but_not_what_is_blocked(client, program_admin):
    entry = block("spam.example", program_admin)
    client.force_login(program_admin)
    page = reverse("admin:intake_blockedsender_change", args=[entry.pk])

    response = client.post(page, {"reason": "Phishing.", "entry": "other.example", "_save": "1"})

    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.domain, entry.reason) == ("spam.example", "Phishing.")


def test_a_program_admin_lifts_a_block_in_the_admin(client, program_admin):
    entry = block("spam.example", program_admin)
    client.force_login(program_admin)

    response = client.post(
        reverse("admin:intake_blockedsender_delete", args=[entry.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not BlockedSender.objects.exists()


def test_a_triager_sees_the_blocklist_but_cannot_change_it(client, triager, program_admin):
    entry = block("spam.example", program_admin)
    client.force_login(triager)

    assert client.get(LIST).status_code == 200
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {"entry": "x.example", "reason": "r", "_save": "1"}).status_code == 403
    change = reverse("admin:intake_blockedsender_change", args=[entry.pk])
    client.post(change, {"reason": "Changed by a triager."})
    delete = reverse("admin:intake_blockedsender_delete", args=[entry.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.reason == "Sends spam every day."
    assert BlockedSender.objects.count() == 1


def test_a_triager_cannot_block_through_the_service_either(triager):
    with pytest.raises(PermissionDenied):
        blocklist.block_sender(entry="spam.example", reason="r", acting_user=triager)


@pytest.mark.parametrize("who", ["anonymous", "researcher", "finance"])
def test_researchers_strangers_and_finance_cannot_reach_the_blocklist(
    client, who, researcher, finance_user, program_admin
):
    entry = block("carol@example.test", program_admin)
    if who == "researcher":
        client.force_login(researcher)
    elif who == "finance":
        client.force_login(finance_user)

    for url in (LIST, ADD, reverse("admin:intake_blockedsender_change", args=[entry.pk])):
        response = client.get(url)
        assert response.status_code in (302, 403)
        assert "carol@example.test" not in response.content.decode()
    assert client.post(ADD, {"entry": "x.example", "reason": "r"}).status_code in (302, 403)
    assert BlockedSender.objects.count() == 1


# Spam is closed by the normal move


@pytest.fixture
def spam_by_mail(triager):
    services.ingest_raw(report_mail(sender="eve@spam.example", subject="Cheap watches"))
    report = Report.objects.get()
    report_services.close_report(report, acting_user=triager, resolution=Report.Resolution.SPAM)
    report.refresh_from_db()
    return report


def test_closing_a_mailed_report_as_spam_offers_program_admins_to_block_its_sender(
    client, program_admin, spam_by_mail
):
    assert (spam_by_mail.status, spam_by_mail.resolution) == ("closed", "spam")
    client.force_login(program_admin)
    page = client.get(reverse("admin:reports_report_change", args=[spam_by_mail.pk]))
    link = f"{ADD}?report={spam_by_mail.public_id}"
    assert link in page.content.decode()

    form = client.get(link)

    assert form.context["adminform"].form.initial == {
        "entry": "eve@spam.example",
        "reason": f"Sent spam: report {spam_by_mail.public_id}.",
    }
    client.post(link, {"entry": "eve@spam.example", "reason": "Spam.", "_save": "1"})
    assert ingest(report_mail(sender="eve@spam.example", subject="More watches")).state == (
        State.IGNORED
    )


def test_a_triager_closing_spam_is_not_offered_the_blocklist(client, triager, spam_by_mail):
    client.force_login(triager)

    page = client.get(reverse("admin:reports_report_change", args=[spam_by_mail.pk]))

    assert ADD not in page.content.decode()


def test_the_close_as_spam_action_closes_a_mailed_report(client, superuser):
    services.ingest_raw(report_mail(sender="eve@spam.example", subject="Cheap watches"))
    report = Report.objects.get()
    client.force_login(superuser)

    response = client.post(
        reverse("admin:reports_report_changelist"),
        {"action": "close_as_spam", "_selected_action": [report.pk]},
        follow=True,
    )

    report.refresh_from_db()
    assert report.resolution == Report.Resolution.SPAM
    assert "its sender can be blocked" in response.content.decode()
