"""Blind indexes find an encrypted value by equality without the database ever seeing it."""

import pytest

from encryption.blind_index import BlindIndexField, blind_index, blind_index_candidates
from tests.encryption.database import stored_value
from tests.encryption_app.factories import DossierFactory
from tests.encryption_app.models import Dossier

pytestmark = pytest.mark.django_db


def test_a_row_is_found_by_its_encrypted_email_whatever_its_case_and_surrounding_spaces():
    wanted = DossierFactory(contact_email="Alice@Example.test")
    DossierFactory(contact_email="bob@example.test")

    found = Dossier.objects.filter(contact_email_index__matches="  alice@EXAMPLE.test ")

    assert list(found) == [wanted]


def test_the_index_is_a_keyed_hash_that_does_not_contain_the_value():
    dossier = DossierFactory(contact_email="alice@example.test")

    stored = stored_value(Dossier, "contact_email_index", dossier.pk)

    assert stored == blind_index("alice@example.test", purpose="email")
    assert "alice" not in stored and "example" not in stored
    assert len(stored) <= Dossier._meta.get_field("contact_email_index").max_length


def test_the_index_follows_the_value_when_it_changes():
    dossier = DossierFactory(contact_email="old@example.test")
    dossier.contact_email = "new@example.test"
    dossier.save()

    assert not Dossier.objects.filter(contact_email_index__matches="old@example.test").exists()
    assert Dossier.objects.filter(contact_email_index__matches="new@example.test").get() == dossier


def test_an_empty_value_has_an_empty_index():
    dossier = DossierFactory(contact_email="")

    assert stored_value(Dossier, "contact_email_index", dossier.pk) == ""


def test_purposes_and_master_keys_give_different_indexes(settings, rotate_key):
    under_old_key = blind_index("alice@example.test", purpose="email")
    other_purpose = blind_index("alice@example.test", purpose="payment-account")
    rotate_key()

    assert (
        len({under_old_key, other_purpose, blind_index("alice@example.test", purpose="email")}) == 3
    )


def test_rows_indexed_under_an_old_key_are_still_found_until_rotation(rotate_key):
    dossier = DossierFactory(contact_email="alice@example.test")
    rotate_key()

    assert blind_index_candidates("alice@example.test", purpose="email")[1] == stored_value(
        Dossier, "contact_email_index", dossier.pk
    )
    assert (
        Dossier.objects.filter(contact_email_index__matches="alice@example.test").get() == dossier
    )


def test_history_rows_carry_the_index_too():
    history = DossierFactory(contact_email="alice@example.test").history.get()

    assert history.contact_email_index == blind_index("alice@example.test", purpose="email")


def test_the_field_survives_deconstruction():
    field = BlindIndexField(source="contact_email", purpose="email")

    _, path, args, kwargs = field.deconstruct()
    rebuilt = BlindIndexField(*args, **kwargs)

    assert path == "encryption.blind_index.BlindIndexField"
    assert (rebuilt.source, rebuilt.purpose) == ("contact_email", "email")
    assert rebuilt.deconstruct()[1:] == (path, args, kwargs)
