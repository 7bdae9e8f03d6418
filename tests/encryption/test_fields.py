"""Encrypted model fields: the database holds only ciphertext, and failure is loud."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.test.utils import isolate_apps

from encryption.exceptions import DecryptionError, EncryptedLookupError, EncryptedWriteError
from encryption.fields import EncryptedCharField, EncryptedTextField, Sealed
from encryption.keys import generate_master_key
from tests.encryption.database import store_raw, stored_value, tables_containing
from tests.encryption_app.factories import DossierFactory
from tests.encryption_app.models import Dossier

pytestmark = pytest.mark.django_db

SECRET = "CANARY-7f3a9c the admin API trusts X-Forwarded-For"


def test_a_value_reads_back_as_written():
    dossier = DossierFactory(body=SECRET, notes="ünïcödé ✓\n  spaced  ", asset="proxy 1.2")

    loaded = Dossier.objects.get(pk=dossier.pk)

    assert (loaded.body, loaded.notes, loaded.asset) == (
        SECRET,
        "ünïcödé ✓\n  spaced  ",
        "proxy 1.2",
    )


def test_the_table_and_its_history_table_hold_only_tokens():
    dossier = DossierFactory(body=SECRET)
    history = dossier.history.get()

    for model, pk in ((Dossier, dossier.pk), (Dossier.history.model, history.pk)):
        stored = stored_value(model, "body", pk)
        assert stored.startswith("enc2:")
        assert SECRET not in stored
    assert tables_containing("CANARY-7f3a9c") == []


def test_editing_a_value_keeps_every_version_encrypted():
    dossier = DossierFactory(body="first draft")
    dossier.body = SECRET
    dossier.save()

    assert [row.body for row in dossier.history.order_by("history_id")] == ["first draft", SECRET]
    assert tables_containing("CANARY-7f3a9c") == []
    assert tables_containing("first draft") == []


def test_writes_that_bypass_save_are_refused_as_they_know_no_row_to_encrypt_for():
    first, second = DossierFactory(body="kept"), DossierFactory(body="kept too")
    second.body = SECRET

    # Each write in a transaction of its own: a refused write spoils the transaction it is in.
    refused = r"encryption_app\.Dossier\.body .* save\(\)"
    with pytest.raises(EncryptedWriteError, match=refused), transaction.atomic():
        Dossier.objects.filter(pk=first.pk).update(body=SECRET)
    with pytest.raises(EncryptedWriteError, match=refused), transaction.atomic():
        Dossier.objects.bulk_update([second], ["body"])

    assert tables_containing("CANARY-7f3a9c") == []
    assert [d.body for d in Dossier.objects.order_by("pk")] == ["kept", "kept too"]


def test_bulk_create_encrypts_each_row_for_itself():
    Dossier.objects.bulk_create([Dossier(title="a", body=SECRET), Dossier(title="b", body=SECRET)])

    assert tables_containing("CANARY-7f3a9c") == []
    assert [d.body for d in Dossier.objects.order_by("pk")] == [SECRET, SECRET]


def test_the_same_text_is_stored_differently_each_time():
    first, second = DossierFactory(body=SECRET), DossierFactory(body=SECRET)

    assert stored_value(Dossier, "body", first.pk) != stored_value(Dossier, "body", second.pk)


def test_none_is_stored_as_null_and_empty_text_as_empty():
    dossier = DossierFactory(notes=None, asset="")

    assert stored_value(Dossier, "notes", dossier.pk) is None
    assert stored_value(Dossier, "asset", dossier.pk) == ""
    loaded = Dossier.objects.get(pk=dossier.pk)
    assert (loaded.notes, loaded.asset) == (None, "")


def test_whitespace_is_a_value_and_is_encrypted():
    dossier = DossierFactory(asset=" ")

    assert stored_value(Dossier, "asset", dossier.pk).startswith("enc2:")
    assert Dossier.objects.get(pk=dossier.pk).asset == " "


def test_a_tampered_value_raises_naming_model_row_and_field_without_showing_it():
    dossier = DossierFactory(body=SECRET)
    token = stored_value(Dossier, "body", dossier.pk)
    tampered = token[:-8] + ("A" if token[-8] != "A" else "B") + token[-7:]
    store_raw(Dossier, "body", dossier.pk, tampered)

    with pytest.raises(DecryptionError) as raised:
        Dossier.objects.get(pk=dossier.pk).body  # noqa: B018

    message = str(raised.value)
    assert f"encryption_app.Dossier #{dossier.pk} field body" in message
    assert "altered" in message
    assert tampered[5:] not in message and tampered[-20:] not in message


def test_a_value_under_an_unknown_key_raises_naming_the_key(settings):
    dossier = DossierFactory(body=SECRET)
    key_id = stored_value(Dossier, "body", dossier.pk).split(":")[1]
    settings.BOUNTY_MASTER_KEY = generate_master_key()

    with pytest.raises(DecryptionError, match=f"#{dossier.pk} field body.*key {key_id}"):
        Dossier.objects.get(pk=dossier.pk).body  # noqa: B018


def test_a_forged_key_id_is_caught_by_authentication(rotate_key):
    dossier = DossierFactory(body=SECRET)
    token = stored_value(Dossier, "body", dossier.pk).split(":", 2)[2]
    rotate_key()
    current_id = stored_value(Dossier, "body", DossierFactory().pk).split(":")[1]
    store_raw(Dossier, "body", dossier.pk, f"enc2:{current_id}:{token}")

    with pytest.raises(DecryptionError, match="altered"):
        Dossier.objects.get(pk=dossier.pk).body  # noqa: B018


def test_an_old_key_still_decrypts(rotate_key):
    dossier = DossierFactory(body=SECRET)
    rotate_key()

    assert Dossier.objects.get(pk=dossier.pk).body == SECRET


def test_new_writes_use_the_current_key(rotate_key):
    dossier = DossierFactory(body=SECRET)
    before = stored_value(Dossier, "body", dossier.pk).split(":")[1]
    rotate_key()
    dossier.body = SECRET + "!"
    dossier.save()

    assert stored_value(Dossier, "body", dossier.pk).split(":")[1] != before


def test_plaintext_in_an_encrypted_column_is_refused_not_passed_off_as_decrypted():
    dossier = DossierFactory()
    store_raw(Dossier, "body", dossier.pk, SECRET)

    with pytest.raises(DecryptionError, match="not an encrypted token") as raised:
        Dossier.objects.get(pk=dossier.pk).body  # noqa: B018
    assert SECRET not in str(raised.value)


def test_rows_list_by_their_clear_fields_without_decrypting_anything():
    dossier = DossierFactory(title="Listed", body=SECRET)
    store_raw(Dossier, "body", dossier.pk, "enc2:00000000:damaged")

    assert [d.title for d in Dossier.objects.filter(title="Listed")] == ["Listed"]


def test_a_deferred_encrypted_field_is_loaded_and_decrypted_on_access():
    dossier = DossierFactory(body=SECRET)

    assert Dossier.objects.only("title").get(pk=dossier.pk).body == SECRET


@pytest.mark.parametrize(
    "lookup",
    [
        {"body": SECRET},
        {"body__exact": SECRET},
        {"body__iexact": SECRET},
        {"body__contains": "CANARY"},
        {"body__icontains": "canary"},
        {"body__startswith": "enc1:"},
        {"body__in": [SECRET]},
        {"body__gt": ""},
        {"body__lower": SECRET},
        {"body__lower__contains": "canary"},
        {"contact_email__iexact": "finder@example.test"},
        {"body": None},
    ],
    ids=lambda lookup: next(iter(lookup)),
)
def test_lookups_on_encrypted_values_are_refused(lookup):
    with pytest.raises(EncryptedLookupError, match=r"encryption_app\.Dossier"):
        Dossier.objects.filter(**lookup)


def test_isnull_is_the_one_lookup_allowed():
    with_notes, _ = DossierFactory(notes="some"), DossierFactory(notes=None)

    assert list(Dossier.objects.filter(notes__isnull=False)) == [with_notes]


def test_values_list_yields_sealed_values_that_decrypt_on_request_and_never_print():
    dossier = DossierFactory(body=SECRET)

    ((row_key, sealed),) = Dossier.objects.filter(pk=dossier.pk).values_list("row_key", "body")

    assert isinstance(sealed, Sealed)
    assert sealed.decrypt(row_key) == SECRET
    assert "enc2" not in repr(sealed)
    with pytest.raises(TypeError, match="still encrypted"):
        str(sealed)


def test_max_length_limits_the_text_not_the_longer_ciphertext():
    dossier = DossierFactory(asset="a" * 40)
    assert len(stored_value(Dossier, "asset", dossier.pk)) > 40

    dossier.asset = "a" * 41
    with pytest.raises(ValidationError, match="asset"):
        dossier.full_clean()


@pytest.mark.parametrize(
    "field", [EncryptedTextField(blank=True, null=True), EncryptedCharField(max_length=12)]
)
def test_the_field_survives_deconstruction(field):
    _, path, args, kwargs = field.deconstruct()

    rebuilt = type(field)(*args, **kwargs)

    assert path.startswith("encryption.fields.")
    assert rebuilt.deconstruct()[1:] == (path, args, kwargs)


def test_history_copies_the_encrypted_fields():
    history_model = Dossier.history.model

    for name in ("body", "notes", "asset", "contact_email"):
        assert type(history_model._meta.get_field(name)) is type(Dossier._meta.get_field(name))


def test_history_rows_name_themselves_when_they_cannot_be_decrypted():
    history = DossierFactory(body=SECRET).history.get()
    store_raw(Dossier.history.model, "body", history.pk, "enc2:00000000:damaged")

    with pytest.raises(DecryptionError, match=f"HistoricalDossier #{history.pk} field body"):
        Dossier.history.get(pk=history.pk).body  # noqa: B018


@pytest.mark.parametrize("option", [{"unique": True}, {"db_index": True}, {"primary_key": True}])
def test_an_encrypted_field_cannot_be_unique_or_indexed(option):
    with isolate_apps("tests.encryption_app"):

        class Misdeclared(models.Model):  # noqa: DJ008
            secret = EncryptedTextField(**option)
            row_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)

            class Meta:
                app_label = "encryption_app"

    errors = Misdeclared._meta.get_field("secret").check()

    assert [error.id for error in errors] == ["encryption.E001"]


@pytest.mark.parametrize("row_key", [None, models.UUIDField(null=True, editable=False)])
def test_a_model_with_encrypted_fields_must_have_a_row_key_to_bind_them_to(row_key):
    with isolate_apps("tests.encryption_app"):
        attrs = {"__module__": __name__, "secret": EncryptedTextField()}
        attrs["Meta"] = type("Meta", (), {"app_label": "encryption_app"})
        if row_key is not None:
            attrs["row_key"] = row_key
        model = type("Unbound", (models.Model,), attrs)

    errors = model._meta.get_field("secret").check()

    assert [error.id for error in errors] == ["encryption.E002"]
