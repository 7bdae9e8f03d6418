"""rotate_master_key moves everything to the new key, resumably; then the old key can go."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from encryption import rotation, tokens
from encryption.blind_index import current_index_prefix
from encryption.keys import generate_master_key
from encryption.tokens import current_prefix
from tests.encryption.database import store_raw, stored_value
from tests.encryption_app.factories import DossierFactory
from tests.encryption_app.models import Dossier

pytestmark = pytest.mark.django_db

HistoricalDossier = Dossier.history.model


def rotate(*args) -> str:
    out = StringIO()
    call_command("rotate_master_key", *args, stdout=out)
    return out.getvalue()


def make_dossiers(count: int) -> list[Dossier]:
    return [
        DossierFactory(
            body=f"finding {n}",
            asset=f"asset {n}",
            contact_email=f"finder{n}@example.test",
            evidence=ContentFile(f"evidence {n}".encode(), name=f"proof{n}.txt"),
        )
        for n in range(count)
    ]


def rows_under_the_current_key(model) -> bool:
    for pk in model._base_manager.values_list("pk", flat=True):
        for name in ("body", "asset", "contact_email"):
            if not stored_value(model, name, pk).startswith(current_prefix()):
                return False
        if not stored_value(model, "contact_email_index", pk).startswith(
            current_index_prefix("email")
        ):
            return False
    return True


def assert_everything_reads(dossiers: list[Dossier]) -> None:
    for n, dossier in enumerate(dossiers):
        loaded = Dossier.objects.get(pk=dossier.pk)
        assert (loaded.body, loaded.asset, loaded.contact_email) == (
            f"finding {n}",
            f"asset {n}",
            f"finder{n}@example.test",
        )
        assert loaded.history.get().body == f"finding {n}"
        assert loaded.evidence.open().read() == f"evidence {n}".encode()
        found = Dossier.objects.get(contact_email_index__matches=f"FINDER{n}@example.test")
        assert found == loaded


def test_every_encrypted_model_is_found_history_included():
    tables = {table.label: table for table in rotation.encrypted_tables()}
    columns = {column.label for column in rotation.encrypted_file_columns()}

    assert set(tables) >= {"encryption_app.Dossier", "encryption_app.HistoricalDossier"}
    assert [f.name for f in tables["encryption_app.HistoricalDossier"].fields] == [
        "body",
        "notes",
        "asset",
        "contact_email",
    ]
    assert [f.name for f in tables["encryption_app.Dossier"].blind_indexes] == [
        "contact_email_index"
    ]
    assert columns >= {
        "encryption_app.Dossier.evidence",
        "encryption_app.HistoricalDossier.evidence",
    }


def test_after_rotation_the_old_key_can_be_removed_and_everything_still_reads(settings, rotate_key):
    dossiers = make_dossiers(5)
    rotate_key()

    output = rotate("--batch-size", "2")

    assert rows_under_the_current_key(Dossier)
    assert rows_under_the_current_key(HistoricalDossier)
    assert "old keys can be removed" in output
    settings.BOUNTY_OLD_MASTER_KEYS = []
    assert_everything_reads(dossiers)


def test_rotation_shows_its_progress_per_model(rotate_key):
    make_dossiers(3)
    rotate_key()

    output = rotate("--batch-size", "2")

    assert "encryption_app.Dossier " in output
    assert "[" + "#" * 20 in output and "] 2/3 rows" in output and "] 3/3 rows" in output
    assert "encryption_app.Dossier.evidence" in output and "3/3 files" in output


def test_rotation_writes_no_history_and_changes_no_value(rotate_key):
    dossiers = make_dossiers(2)
    rotate_key()

    rotate()

    assert HistoricalDossier.objects.count() == 2
    assert_everything_reads(dossiers)


def test_an_interrupted_rotation_continues_where_it_stopped_without_encrypting_twice(
    settings, rotate_key, monkeypatch
):
    dossiers = make_dossiers(5)
    rotate_key()
    real_unseal = tokens.unseal
    fourth_row = f"encryption_app.Dossier #{dossiers[3].pk} field body"

    def unseal_failing_in_the_second_batch(stored, *, binding, where):
        # Batches of two rows: the third row is already rewritten when the fourth one fails.
        if where == fourth_row:
            raise RuntimeError("the process was killed")
        return real_unseal(stored, binding=binding, where=where)

    monkeypatch.setattr(tokens, "unseal", unseal_failing_in_the_second_batch)
    with pytest.raises(RuntimeError, match="killed"):
        rotate("--batch-size", "2")

    first_batch, second_batch = dossiers[:2], dossiers[2:4]
    for dossier in first_batch:
        assert stored_value(Dossier, "body", dossier.pk).startswith(current_prefix())
    for dossier in second_batch:
        assert not stored_value(Dossier, "body", dossier.pk).startswith(current_prefix())

    monkeypatch.setattr(tokens, "unseal", real_unseal)
    rotate("--batch-size", "2")

    assert rows_under_the_current_key(Dossier)
    assert rows_under_the_current_key(HistoricalDossier)
    settings.BOUNTY_OLD_MASTER_KEYS = []
    assert_everything_reads(dossiers)


def test_a_second_run_finds_nothing_left_to_do(rotate_key):
    make_dossiers(2)
    rotate_key()
    rotate()

    output = rotate("--dry-run")

    assert "encryption_app.Dossier: 0 rows to re-encrypt" in output
    assert "encryption_app.HistoricalDossier: 0 rows to re-encrypt" in output
    assert "encryption_app.Dossier.evidence: 0 files to re-encrypt" in output


def test_a_dry_run_counts_what_is_left_and_changes_nothing(rotate_key):
    dossier = make_dossiers(3)[0]
    before = stored_value(Dossier, "body", dossier.pk)
    rotate_key()

    output = rotate("--dry-run")

    assert "encryption_app.Dossier: 3 rows to re-encrypt" in output
    assert "encryption_app.Dossier.evidence: 3 files to re-encrypt" in output
    assert stored_value(Dossier, "body", dossier.pk) == before


def test_a_file_named_only_by_history_that_no_longer_exists_is_counted_not_fatal(
    settings, rotate_key
):
    dossier = make_dossiers(1)[0]
    dossier.evidence.delete(save=False)
    rotate_key()

    output = rotate()

    assert "1 named files no longer exist" in output


def test_files_move_to_the_current_key(settings, rotate_key):
    dossier = make_dossiers(1)[0]
    old_bytes = (Path(settings.MEDIA_ROOT) / dossier.evidence.name).read_bytes()
    rotate_key()

    rotate()

    assert (Path(settings.MEDIA_ROOT) / dossier.evidence.name).read_bytes() != old_bytes
    settings.BOUNTY_OLD_MASTER_KEYS = []
    assert dossier.evidence.open().read() == b"evidence 0"


def test_a_value_under_a_key_that_is_not_configured_stops_rotation_naming_the_row(settings):
    dossier = DossierFactory(body="finding")
    HistoricalDossier.objects.all().delete()
    settings.BOUNTY_MASTER_KEY = generate_master_key()

    with pytest.raises(CommandError, match=f"encryption_app.Dossier #{dossier.pk} field body"):
        rotate()


def test_plaintext_left_in_an_encrypted_column_stops_rotation(rotate_key):
    dossier = DossierFactory()
    store_raw(Dossier, "body", dossier.pk, "written before encryption")
    rotate_key()

    with pytest.raises(CommandError, match="not an encrypted token"):
        rotate()


def test_the_batch_size_must_be_positive():
    with pytest.raises(CommandError, match="batch-size"):
        rotate("--batch-size", "0")


def test_a_file_that_cannot_be_decrypted_stops_rotation_naming_column_and_file(
    settings, rotate_key
):
    dossier = make_dossiers(1)[0]
    stored = Path(settings.MEDIA_ROOT) / dossier.evidence.name
    stored.write_bytes(stored.read_bytes()[:-1])
    rotate_key()

    named = (
        rf"encryption_app\.Dossier #{dossier.pk} field evidence \(file {dossier.evidence.name}\)"
    )
    with pytest.raises(CommandError, match=named):
        rotate()
