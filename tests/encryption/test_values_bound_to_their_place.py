"""Someone with write access to the database moves ciphertext around: nothing decrypts elsewhere.

Every encrypted value is sealed for its model, field and row, and every attachment file for its
attachment, so a value copied in SQL onto another researcher, another report, another column or
from history onto another record fails to decrypt, naming the row it was found in; so does an
attachment made to carry another attachment's file.
"""

from pathlib import Path

import pytest
from django.urls import reverse

from bounty.models import Payout, PayoutAwaitingMyApproval
from encryption import tokens
from encryption.exceptions import DecryptionError
from reports.models import Attachment, Report, Reporter
from tests.encryption.database import copy_stored, store_raw, stored_value
from tests.factories import AttachmentFactory, PayoutFactory, ReporterFactory, ReportFactory

pytestmark = pytest.mark.django_db

HistoricalReporter = Reporter.history.model
ATTACKER_IBAN = "IBAN GB33 BUKB 2020 1555 5555 55 (the attacker's)"


def test_payment_details_copied_onto_another_researcher_do_not_decrypt_there():
    attacker = ReporterFactory(payment_method="bank_transfer", payment_details=ATTACKER_IBAN)
    victim = ReporterFactory(payment_method="paypal", payment_details="victim@example.test")

    copy_stored(Reporter, "payment_details", attacker.pk, Reporter, "payment_details", victim.pk)

    with pytest.raises(DecryptionError) as raised:
        Reporter.objects.get(pk=victim.pk).payment_details  # noqa: B018
    assert f"reports.Reporter #{victim.pk} field payment_details" in str(raised.value)
    assert "another row or field" in str(raised.value)
    assert Reporter.objects.get(pk=attacker.pk).payment_details == ATTACKER_IBAN


def test_finance_is_shown_an_error_not_the_copied_payment_details(client, superuser):
    attacker = ReporterFactory(payment_details=ATTACKER_IBAN)
    victim = ReporterFactory(payment_details="victim@example.test")
    copy_stored(Reporter, "payment_details", attacker.pk, Reporter, "payment_details", victim.pk)
    client.raise_request_exception = False
    client.force_login(superuser)

    page = client.get(reverse("admin:reports_reporter_change", args=[victim.pk]))

    assert page.status_code == 500
    assert ATTACKER_IBAN.encode() not in page.content


def test_a_report_body_copied_onto_another_report_does_not_decrypt_there():
    source = ReportFactory(description="The finding that earned a bounty.")
    target = ReportFactory(description="A finding of no interest.")

    copy_stored(Report, "description", source.pk, Report, "description", target.pk)

    with pytest.raises(DecryptionError, match=rf"reports\.Report #{target.pk} field description"):
        Report.objects.get(pk=target.pk).description  # noqa: B018


def test_a_value_moved_to_another_column_of_the_same_row_does_not_decrypt_there():
    report = ReportFactory(description="The description.", impact="The impact.")

    copy_stored(Report, "description", report.pk, Report, "impact", report.pk)

    loaded = Report.objects.get(pk=report.pk)
    assert loaded.description == "The description."
    with pytest.raises(DecryptionError, match=rf"reports\.Report #{report.pk} field impact"):
        loaded.impact  # noqa: B018


def test_history_decrypts_what_it_copied_but_not_on_another_record():
    attacker = ReporterFactory(payment_details=ATTACKER_IBAN)
    victim = ReporterFactory(payment_details="victim@example.test")
    recorded = attacker.history.get()
    victims_history = victim.history.get()
    assert recorded.payment_details == ATTACKER_IBAN

    copy_stored(
        HistoricalReporter, "payment_details", recorded.pk, Reporter, "payment_details", victim.pk
    )
    copy_stored(
        HistoricalReporter,
        "payment_details",
        recorded.pk,
        HistoricalReporter,
        "payment_details",
        victims_history.pk,
    )

    with pytest.raises(DecryptionError, match=rf"reports\.Reporter #{victim.pk} field"):
        Reporter.objects.get(pk=victim.pk).payment_details  # noqa: B018
    with pytest.raises(
        DecryptionError, match=rf"reports\.HistoricalReporter #{victims_history.pk} field"
    ):
        HistoricalReporter.objects.get(pk=victims_history.pk).payment_details  # noqa: B018


def test_an_unbound_enc1_value_pasted_in_from_an_old_backup_is_refused():
    victim = ReporterFactory(payment_details="victim@example.test")
    store_raw(Reporter, "payment_details", victim.pk, tokens.seal_unbound(ATTACKER_IBAN))

    with pytest.raises(DecryptionError, match=r"reports\.Reporter #\d+ field .*enc1 token"):
        Reporter.objects.get(pk=victim.pk).payment_details  # noqa: B018


def test_saving_a_row_again_keeps_its_unread_values_as_they_were():
    reporter = ReporterFactory(payment_details=ATTACKER_IBAN)
    before = stored_value(Reporter, "payment_details", reporter.pk)

    loaded = Reporter.objects.get(pk=reporter.pk)
    loaded.payment_method = "bank_transfer"
    loaded.save()

    assert stored_value(Reporter, "payment_details", reporter.pk) == before
    assert Reporter.objects.get(pk=reporter.pk).payment_details == ATTACKER_IBAN


def test_an_attachment_file_copied_onto_another_attachments_path_does_not_decrypt(
    client, settings, researcher
):
    media = Path(settings.MEDIA_ROOT)
    source = AttachmentFactory(file__data=b"the proof that pays")
    target = AttachmentFactory(report__reporter=researcher.reporter, file__data=b"harmless")
    (media / target.file.name).write_bytes((media / source.file.name).read_bytes())
    client.force_login(researcher)

    url = f"/portal/reports/{target.report.public_id}/attachments/{target.pk}/"
    with pytest.raises(DecryptionError, match=rf"reports\.Attachment #{target.pk} field file"):
        client.get(url)


def test_an_attachment_made_to_name_another_attachments_file_does_not_decrypt():
    source = AttachmentFactory(file__data=b"the proof that pays")
    target = AttachmentFactory(file__data=b"harmless")

    copy_stored(Attachment, "file", source.pk, Attachment, "file", target.pk)

    with pytest.raises(DecryptionError, match=rf"reports\.Attachment #{target.pk} field file"):
        Attachment.objects.get(pk=target.pk).file.open().read()
    assert Attachment.objects.get(pk=source.pk).file.open().read() == b"the proof that pays"


def test_a_proxy_model_reads_and_writes_the_values_of_its_concrete_rows():
    # Finance's approval queue is a proxy of Payout: the same row, so the same binding.
    payout = PayoutFactory(
        status=Payout.Status.AWAITING_APPROVAL, destination_details=ATTACKER_IBAN
    )
    queued = PayoutAwaitingMyApproval.objects.get(pk=payout.pk)
    assert queued.destination_details == ATTACKER_IBAN

    queued.destination_details = "paypal: researcher@example.test"
    queued.save(update_fields=["destination_details"])

    assert Payout.objects.get(pk=payout.pk).destination_details == "paypal: researcher@example.test"
