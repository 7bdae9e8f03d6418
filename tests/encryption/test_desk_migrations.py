"""Upgrading a desk that stored everything in clear: the migrations encrypt every row, history
row and attachment file, fill the email blind indexes, and the app then reads them all.
Upgrading a desk encrypted before values were bound to rows: the migrations give every row its
key and re-encrypt each value and file for its place, resumably."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from bounty.models import Award, PayoutApproval
from encryption import tokens
from encryption.streams import MAGIC, encrypt_unbound_chunks
from outbox.models import OutgoingMail
from reports.models import Attachment, Message, Report, Reporter
from tests.encryption.database import store_raw, stored_value, tables_containing

BEFORE_ENCRYPTION = [
    ("reports", "0002_deadline_reminder_index"),
    ("outbox", "0002_dedupe_key"),
    ("bounty", "0003_payout_approval_workflow"),
]
BEFORE_BINDING = [
    ("reports", "0005_add_row_keys"),
    ("outbox", "0004_add_row_keys"),
    ("bounty", "0005_add_row_keys"),
]
CLEAR = "canary-legacy-5e6f7a8b"
CLEAR_FILE = b"legacy proof of concept " + CLEAR.encode()


def _with_history(apps, app_label: str, model_name: str, **fields):
    """Create a row and the history row that records it, as the pre-encryption desk did."""
    model = apps.get_model(app_label, model_name)
    row = model.objects.create(**fields)
    history = apps.get_model(app_label, f"Historical{model_name}")
    copied = {field.attname: getattr(row, field.attname) for field in model._meta.concrete_fields}
    history.objects.create(**copied, history_date=timezone.now(), history_type="+")
    return row


def _fill_the_desk_in_clear(apps, media_root: Path) -> dict:
    staff = apps.get_model("accounts", "User").objects.create(
        email="legacy-staff@example.test", password="!", is_staff=True
    )
    reporter = _with_history(
        apps,
        "reports",
        "Reporter",
        email=f"{CLEAR}@Example.test",
        display_name=f"Name {CLEAR}",
        payment_method="bank_transfer",
        payment_details=f"IBAN {CLEAR}",
    )
    report = _with_history(
        apps,
        "reports",
        "Report",
        public_id="VR-LEGA-CY00-0000-0001",
        reporter_id=reporter.pk,
        title="A title, in clear by design",
        description=f"Description {CLEAR}",
        steps_to_reproduce=f"1. Steps {CLEAR}\n2. more",
        impact=f"Impact {CLEAR}",
        affected_asset=f"Asset {CLEAR}",
        affected_version=f"Version {CLEAR}",
        cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    )
    _with_history(apps, "reports", "Message", report_id=report.pk, body=f"Message {CLEAR}")
    stored = media_root / "attachments" / "0123456789abcdef0123456789abcdef"
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(CLEAR_FILE)
    _with_history(
        apps,
        "reports",
        "Attachment",
        report_id=report.pk,
        file="attachments/0123456789abcdef0123456789abcdef",
        original_name=f"{CLEAR}.txt",
        content_type="text/plain",
        size=len(CLEAR_FILE),
    )
    award = _with_history(
        apps,
        "bounty",
        "Award",
        report_id=report.pk,
        amount=Decimal("300.00"),
        justification=f"Justified by {CLEAR}",
        proposed_by_id=staff.pk,
        proposed_at=timezone.now(),
    )
    payout = _with_history(
        apps,
        "bounty",
        "Payout",
        award_id=award.pk,
        reporter_id=reporter.pk,
        amount=Decimal("300.00"),
        status="rejected",
        rejection_reason=f"Rejected for {CLEAR}",
    )
    _with_history(
        apps,
        "bounty",
        "PayoutApproval",
        payout_id=payout.pk,
        approver_id=staff.pk,
        decision="reject",
        reason=f"Reason {CLEAR}",
        decided_at=timezone.now(),
    )
    _with_history(
        apps,
        "outbox",
        "OutgoingMail",
        to=f"{CLEAR}@example.test",
        subject="Your report",
        body_text=f"Dear {CLEAR}",
        body_html=f"<p>Dear {CLEAR}</p>",
        template="report_received",
        last_error=f"550 {CLEAR}@example.test unknown",
    )
    return {"report": report.pk, "stored_file": stored}


@pytest.mark.django_db(transaction=True)  # SQLite edits schemas only outside a transaction
def test_upgrading_encrypts_what_was_stored_in_clear(settings):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_ENCRYPTION)
    try:
        executor.loader.build_graph()
        old_apps = executor.loader.project_state(BEFORE_ENCRYPTION).apps
        made = _fill_the_desk_in_clear(old_apps, Path(settings.MEDIA_ROOT))
        assert tables_containing(CLEAR)  # the scan sees the plaintext before the upgrade
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert tables_containing(CLEAR) == []
    assert tables_containing(CLEAR.upper()) == []
    stored = made["stored_file"].read_bytes()
    assert stored.startswith(MAGIC)
    assert CLEAR.encode() not in stored

    report = Report.objects.get(pk=made["report"])
    assert (report.description, report.impact, report.affected_asset) == (
        f"Description {CLEAR}",
        f"Impact {CLEAR}",
        f"Asset {CLEAR}",
    )
    assert report.history.get().steps_to_reproduce == f"1. Steps {CLEAR}\n2. more"
    reporter = Reporter.objects.get(email_index__matches=f"{CLEAR}@example.TEST")
    assert reporter == report.reporter
    assert reporter.payment_details == f"IBAN {CLEAR}"
    assert reporter.history.get().display_name == f"Name {CLEAR}"
    assert reporter.history.get().email_index == reporter.email_index
    assert Message.objects.get(report=report).body == f"Message {CLEAR}"
    attachment = Attachment.objects.get(report=report)
    assert attachment.original_name == f"{CLEAR}.txt"
    assert attachment.file.open().read() == CLEAR_FILE
    assert Award.objects.get(report=report).justification == f"Justified by {CLEAR}"
    assert PayoutApproval.objects.get().reason == f"Reason {CLEAR}"
    mail = OutgoingMail.objects.get()
    assert (mail.to, mail.body_text, mail.last_error) == (
        f"{CLEAR}@example.test",
        f"Dear {CLEAR}",
        f"550 {CLEAR}@example.test unknown",
    )
    assert mail.history.get().body_html == f"<p>Dear {CLEAR}</p>"


def _unbound(apps, app_label, model_name, *, copying=None, pk=None, **values):
    """A row and its history row holding ``values`` as enc1 tokens, as the desk had them.

    With ``copying``, only a history row: a copy of that row's, recording the object ``pk``.
    """
    model = apps.get_model(app_label, model_name)
    row = copying or model.objects.create()
    pk = pk or row.pk
    if copying is None:
        for name, value in values.items():
            store_raw(model, name, pk, tokens.seal_unbound(value))
    history = apps.get_model(app_label, f"Historical{model_name}")
    copied = {field.attname: getattr(row, field.attname) for field in model._meta.concrete_fields}
    recorded = history.objects.create(
        **{**copied, "id": pk}, history_date=timezone.now(), history_type="+"
    )
    for name, value in values.items():
        store_raw(history, name, recorded.pk, tokens.seal_unbound(value))
    return pk


@pytest.mark.django_db(transaction=True)
def test_upgrading_binds_every_value_to_its_row_and_resumes_after_an_interruption(
    settings, monkeypatch
):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_BINDING)
    try:
        executor.loader.build_graph()
        old_apps = executor.loader.project_state(BEFORE_BINDING).apps
        reporter = _unbound(old_apps, "reports", "Reporter", payment_details="IBAN first")
        reports = [
            old_apps.get_model("reports", "Report").objects.create(
                reporter_id=reporter, public_id=f"VR-BIND-0000-0000-000{n}", title=f"Report {n}"
            )
            for n in range(3)
        ]
        for n, report in enumerate(reports):
            store_raw(Report, "description", report.pk, tokens.seal_unbound(f"Finding {n}"))
            _unbound(old_apps, "reports", "Report", copying=report, description=f"Finding {n}")
        deleted_report = _unbound(
            old_apps, "reports", "Report", copying=reports[0], pk=99, description="Deleted"
        )
        message = old_apps.get_model("reports", "Message").objects.create(report_id=reports[0].pk)
        store_raw(Message, "body", message.pk, tokens.seal_unbound("A message"))
        attachment = old_apps.get_model("reports", "Attachment").objects.create(
            report_id=reports[0].pk, file="attachments/unbound", content_type="text/plain", size=5
        )
        stored = Path(settings.MEDIA_ROOT) / "attachments" / "unbound"
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_bytes(b"".join(encrypt_unbound_chunks([b"proof"])))

        real_unseal_unbound = tokens.unseal_unbound

        def killed_in_the_messages(value, *, where):
            if where.startswith("reports.Message"):
                raise RuntimeError("the process was killed")
            return real_unseal_unbound(value, where=where)

        monkeypatch.setattr(tokens, "unseal_unbound", killed_in_the_messages)
        with pytest.raises(RuntimeError, match="killed"):
            MigrationExecutor(connection).migrate([("reports", "0007_require_row_keys")])
        # The batches done before the interruption stay done.
        assert stored_value(Report, "description", reports[0].pk).startswith("enc2:")
        assert stored_value(Message, "body", message.pk).startswith("enc1:")
        monkeypatch.setattr(tokens, "unseal_unbound", real_unseal_unbound)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    keys = list(Report.objects.values_list("row_key", flat=True))
    assert len(set(keys)) == len(keys) == 3
    for n, report in enumerate(Report.objects.order_by("pk")):
        assert report.description == f"Finding {n}"
        assert report.history.get().row_key == report.row_key
        assert report.history.get().description == f"Finding {n}"
    orphan = Report.history.get(id=deleted_report)
    assert orphan.row_key not in keys
    assert orphan.description == "Deleted"
    assert Reporter.objects.get(pk=reporter).payment_details == "IBAN first"
    assert Message.objects.get(pk=message.pk).body == "A message"
    assert stored.read_bytes().startswith(MAGIC)
    assert Attachment.objects.get(pk=attachment.pk).file.open().read() == b"proof"
