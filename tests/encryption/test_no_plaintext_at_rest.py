"""A secret written through every real code path is nowhere in the database or the media folder.

The database is read with raw SQL, table by table (history, sessions and the admin log
included), and the media folder byte by byte. What reads the secret back (the admin, the portal,
the downloads) still shows it: encryption hides it at rest only.
"""

from pathlib import Path

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.db import connection
from django.urls import reverse

from outbox.models import OutgoingMail
from reports.models import Report
from tests.encryption.desk import fill_the_desk
from tests.reports.portal import count_rate_limits_afresh

pytestmark = pytest.mark.django_db

SECRET = "canary7f3a9c2e1b5d"  # lower case: addresses are stored lower-cased


@pytest.fixture
def desk(client, settings, program, researcher, triager, finance_user):
    count_rate_limits_afresh(settings)
    return fill_the_desk(
        client, secret=SECRET, researcher=researcher, triager=triager, finance_user=finance_user
    )


def rows_holding(secret: str) -> list[str]:
    """Every table and column with a row holding ``secret`` in any form, read with raw SQL."""
    found = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {quote(table)}")  # noqa: S608
            columns = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if secret in _as_text(table, column, value).casefold():
                        found.append(f"{table}.{column}")
    return sorted(set(found))


def _as_text(table: str, column: str, value) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace") + repr(bytes(value))
    if table == "django_session" and column == "session_data":
        # Session data is signed and compressed: look inside it too.
        return str(value) + repr(SessionStore().decode(value))
    return str(value)


def files_holding(secret: str, media_root: Path) -> list[Path]:
    files = [path for path in media_root.rglob("*") if path.is_file()]
    assert files, "the desk stored no file at all"
    return [path for path in files if secret.encode() in path.read_bytes()]


def test_the_secret_is_in_no_table_and_no_file(desk, settings):
    assert rows_holding(SECRET) == []
    assert files_holding(SECRET, Path(settings.MEDIA_ROOT)) == []


def test_every_table_was_written_with_the_secret_before_the_scan(desk):
    # A scan of empty tables would prove nothing: the paths did reach the encrypted tables.
    counts = {
        "reports_report": 2,
        "reports_historicalreport": 2,
        "reports_message": 5,
        "reports_historicalmessage": 5,
        "reports_attachment": 2,
        "reports_historicalattachment": 2,
        "reports_historicalreporter": 2,
        "bounty_historicalaward": 2,
        "bounty_historicalpayoutapproval": 1,
        "outbox_historicaloutgoingmail": 1,
        "django_admin_log": 1,
    }
    with connection.cursor() as cursor:
        for table, at_least in counts.items():
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            assert cursor.fetchone()[0] >= at_least, table


def test_whoever_may_read_it_still_reads_the_secret(client, desk, researcher, triager):
    client.force_login(researcher)
    portal_page = client.get(f"/portal/reports/{desk.report.public_id}/").content.decode()
    attachment = desk.report.attachments.order_by("pk").first()
    download = client.get(f"/portal/reports/{desk.report.public_id}/attachments/{attachment.pk}/")
    client.force_login(triager)
    admin_page = client.get(
        reverse("admin:reports_report_change", args=[desk.report.pk])
    ).content.decode()

    assert f"The description: {SECRET}" in portal_page
    assert f"The answer: {SECRET}" in portal_page
    assert b"".join(download.streaming_content) == f"proof: {SECRET}\n".encode()
    assert f"Internal note: {SECRET}" in admin_page
    assert desk.emailed_reporter.display_name == f"Name {SECRET}"
    assert desk.rejected.rejection_reason == f"Rejected because {SECRET}"
    assert desk.paid.award.justification == f"Bounty because {SECRET}"


def test_mail_carries_no_secret_but_reaches_the_encrypted_address(desk):
    assert mail.outbox, "the desk sent no mail"
    for message in mail.outbox:
        bodies = [message.body, *(content for content, _ in message.alternatives)]
        assert SECRET not in message.subject
        assert not any(SECRET in body for body in bodies), message.subject
    recipients = [mail.to for mail in OutgoingMail.objects.all()]
    assert f"{SECRET}@example.test" in recipients


def test_the_scan_finds_a_secret_stored_in_clear(desk, settings):
    # Titles stay in clear by design, which makes one a fair test of the scan itself.
    Report.objects.filter(pk=desk.report.pk).update(title=f"Title {SECRET.upper()}")
    (Path(settings.MEDIA_ROOT) / "clear.txt").write_bytes(SECRET.encode())

    assert "reports_report.title" in rows_holding(SECRET)
    assert [path.name for path in files_holding(SECRET, Path(settings.MEDIA_ROOT))] == ["clear.txt"]
