"""Blind indexes: keyed hashes that let the database find an encrypted value by equality.

A blind index stores ``<key id>:<HMAC-SHA256 hex>`` of the normalized value (surrounding
whitespace stripped, case folded) under a key derived for its purpose, so equal values match
while the column reveals nothing to anyone without the master key. Declare one beside the
encrypted field it indexes; it is computed on every save::

    email = EncryptedEmailField()
    email_index = BlindIndexField(source="email", purpose="email")

and find rows with the ``matches`` lookup, which also matches indexes computed under an old key
until rotation has recomputed them::

    Reporter.objects.filter(email_index__matches="Alice@Example.org")

``queryset.update()`` and ``bulk_update()`` skip ``save()``: when they change the source they
must set the index too (``email_index=blind_index(email, purpose="email")``).
``manage.py rotate_master_key`` recomputes every index under the current key.
"""

import hashlib
import hmac

from django.db import models
from django.db.models.lookups import In

from encryption import keys

INDEX_LENGTH = keys.KEY_ID_LENGTH + 1 + 64


def normalize(value: str) -> str:
    return value.strip().casefold()


def blind_index(value: str, *, purpose: str) -> str:
    """Return the blind index of ``value`` under the current key; "" for an empty value."""
    return _index(value, keys.current_key(_key_purpose(purpose)))


def blind_index_candidates(value: str, *, purpose: str) -> list[str]:
    """Return the index of ``value`` under every configured key, current first."""
    indexes = (_index(value, key) for key in keys.keyring(_key_purpose(purpose)).all)
    return list(dict.fromkeys(indexes))


def current_index_prefix(purpose: str) -> str:
    """Return how every index under the current key begins."""
    return keys.current_key(_key_purpose(purpose)).key_id + ":"


def _key_purpose(purpose: str) -> str:
    # One key per indexed purpose, so equal values of different kinds never share an index.
    return f"blind-index:{purpose}"


def _index(value: str, key: keys.DerivedKey) -> str:
    if not value:
        return ""
    digest = hmac.new(key.secret, normalize(value).encode(), hashlib.sha256).hexdigest()
    return f"{key.key_id}:{digest}"


class BlindIndexField(models.CharField):
    """The blind index of another field of the same model, kept in step on every save."""

    description = "Blind index (keyed hash) of an encrypted field"

    def __init__(self, *args, source: str, purpose: str | None = None, **kwargs):
        self.source = source
        self.purpose = purpose or source
        kwargs.setdefault("max_length", INDEX_LENGTH)
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        if self.purpose != self.source:
            kwargs["purpose"] = self.purpose
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = blind_index(getattr(model_instance, self.source) or "", purpose=self.purpose)
        setattr(model_instance, self.attname, value)
        return value


@BlindIndexField.register_lookup
class BlindIndexMatches(In):
    """``index__matches=value``: rows whose index is that of ``value`` under any configured key."""

    lookup_name = "matches"

    def get_prep_lookup(self):
        purpose = self.lhs.output_field.purpose
        self.rhs = blind_index_candidates(self.rhs, purpose=purpose)
        return super().get_prep_lookup()
