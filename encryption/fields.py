"""Model fields whose values the database holds only encrypted.

The column holds ``enc1:<key id>:<Fernet token>`` (see encryption.tokens). Python code reads and
writes plain ``str`` through the model attribute as with any text field.

- Values are decrypted lazily, on first access to the attribute, by a descriptor that knows the
  instance: a failure raises DecryptionError naming model, row and field
  (``reports.Report #42 field description``) and never returns ciphertext, garbage or "".
  Rows listed without reading their encrypted fields cost no decryption at all.
- None is stored as NULL and "" as "": both say only what the length of any ciphertext says
  anyway, and storing them in clear keeps blank optional fields free. Every other value,
  whitespace included, is encrypted.
- A stored value that is not a token (plaintext from before the field was encrypted) is
  refused like a tampered one; encryption.legacy encrypts such rows in a migration.
- Lookups other than ``isnull`` raise EncryptedLookupError: the database compares ciphertext,
  which never matches. Filter on a clear column or a blind index (encryption.blind_index).
- ``values()`` and ``values_list()`` bypass model instances and yield Sealed values; call
  ``.decrypt()`` on them. Ordering by an encrypted field orders by ciphertext: at random.
- django-simple-history copies these fields into the historical models, so history rows are
  encrypted exactly like the rows they record.
"""

from django.core import checks
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from encryption import tokens
from encryption.exceptions import EncryptedLookupError


class Sealed:
    """A value as the database holds it, still encrypted."""

    __slots__ = ("origin", "stored")

    def __init__(self, stored: str, origin: str):
        self.stored = stored
        self.origin = origin

    def decrypt(self) -> str:
        return tokens.unseal(self.stored, where=self.origin)

    def __repr__(self):
        return f"<Sealed {self.origin}>"

    def __eq__(self, other):
        # Equal as stored: the same ciphertext (an unchanged value), never equal plaintexts.
        if not isinstance(other, Sealed):
            return NotImplemented
        return self.stored == other.stored

    def __hash__(self):
        return hash(self.stored)

    def __str__(self):
        # Formatting a sealed value would print either ciphertext or a placeholder where the
        # text belongs; both hide a bug that should fail where it happens.
        raise TypeError(
            f"{self.origin} is still encrypted: read it through a model instance or call .decrypt()"
        )


class DecryptingAttribute(DeferredAttribute):
    """Decrypt the field's value on first access, naming the row if it cannot be decrypted."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed):
            where = f"{instance._meta.label} #{instance.pk} field {self.field.name}"
            value = tokens.unseal(value.stored, where=where)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance, value):
        # Being a data descriptor, it is consulted even once the value is in __dict__.
        instance.__dict__[self.field.attname] = value


class EncryptedFieldMixin:
    """Store the field's text encrypted under the current field key."""

    descriptor_class = DecryptingAttribute

    def get_internal_type(self):
        # Ciphertext is longer than the text it holds: always a text column, whatever max_length
        # says about the plaintext.
        return "TextField"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return Sealed(value, origin=f"{self.model._meta.label} field {self.name}")

    def get_prep_value(self, value):
        if isinstance(value, Sealed):
            return value.stored
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return tokens.seal(value)

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise self._refused(lookup_name)

    def get_transform(self, lookup_name):
        raise self._refused(lookup_name)

    def _refused(self, lookup_name):
        return EncryptedLookupError(
            f"{self.model._meta.label}.{self.name} is encrypted, so the database cannot "
            f"evaluate '{lookup_name}' on it; filter on a clear field or a blind index."
        )

    def check(self, **kwargs):
        return [*super().check(**kwargs), *self._check_not_compared_by_the_database()]

    def _check_not_compared_by_the_database(self):
        if self.primary_key or self.unique or self.db_index:
            return [
                checks.Error(
                    "An encrypted field cannot be a primary key, unique or indexed: its "
                    "ciphertext differs every time it is written.",
                    hint="Add a BlindIndexField for equality lookups.",
                    obj=self,
                    id="encryption.E001",
                )
            ]
        return []


class EncryptedTextField(EncryptedFieldMixin, models.TextField):
    description = "Text, encrypted at rest"


class EncryptedCharField(EncryptedFieldMixin, models.CharField):
    """A one-line value; max_length limits the text, not the (longer) stored ciphertext."""

    description = "String (up to %(max_length)s), encrypted at rest"


class EncryptedEmailField(EncryptedFieldMixin, models.EmailField):
    description = "Email address, encrypted at rest"
