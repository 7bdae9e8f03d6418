"""The desk's own models on encryption: what is encrypted, blind-index lookups and searches,
tampering detected loudly, attachments served decrypted only through authorizing views."""

from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse

from encryption.exceptions import DecryptionError
from encryption.fields import EncryptedFieldMixin
from reports import services
from reports.models import Reporter
from tests.encryption.database import store_raw, stored_value
from tests.factories import (
    AttachmentFactory,
    PayoutFactory,
    ReporterFactory,
    ReportFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ENCRYPTED = {
    "reports.Reporter": {"email", "display_name", "payment_details", "pgp_public_key"},
    "reports.Report": {
        "description",
        "steps_to_reproduce",
        "impact",
        "affected_asset",
        "affected_version",
        "cvss_vector",
    },
    "reports.Message": {"body"},
    "reports.Attachment": {"original_name"},
    "bounty.Award": {"justification"},
    "bounty.Payout": {"rejection_reason", "destination_details"},
    "bounty.PayoutApproval": {"reason"},
    "outbox.OutgoingMail": {"to", "body_text", "body_html", "last_error", "bounce_reason"},
    "intake.BlockedSender": {"address", "reason"},
}


def _encrypted_fields(model) -> set[str]:
    return {field.name for field in model._meta.fields if isinstance(field, EncryptedFieldMixin)}


@pytest.mark.parametrize("label", sorted(ENCRYPTED))
def test_the_sensitive_fields_and_their_history_are_encrypted(label):
    model = apps.get_model(label)

    assert _encrypted_fields(model) == ENCRYPTED[label]
    assert _encrypted_fields(model.history.model) == ENCRYPTED[label]


def test_attachments_are_stored_through_the_encrypted_storage(settings):
    attachment = AttachmentFactory()

    stored = (Path(settings.MEDIA_ROOT) / attachment.file.name).read_bytes()

    assert b"proof of concept" not in stored
    assert attachment.file.open().read() == b"proof of concept"


# Blind index: a researcher's email


def test_a_researcher_is_found_by_email_in_any_case_through_the_blind_index():
    reporter = ReporterFactory(user=None, email="Eve@Example.test")

    assert Reporter.objects.get(email_index__matches="  eve@EXAMPLE.test ") == reporter
    assert not Reporter.objects.filter(email_index__matches="eve@example.org").exists()
    assert "eve" not in stored_value(Reporter, "email_index", reporter.pk)


def test_mail_from_a_known_address_joins_its_researcher_whatever_the_case(program, triager):
    def record(address, title):
        return services.record_report_received_by_email(
            reporter_email=address,
            reporter_name="",
            submission=services.Submission(
                title=title, description="d", steps_to_reproduce="1. a\n2. b"
            ),
            received_at=None,
            acting_user=triager,
        )

    first = record("Mallory@Example.test", "First")
    second = record("mallory@example.TEST", "Second")

    assert first.reporter == second.reporter
    assert Reporter.objects.count() == 1


def test_a_taken_address_is_refused_in_a_form_naming_the_email_field():
    ReporterFactory(user=None, email="taken@example.test")

    with pytest.raises(ValidationError) as refused:
        Reporter(email="TAKEN@example.test").full_clean()

    assert "email" in refused.value.message_dict


@pytest.mark.parametrize(
    ("url_name", "make"),
    [
        ("admin:reports_reporter_changelist", lambda email: ReporterFactory(email=email)),
        ("admin:reports_report_changelist", lambda email: ReportFactory(reporter__email=email)),
        (
            "admin:bounty_payout_changelist",
            lambda email: PayoutFactory(award__report__reporter__email=email),
        ),
    ],
)
def test_the_admin_finds_a_researchers_rows_by_their_whole_email(client, superuser, url_name, make):
    wanted = make("grace@example.test")
    make("heidi@example.test")
    client.force_login(superuser)

    def found(term):
        response = client.get(reverse(url_name), {"q": term})
        assert response.status_code == 200
        return {row.pk for row in response.context["cl"].result_list}

    assert found("GRACE@example.test") == {wanted.pk}
    assert found("grace") == set()


def test_relinking_a_researcher_in_the_admin_logs_no_contact_details(client, program_admin):
    reporter = ReporterFactory(user=None, email="ivan@example.test", display_name="Ivan")
    account = UserFactory(email="ivan.new@example.test")
    client.force_login(program_admin)

    response = client.post(
        reverse("admin:reports_reporter_relink", args=[reporter.pk]),
        {"account": account.email, "reason": "Asked by phone."},
    )

    assert response.status_code == 302
    entry = LogEntry.objects.get()
    assert entry.object_repr == f"reporter #{reporter.pk}"
    assert "Ivan" not in entry.change_message
    assert "ivan" not in entry.change_message


# Loud failure


def test_a_tampered_report_names_its_row_and_never_shows_ciphertext(client, superuser):
    report = ReportFactory(description="The real finding.")
    stored = stored_value(type(report), "description", report.pk)
    store_raw(type(report), "description", report.pk, stored[:-6] + "AAAAAA")

    with pytest.raises(DecryptionError, match=rf"reports\.Report #{report.pk} field description"):
        type(report).objects.get(pk=report.pk).description  # noqa: B018
    client.raise_request_exception = False
    client.force_login(superuser)
    page = client.get(reverse("admin:reports_report_change", args=[report.pk]))
    assert page.status_code == 500
    assert stored[:40].encode() not in page.content


def test_a_tampered_attachment_fails_before_anything_is_sent(client, settings, researcher):
    attachment = AttachmentFactory(report__reporter=researcher.reporter)
    path = Path(settings.MEDIA_ROOT) / attachment.file.name
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    client.force_login(researcher)

    with pytest.raises(DecryptionError, match=f"file {attachment.file.name}"):
        client.get(f"/portal/reports/{attachment.report.public_id}/attachments/{attachment.pk}/")


# Attachments leave the desk only through authorizing views


def test_staff_who_may_view_attachments_download_them_decrypted(client, triager):
    attachment = AttachmentFactory(original_name="proof.txt")
    client.force_login(triager)

    page = client.get(reverse("admin:reports_attachment_change", args=[attachment.pk]))
    url = reverse("admin:reports_attachment_download", args=[attachment.pk])
    response = client.get(url)

    assert url in page.content.decode()
    assert response["Content-Disposition"] == 'attachment; filename="proof.txt"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == str(len(b"proof of concept"))
    assert b"".join(response.streaming_content) == b"proof of concept"


def test_staff_without_the_attachment_permission_cannot_download(client, finance_user):
    attachment = AttachmentFactory()
    client.force_login(finance_user)

    response = client.get(reverse("admin:reports_attachment_download", args=[attachment.pk]))

    assert response.status_code == 403


def test_media_urls_serve_nothing(client, researcher):
    attachment = AttachmentFactory(report__reporter=researcher.reporter)
    client.force_login(researcher)

    assert client.get(f"/media/{attachment.file.name}").status_code == 404
