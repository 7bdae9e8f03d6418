"""Rotating the master key on a desk in use: every row, history row, index and file moves to the
new key, an interrupted run continues, and afterwards the old key goes and everything reads."""

from io import StringIO

import pytest
from django.core.management import call_command

from encryption import rotation, tokens
from encryption.exceptions import DecryptionError
from outbox.models import OutgoingMail
from reports import services
from reports.models import Report, Reporter
from tests.encryption.desk import fill_the_desk
from tests.reports.portal import count_rate_limits_afresh

pytestmark = pytest.mark.django_db

SECRET = "canary0d1e2f3a4b5c"


@pytest.fixture
def desk(client, settings, program, researcher, triager, finance_user):
    count_rate_limits_afresh(settings)
    return fill_the_desk(
        client, secret=SECRET, researcher=researcher, triager=triager, finance_user=finance_user
    )


def rotate(*args) -> str:
    out = StringIO()
    call_command("rotate_master_key", *args, stdout=out)
    return out.getvalue()


def values_left_under_old_keys() -> dict[str, int]:
    tables = rotation.encrypted_tables()
    left = {table.label: rotation.stale_rows(table).count() for table in tables}
    return {label: count for label, count in left.items() if count}


def files_left_under_old_keys() -> list[str]:
    return [
        f"{column.label} {file.name}"
        for column in rotation.encrypted_file_columns()
        for file in rotation.stored_files(column, batch_size=100)
        if rotation.file_needs_rotation(column, file.name)
    ]


def read_every_encrypted_value_and_file() -> int:
    """Decrypt every stored value and file (history included); return how many values."""
    read = 0
    for table in rotation.encrypted_tables():
        for row in table.model._base_manager.all():
            for field in table.fields:
                getattr(row, field.attname)
                read += 1
    for column in rotation.encrypted_file_columns():
        for file in rotation.stored_files(column, batch_size=100):
            b"".join(column.storage.decrypted_chunks(file.name, file.binding, where=file.where))
    return read


def test_the_desk_rotates_resumes_after_an_interruption_and_forgets_the_old_key(
    client, desk, settings, rotate_key, researcher, triager, monkeypatch
):
    rotate_key()
    # The desk keeps working during the rotation: this note is written under the new key.
    services.add_staff_message(
        desk.report, acting_user=triager, body=f"During rotation: {SECRET}", public=False
    )
    real_unseal = tokens.unseal
    calls = []

    def unseal_killed_in_the_messages(stored, *, binding, where):
        if where.startswith("reports.Message #"):
            calls.append(where)
            if len(calls) == 3:
                raise RuntimeError("the process was killed")
        return real_unseal(stored, binding=binding, where=where)

    monkeypatch.setattr(tokens, "unseal", unseal_killed_in_the_messages)
    with pytest.raises(RuntimeError, match="killed"):
        rotate("--batch-size", "2")
    assert "reports.Message" in values_left_under_old_keys()

    monkeypatch.setattr(tokens, "unseal", real_unseal)
    output = rotate("--batch-size", "2")

    assert "old keys can be removed" in output
    assert values_left_under_old_keys() == {}
    assert files_left_under_old_keys() == []
    settings.BOUNTY_OLD_MASTER_KEYS = []
    assert read_every_encrypted_value_and_file() > 50
    report = Report.objects.get(pk=desk.report.pk)
    assert report.description == f"The description: {SECRET}"
    assert report.history.earliest().description == f"The description: {SECRET}"
    assert f"During rotation: {SECRET}" in [message.body for message in report.messages.all()]
    assert Reporter.objects.get(email_index__matches=f"{SECRET.upper()}@EXAMPLE.test") == (
        desk.emailed_reporter
    )
    assert f"{SECRET}@example.test" in [mail.to for mail in OutgoingMail.objects.all()]
    client.force_login(researcher)
    attachment = report.attachments.order_by("pk").first()
    download = client.get(f"/portal/reports/{report.public_id}/attachments/{attachment.pk}/")
    assert b"".join(download.streaming_content) == f"proof: {SECRET}\n".encode()


def test_before_rotation_the_new_key_alone_cannot_read_the_desk(desk, settings, rotate_key):
    rotate_key()
    settings.BOUNTY_OLD_MASTER_KEYS = []

    with pytest.raises(DecryptionError, match=r"reports\.Report #\d+ field description"):
        Report.objects.get(pk=desk.report.pk).description  # noqa: B018
