"""Model fields whose values the database holds only encrypted, each bound to its place.

The column holds ``enc2:<key id>:<AES-GCM-SIV token>`` (see encryption.tokens), sealed with
the model, the field and the row's ``row_key`` as associated data (encryption.binding). Python
code reads and writes plain ``str`` through the model attribute as with any text field.

- Every model with an encrypted field declares
  ``row_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)`` (checked as
  encryption.E002): the row's identity exists before the INSERT, so a value is encrypted for
  its row in ``pre_save``, when saving (``save()``, ``create()``, ``bulk_create()``).
- Values are decrypted lazily, on first access to the attribute, by a descriptor that knows the
  instance: a failure raises DecryptionError naming model, row and field
  (``reports.Reporter #42 field payment_details``) and never returns ciphertext, garbage or "".
  A value copied from another row or column fails exactly like a tampered one.
  Rows listed without reading their encrypted fields cost no decryption at all.
- ``queryset.update(field="text")`` and ``bulk_update()`` have no row to encrypt for, so a
  text value there raises EncryptedWriteError: assign the attribute and ``save()`` each row.
  (Writing an already sealed value, as key rotation does, is allowed.)
- None is stored as NULL and "" as "": both say only what the length of any ciphertext says
  anyway, and storing them in clear keeps blank optional fields free. Every other value,
  whitespace included, is encrypted.
- A stored value that is not a token (plaintext from before the field was encrypted) is
  refused like a tampered one; encryption.legacy encrypts such rows in a migration.
- Lookups other than ``isnull`` raise EncryptedLookupError: the database compares ciphertext,
  which never matches. Filter on a clear column or a blind index (encryption.blind_index).
- ``values()`` and ``values_list()`` bypass model instances and yield Sealed values; call
  ``.decrypt(row_key)`` on them with the row's key. Ordering by an encrypted field orders by
  ciphertext: at random.
- django-simple-history copies these fields and the row key into the historical models, and a
  history row is bound to the model it records, so it decrypts the values it copied.
- EncryptedFileField binds a file stored in the encrypted storage to its row the same way.
"""

from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.core.files import File
from django.db import models
from django.db.models.fields.files import FieldFile
from django.db.models.query_utils import DeferredAttribute

from encryption import tokens
from encryption.binding import ROW_KEY, Binding, binding_for, binding_of
from encryption.exceptions import EncryptedLookupError, EncryptedWriteError


class Sealed:
    """A value as the database holds it, still encrypted."""

    __slots__ = ("field", "model", "stored")

    def __init__(self, stored: str, *, field: models.Field, model: type[models.Model]):
        self.stored = stored
        self.field = field
        self.model = model

    @property
    def origin(self) -> str:
        return f"{self.model._meta.label} field {self.field.name}"

    def decrypt(self, row_key) -> str:
        """Decrypt the value read from the row whose ``row_key`` is given."""
        binding = binding_for(self.model, self.field.name, row_key)
        return tokens.unseal(self.stored, binding=binding, where=self.origin)

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


def row_name(instance: models.Model, field_name: str) -> str:
    """Name a value in errors: ``reports.Reporter #42 field payment_details``."""
    return f"{instance._meta.label} #{instance.pk} field {field_name}"


class DecryptingAttribute(DeferredAttribute):
    """Decrypt the field's value on first access, naming the row if it cannot be decrypted."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed):
            value = tokens.unseal(
                value.stored,
                binding=binding_of(instance, self.field.name),
                where=row_name(instance, self.field.name),
            )
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance, value):
        # Being a data descriptor, it is consulted even once the value is in __dict__.
        instance.__dict__[self.field.attname] = value


class EncryptedFieldMixin:
    """Store the field's text encrypted under the current field key, bound to its row."""

    descriptor_class = DecryptingAttribute

    def get_internal_type(self):
        # Ciphertext is longer than the text it holds: always a text column, whatever max_length
        # says about the plaintext.
        return "TextField"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return Sealed(value, field=self, model=self.model)

    def pre_save(self, model_instance, add):
        # Read beneath the descriptor: a value never read since loading stays sealed, and is
        # written back as it is rather than decrypted and encrypted again.
        if self.attname in model_instance.__dict__:
            value = model_instance.__dict__[self.attname]
        else:
            value = getattr(model_instance, self.attname)
        if isinstance(value, Sealed):
            if add:
                # A new row: the sealed value came from some row, this one only if it decrypts.
                tokens.unseal(
                    value.stored,
                    binding=binding_of(model_instance, self.name),
                    where=row_name(model_instance, self.name),
                )
            return value
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        binding = binding_of(model_instance, self.name)
        return Sealed(tokens.seal(value, binding), field=self, model=type(model_instance))

    def get_prep_value(self, value):
        if isinstance(value, Sealed):
            return value.stored
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        # pre_save has sealed every value a save writes; text reaching here comes from a write
        # that has no row to bind it to.
        raise EncryptedWriteError(
            f"{self.model._meta.label}.{self.name} is encrypted for the row it is in, and "
            "queryset.update() and bulk_update() know no row: assign the attribute and save() "
            "each instance instead."
        )

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
        return [
            *super().check(**kwargs),
            *self._check_not_compared_by_the_database(),
            *_check_row_key(self),
        ]

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


def _check_row_key(field):
    try:
        row_key = field.model._meta.get_field(ROW_KEY)
    except FieldDoesNotExist:
        row_key = None
    if isinstance(row_key, models.UUIDField) and not row_key.null:
        return []
    return [
        checks.Error(
            f"{field.model._meta.label} has an encrypted field but no non-null UUIDField "
            f"'{ROW_KEY}', the row identity its values are bound to.",
            hint=f"Add {ROW_KEY} = models.UUIDField(default=uuid.uuid4, editable=False, "
            "unique=True); on a table that has rows, add it nullable, fill it, then require it "
            "(encryption.rebinding).",
            obj=field,
            id="encryption.E002",
        )
    ]


class EncryptedTextField(EncryptedFieldMixin, models.TextField):
    description = "Text, encrypted at rest"


class EncryptedCharField(EncryptedFieldMixin, models.CharField):
    """A one-line value; max_length limits the text, not the (longer) stored ciphertext."""

    description = "String (up to %(max_length)s), encrypted at rest"


class EncryptedEmailField(EncryptedFieldMixin, models.EmailField):
    description = "Email address, encrypted at rest"


class BoundFile(File):
    """A file on its way into an encrypted storage, with the place it is encrypted for."""

    def __init__(self, file, name, binding: Binding):
        super().__init__(file, name)
        self.binding = binding


class EncryptedFieldFile(FieldFile):
    """A stored file that is encrypted for, and opens only as, the file of its own row."""

    @property
    def binding(self) -> Binding:
        return binding_of(self.instance, self.field.name)

    def _get_file(self):
        self._require_file()
        if getattr(self, "_file", None) is None:
            self._file = self.storage.open_bound(self.name, self.binding, where=self._where())
        return self._file

    file = property(_get_file, FieldFile._set_file, FieldFile._del_file)

    def open(self, mode="rb"):
        if mode != "rb":
            raise ValueError("Encrypted files open for reading only ('rb'); save() writes them.")
        self._require_file()
        if getattr(self, "_file", None) is None:
            self.file = self.storage.open_bound(self.name, self.binding, where=self._where())
        else:
            self.file.open(mode)
        return self

    open.alters_data = True

    def decrypted_chunks(self):
        """Yield the file's plaintext, each chunk authenticated before it is yielded."""
        self._require_file()
        return self.storage.decrypted_chunks(self.name, self.binding, where=self._where())

    def save(self, name, content, save=True):
        bound = BoundFile(content, getattr(content, "name", name), self.binding)
        super().save(name, bound, save=save)

    save.alters_data = True

    def _where(self) -> str:
        return f"{row_name(self.instance, self.field.name)} (file {self.name})"


class EncryptedFileField(models.FileField):
    """A file kept in an encrypted storage, bound to its row like an encrypted value."""

    attr_class = EncryptedFieldFile
    description = "File, encrypted at rest and bound to its row"

    def check(self, **kwargs):
        return [*super().check(**kwargs), *_check_row_key(self)]
