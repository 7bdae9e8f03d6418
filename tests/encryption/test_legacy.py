"""Values and files stored in clear before encryption are encrypted by one migration operation."""

from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.exceptions import IrreversibleError
from django.db.migrations.loader import MigrationLoader

from encryption.blind_index import blind_index
from encryption.legacy import encrypt_plaintext, encrypt_plaintext_rows
from encryption.streams import MAGIC
from tests.encryption.database import store_raw, stored_value, tables_containing
from tests.encryption_app.factories import DossierFactory
from tests.encryption_app.models import Dossier

pytestmark = pytest.mark.django_db

HistoricalDossier = Dossier.history.model
CLEAR = "CANARY-19d2 written before the field was encrypted"


def dossier_stored_in_clear(**fields) -> Dossier:
    """A dossier whose row and history row hold ``fields`` in clear, as before encryption."""
    dossier = DossierFactory()
    history = dossier.history.get()
    for name, value in fields.items():
        store_raw(Dossier, name, dossier.pk, value)
        store_raw(HistoricalDossier, name, history.pk, value)
    return dossier


def run_migration_operation(operation) -> None:
    """Run the operation as migrate would: on the models as the migrations define them."""
    state = MigrationLoader(connection).project_state(("encryption_app", "0002_row_keys"))
    with connection.schema_editor() as schema_editor:
        operation.database_forwards("encryption_app", schema_editor, state, state)


def test_the_helper_encrypts_values_stored_in_clear_in_a_table_and_its_history():
    dossier = dossier_stored_in_clear(body=CLEAR, contact_email="Legacy@Example.test")

    encrypt_plaintext_rows(Dossier)
    encrypt_plaintext_rows(HistoricalDossier)

    assert tables_containing("CANARY-19d2") == []
    assert tables_containing("Legacy@Example") == []
    loaded = Dossier.objects.get(pk=dossier.pk)
    assert (loaded.body, loaded.contact_email) == (CLEAR, "Legacy@Example.test")
    assert loaded.history.get().body == CLEAR


def test_blind_indexes_are_filled_for_rows_stored_before_they_existed():
    dossier = dossier_stored_in_clear(contact_email="legacy@example.test", contact_email_index="")

    encrypt_plaintext_rows(Dossier)

    assert stored_value(Dossier, "contact_email_index", dossier.pk) == blind_index(
        "legacy@example.test", purpose="email"
    )
    assert Dossier.objects.get(contact_email_index__matches="legacy@example.test") == dossier


def test_values_already_encrypted_are_left_as_they_are():
    dossier = DossierFactory(body="already sealed")
    before = stored_value(Dossier, "body", dossier.pk)

    encrypt_plaintext_rows(Dossier)

    assert stored_value(Dossier, "body", dossier.pk) == before


@pytest.mark.django_db(transaction=True)  # SQLite edits schemas only outside a transaction
def test_the_migration_operation_encrypts_rows_history_and_files_on_the_migration_models(settings):
    dossier = dossier_stored_in_clear(body=CLEAR, evidence="evidence/clear.txt")
    clear_file = Path(settings.MEDIA_ROOT) / "evidence" / "clear.txt"
    clear_file.parent.mkdir(parents=True)
    clear_file.write_bytes(CLEAR.encode())

    run_migration_operation(encrypt_plaintext("encryption_app", "Dossier"))

    assert tables_containing("CANARY-19d2") == []
    assert clear_file.read_bytes().startswith(MAGIC)
    assert CLEAR.encode() not in clear_file.read_bytes()
    loaded = Dossier.objects.get(pk=dossier.pk)
    assert loaded.body == CLEAR
    assert loaded.history.get().body == CLEAR
    assert loaded.evidence.open().read() == CLEAR.encode()


@pytest.mark.django_db(transaction=True)
def test_running_the_operation_twice_changes_nothing_the_second_time(settings):
    dossier = dossier_stored_in_clear(body=CLEAR)
    operation = encrypt_plaintext("encryption_app", "Dossier")
    run_migration_operation(operation)
    once = stored_value(Dossier, "body", dossier.pk)

    run_migration_operation(operation)

    assert stored_value(Dossier, "body", dossier.pk) == once


def reverse_migration_operation(operation) -> None:
    state = MigrationLoader(connection).project_state(("encryption_app", "0002_row_keys"))
    with connection.schema_editor() as schema_editor:
        operation.database_backwards("encryption_app", schema_editor, state, state)


@pytest.mark.django_db(transaction=True)
def test_the_operation_is_never_reversed_into_plaintext():
    dossier = DossierFactory(body=CLEAR)
    before = stored_value(Dossier, "body", dossier.pk)

    with pytest.raises(IrreversibleError, match=r"encryption_app\.Dossier holds encrypted rows"):
        reverse_migration_operation(encrypt_plaintext("encryption_app", "Dossier"))

    assert stored_value(Dossier, "body", dossier.pk) == before


@pytest.mark.django_db(transaction=True)
def test_going_back_over_empty_tables_is_allowed():
    reverse_migration_operation(encrypt_plaintext("encryption_app", "Dossier"))
