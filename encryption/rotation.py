"""Find everything encrypted and move it to the current master key.

Progress is never stored: each ciphertext, blind index and file names the key it is under, so
"what is left" is always a query (rows whose token does not start with the current key id) or a
header read. An interrupted rotation simply runs again and continues; a finished one finds
nothing to do. Rows are re-encrypted in batches, in primary-key order, each batch one
transaction holding its rows locked, so the app keeps running and writing meanwhile: every
process must already have the new BOUNTY_MASTER_KEY and the old one in BOUNTY_OLD_MASTER_KEYS.

Every value is re-encrypted for the same place (model, field, row key) it was read from. Each
batch is written with one ``bulk_update()`` of the sealed values: re-encrypting changes no
value, so it writes no history and moves no timestamps.

The same walk serves two kinds of migration: encryption.legacy encrypts values stored in clear,
and encryption.rebinding re-encrypts the unbound enc1/BDENC1 values of the desk from
before row keys into bound ones. Outside those migrations an unbound value is refused.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db import models, router, transaction
from django.db.models import F, Value
from django.db.models.functions import Cast
from simple_history.exceptions import NotHistoricalModelError
from simple_history.utils import get_history_model_for_model

from encryption import keys, tokens
from encryption.binding import ROW_KEY, Binding, binding_for
from encryption.blind_index import BlindIndexField, blind_index, current_index_prefix
from encryption.fields import EncryptedFieldMixin, Sealed
from encryption.storage import EncryptedStorageMixin

Progress = Callable[[int], None]


@dataclass(frozen=True)
class EncryptedTable:
    """A model with encrypted fields or blind indexes (a historical model is one too)."""

    model: type[models.Model]
    fields: tuple[EncryptedFieldMixin, ...]
    blind_indexes: tuple[BlindIndexField, ...]

    @classmethod
    def of(cls, model: type[models.Model]) -> "EncryptedTable | None":
        own_fields = model._meta.local_concrete_fields
        table = cls(
            model=model,
            fields=tuple(f for f in own_fields if isinstance(f, EncryptedFieldMixin)),
            blind_indexes=tuple(f for f in own_fields if isinstance(f, BlindIndexField)),
        )
        return table if table.fields or table.blind_indexes else None

    @property
    def label(self) -> str:
        return self.model._meta.label

    @property
    def has_row_keys(self) -> bool:
        # False only in migrations that run before the one adding the model's row keys.
        return _has_row_keys(self.model)

    def current_prefix(self) -> str:
        if self.has_row_keys:
            return tokens.current_prefix()
        return f"{tokens.UNBOUND_PREFIX}{keys.current_key(keys.FIELD).key_id}:"

    def binding(self, field: models.Field, row_key) -> Binding:
        return binding_for(self.model, field.name, row_key)


@dataclass(frozen=True)
class EncryptedFileColumn:
    """A column naming files in an encrypted storage (a FileField, or its copy in history)."""

    model: type[models.Model]
    field_name: str
    storage: EncryptedStorageMixin

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field_name}"

    def binding(self, row_key) -> Binding | None:
        if not _has_row_keys(self.model):
            return None
        return binding_for(self.model, self.field_name, row_key)

    def where(self, pk, name) -> str:
        return f"{self.model._meta.label} #{pk} field {self.field_name} (file {name})"


@dataclass(frozen=True)
class StoredFile:
    """A file a row names, with the place it is encrypted for (None before row keys)."""

    name: str
    binding: Binding | None
    where: str


def encrypted_tables() -> list[EncryptedTable]:
    """Every installed model holding encrypted values or blind indexes, history included."""
    candidates = (EncryptedTable.of(model) for model in _concrete_models())
    return [table for table in candidates if table is not None]


def encrypted_file_columns() -> list[EncryptedFileColumn]:
    """Every column naming encrypted files, including the history copies of those columns."""
    columns = []
    for model in _concrete_models():
        try:
            history_model = get_history_model_for_model(model)
        except NotHistoricalModelError:
            history_model = None
        columns += file_columns_of(model, history_model)
    return columns


def file_columns_of(model, history_model=None) -> list[EncryptedFileColumn]:
    """The encrypted file columns of ``model`` and of its history model, if it has one."""
    columns = []
    for field in model._meta.local_concrete_fields:
        storage = getattr(field, "storage", None)
        if isinstance(field, models.FileField) and isinstance(storage, EncryptedStorageMixin):
            columns.append(EncryptedFileColumn(model, field.name, storage))
            if history_model is not None:
                # History keeps a file field as a text column holding the same file name.
                columns.append(EncryptedFileColumn(history_model, field.name, storage))
    return columns


def stale_rows(table: EncryptedTable) -> models.QuerySet:
    """Rows with a value or an index not under the current key (or not encrypted at all)."""
    field_prefix = table.current_prefix()
    stale = models.Q()
    for field in table.fields:
        stale |= _present(_stored(field)) & _not_starting(_stored(field), field_prefix)
    for index in table.blind_indexes:
        source = table.model._meta.get_field(index.source)
        source_column = _stored(source) if _is_encrypted(source) else source.attname
        index_prefix = current_index_prefix(index.purpose)
        stale |= _present(source_column) & _not_starting(index.attname, index_prefix)
    encrypted = [field for field in _read_fields(table) if _is_encrypted(field)]
    return table.model._base_manager.annotate(
        **{_stored(field): Cast(field.attname, models.TextField()) for field in encrypted}
    ).filter(stale)


def rotate_rows(
    table: EncryptedTable,
    *,
    batch_size: int,
    progress: Progress | None = None,
    encrypt_plaintext: bool = False,
    bind_unbound: bool = False,
    using: str | None = None,
) -> int:
    """Re-encrypt the table's stale rows under the current key; return how many were rewritten.

    ``encrypt_plaintext`` encrypts values stored in clear instead of refusing them, and
    ``bind_unbound`` re-encrypts enc1 values for their place instead of refusing them; only
    the migrations that make a clear field encrypted (encryption.legacy) and the ones that bind
    values to their rows (encryption.rebinding) ask for them.
    """
    using = using or router.db_for_write(table.model)
    read_fields = _read_fields(table)
    row_key = (ROW_KEY,) if table.has_row_keys else ()
    rewritten = 0
    last_pk = None
    while True:
        with transaction.atomic(using=using):
            batch = stale_rows(table).using(using).select_for_update().order_by("pk")
            if last_pk is not None:
                batch = batch.filter(pk__gt=last_pk)
            columns = ("pk", *row_key, *(f.attname for f in read_fields))
            rows = list(batch.values_list(*columns)[:batch_size])
            changed = {}
            for pk, *values in rows:
                key = values.pop(0) if row_key else None
                stored = dict(zip(read_fields, values, strict=True))
                reading = _RowReading(table, pk, key, encrypt_plaintext, bind_unbound)
                changed[pk] = reading.changes(stored)
            _write_rows(table, changed, using)
        if rows:
            last_pk = rows[-1][0]
            rewritten += len(rows)
            if progress is not None:
                progress(len(rows))
        if len(rows) < batch_size:
            return rewritten


def _write_rows(table: EncryptedTable, changed: dict, using: str) -> None:
    """Write each row's changed columns with one bulk_update; others keep their value."""
    attnames = sorted({attname for changes in changed.values() for attname in changes})
    if not attnames:
        return
    rows = []
    for pk, changes in changed.items():
        row = table.model(pk=pk)
        for attname in attnames:
            setattr(row, attname, changes.get(attname, F(attname)))
        rows.append(row)
    table.model._base_manager.using(using).bulk_update(rows, attnames)


class _RowReading:
    """One row's stored values read, and re-encrypted for the same place."""

    def __init__(self, table, pk, row_key, encrypt_plaintext, bind_unbound):
        self.table = table
        self.pk = pk
        self.row_key = row_key
        self.encrypt_plaintext = encrypt_plaintext
        self.bind_unbound = bind_unbound

    def changes(self, stored: dict) -> dict:
        changes = {}
        prefix = self.table.current_prefix()
        plaintexts = {}

        def plaintext(field):
            if field not in plaintexts:
                plaintexts[field] = self.plaintext(field, stored[field])
            return plaintexts[field]

        for field in self.table.fields:
            value = stored[field]
            if isinstance(value, Sealed) and not value.stored.startswith(prefix):
                # Sealed text goes into the bulk update as an expression: the field itself
                # refuses text written without an instance.
                token = self.seal(field, plaintext(field))
                changes[field.attname] = Value(token, output_field=models.TextField())
        for index in self.table.blind_indexes:
            source = self.table.model._meta.get_field(index.source)
            fresh = blind_index(plaintext(source), purpose=index.purpose)
            if fresh != stored[index]:
                changes[index.attname] = fresh
        return changes

    def plaintext(self, field, value) -> str:
        if not isinstance(value, Sealed):
            return value or ""
        stored, where = value.stored, f"{self.table.label} #{self.pk} field {field.name}"
        if self.encrypt_plaintext and tokens.stored_key_id(stored) is None:
            return stored
        if tokens.is_unbound(stored) and (self.bind_unbound or not self.table.has_row_keys):
            return tokens.unseal_unbound(stored, where=where)
        return tokens.unseal(stored, binding=self.table.binding(field, self.row_key), where=where)

    def seal(self, field, plaintext: str) -> str:
        if not self.table.has_row_keys:
            return tokens.seal_unbound(plaintext)
        return tokens.seal(plaintext, self.table.binding(field, self.row_key))


@dataclass
class FileRotation:
    """What rotating one file column did."""

    rewritten: int = 0
    missing: int = 0


def rotate_files(
    column: EncryptedFileColumn,
    *,
    batch_size: int,
    progress: Progress | None = None,
    seen: set | None = None,
    bind_unbound: bool = False,
) -> FileRotation:
    """Re-encrypt every file the column names under the current key, for its attachment.

    History rows repeat the names of their object's files (and its row key); ``seen`` (shared
    between columns) keeps each file to one visit per run. A name whose file is gone (deleted
    with its attachment, still named by history) is counted, not an error. ``bind_unbound``
    re-encrypts BDENC1 files for their place instead of refusing them (the binding migrations).
    """
    seen = set() if seen is None else seen
    result = FileRotation()
    for file in stored_files(column, batch_size=batch_size):
        if (id(column.storage), file.name) not in seen:
            seen.add((id(column.storage), file.name))
            if not column.storage.exists(file.name):
                result.missing += 1
            elif _reencrypt_file(column, file, bind_unbound):
                result.rewritten += 1
        if progress is not None:
            progress(1)
    return result


def stored_files(column: EncryptedFileColumn, *, batch_size: int) -> Iterator[StoredFile]:
    """Yield every file the column names with its place, one batch of rows at a time."""
    rows = _rows_naming_files(column)
    row_key = (ROW_KEY,) if _has_row_keys(column.model) else ()
    last_pk = None
    while True:
        page_rows = rows if last_pk is None else rows.filter(pk__gt=last_pk)
        columns = ("pk", column.field_name, *row_key)
        page = list(page_rows.order_by("pk").values_list(*columns)[:batch_size])
        for pk, name, *key in page:
            binding = column.binding(key[0] if key else None)
            yield StoredFile(name, binding, column.where(pk, name))
        if len(page) < batch_size:
            return
        last_pk = page[-1][0]


def stored_file_count(column: EncryptedFileColumn) -> int:
    return _rows_naming_files(column).count()


def file_needs_rotation(column: EncryptedFileColumn, name: str) -> bool:
    """Whether the named file exists and is not encrypted, bound, under the current key."""
    if not column.storage.exists(name):
        return False
    current = keys.current_key(keys.FILE).key_id
    return column.storage.stored_key_id(name) != current or not column.storage.is_bound(name)


def _rows_naming_files(column: EncryptedFileColumn) -> models.QuerySet:
    return column.model._base_manager.exclude(**{column.field_name: ""}).exclude(
        **{f"{column.field_name}__isnull": True}
    )


def _reencrypt_file(column: EncryptedFileColumn, file: StoredFile, bind_unbound: bool) -> bool:
    if bind_unbound and not column.storage.is_bound(file.name):
        return column.storage.bind(file.name, file.binding, where=file.where)
    return column.storage.reencrypt(file.name, file.binding, where=file.where)


def _read_fields(table: EncryptedTable) -> list[models.Field]:
    sources = [table.model._meta.get_field(index.source) for index in table.blind_indexes]
    return list(dict.fromkeys([*table.fields, *sources, *table.blind_indexes]))


def _stored(field: models.Field) -> str:
    # The column's text as stored: encrypted fields refuse lookups on their values, but finding
    # the rows still under an old key is exactly a lookup on the stored text.
    return f"_stored_{field.attname}"


def _present(column: str) -> models.Q:
    return models.Q(**{f"{column}__isnull": False}) & ~models.Q(**{column: ""})


def _not_starting(column: str, prefix: str) -> models.Q:
    return ~models.Q(**{f"{column}__startswith": prefix})


def _is_encrypted(field: models.Field) -> bool:
    return isinstance(field, EncryptedFieldMixin)


def _has_row_keys(model: type[models.Model]) -> bool:
    return any(field.name == ROW_KEY for field in model._meta.concrete_fields)


def _concrete_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if not model._meta.proxy]


def models_with_history(apps, app_label: str, model_names):
    """Yield each named model of a migration's state with its history model (None if untracked)."""
    for model_name in model_names:
        model = apps.get_model(app_label, model_name)
        try:
            history_model = apps.get_model(app_label, f"Historical{model_name}")
        except LookupError:
            history_model = None
        yield model, history_model
