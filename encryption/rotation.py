"""Find everything encrypted and move it to the current master key.

Progress is never stored: each ciphertext, blind index and file names the key it is under, so
"what is left" is always a query (rows whose token does not start with the current key id) or a
header read. An interrupted rotation simply runs again and continues; a finished one finds
nothing to do. Rows are re-encrypted in batches, in primary-key order, each batch one
transaction holding its rows locked, so the app keeps running and writing meanwhile: every
process must already have the new BOUNTY_MASTER_KEY and the old one in BOUNTY_OLD_MASTER_KEYS.

Rows are rewritten with ``queryset.update()``: re-encrypting changes no value, so it writes no
history and moves no timestamps.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db import models, router, transaction
from django.db.models.functions import Cast
from simple_history.exceptions import NotHistoricalModelError
from simple_history.utils import get_history_model_for_model

from encryption import keys, tokens
from encryption.blind_index import BlindIndexField, blind_index, current_index_prefix
from encryption.exceptions import DecryptionError
from encryption.fields import EncryptedFieldMixin, Sealed
from encryption.storage import EncryptedStorageMixin
from encryption.tokens import reseal, seal

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


@dataclass(frozen=True)
class EncryptedFileColumn:
    """A column naming files in an encrypted storage (a FileField, or its copy in history)."""

    model: type[models.Model]
    field_name: str
    storage: EncryptedStorageMixin

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field_name}"


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
    field_prefix = tokens.current_prefix()
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
    using: str | None = None,
) -> int:
    """Re-encrypt the table's stale rows under the current key; return how many were rewritten.

    ``encrypt_plaintext`` encrypts values stored in clear instead of refusing them; only the
    migration that turns a clear field into an encrypted one (encryption.legacy) asks for it.
    """
    using = using or router.db_for_write(table.model)
    read_fields = _read_fields(table)
    rewritten = 0
    last_pk = None
    while True:
        with transaction.atomic(using=using):
            batch = stale_rows(table).using(using).select_for_update().order_by("pk")
            if last_pk is not None:
                batch = batch.filter(pk__gt=last_pk)
            rows = list(batch.values_list("pk", *(f.attname for f in read_fields))[:batch_size])
            for pk, *values in rows:
                changes = _rotated_row(
                    table, pk, dict(zip(read_fields, values, strict=True)), encrypt_plaintext
                )
                if changes:
                    table.model._base_manager.using(using).filter(pk=pk).update(**changes)
        if rows:
            last_pk = rows[-1][0]
            rewritten += len(rows)
            if progress is not None:
                progress(len(rows))
        if len(rows) < batch_size:
            return rewritten


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
) -> FileRotation:
    """Re-encrypt every file the column names under the current key.

    History rows repeat the names of their object's files; ``seen`` (shared between columns)
    keeps each file to one visit per run. A name whose file is gone (deleted with its
    attachment, still named by history) is counted, not an error.
    """
    seen = set() if seen is None else seen
    result = FileRotation()
    for name in stored_file_names(column, batch_size=batch_size):
        if (id(column.storage), name) not in seen:
            seen.add((id(column.storage), name))
            if not column.storage.exists(name):
                result.missing += 1
            elif _reencrypt_file(column, name):
                result.rewritten += 1
        if progress is not None:
            progress(1)
    return result


def stored_file_names(column: EncryptedFileColumn, *, batch_size: int) -> Iterator[str]:
    """Yield every file name the column holds, one batch of rows at a time."""
    rows = _rows_naming_files(column)
    last_pk = None
    while True:
        page_rows = rows if last_pk is None else rows.filter(pk__gt=last_pk)
        page = list(page_rows.order_by("pk").values_list("pk", column.field_name)[:batch_size])
        yield from (name for _, name in page)
        if len(page) < batch_size:
            return
        last_pk = page[-1][0]


def stored_file_count(column: EncryptedFileColumn) -> int:
    return _rows_naming_files(column).count()


def file_needs_rotation(column: EncryptedFileColumn, name: str) -> bool:
    """Whether the named file exists and is not encrypted under the current key."""
    current = keys.current_key(keys.FILE).key_id
    return column.storage.exists(name) and column.storage.stored_key_id(name) != current


def _rows_naming_files(column: EncryptedFileColumn) -> models.QuerySet:
    return column.model._base_manager.exclude(**{column.field_name: ""}).exclude(
        **{f"{column.field_name}__isnull": True}
    )


def _reencrypt_file(column: EncryptedFileColumn, name: str) -> bool:
    try:
        return column.storage.reencrypt(name)
    except DecryptionError as error:
        raise DecryptionError(f"{column.label} {error.where}", error.reason) from None


def _rotated_row(table, pk, values, encrypt_plaintext) -> dict:
    changes = {}
    plaintexts = {}
    field_prefix = tokens.current_prefix()
    for field in table.fields:
        value = values[field]
        if not isinstance(value, Sealed) or value.stored.startswith(field_prefix):
            continue
        where = f"{table.label} #{pk} field {field.name}"
        if encrypt_plaintext and tokens.stored_key_id(value.stored) is None:
            changes[field.attname] = Sealed(seal(value.stored), where)
        else:
            changes[field.attname] = Sealed(reseal(value.stored, where=where), where)
    for index in table.blind_indexes:
        source = table.model._meta.get_field(index.source)
        if source not in plaintexts:
            plaintexts[source] = _plaintext(table, pk, source, values[source], encrypt_plaintext)
        fresh = blind_index(plaintexts[source], purpose=index.purpose)
        if fresh != values[index]:
            changes[index.attname] = fresh
    return changes


def _plaintext(table, pk, source, value, encrypt_plaintext) -> str:
    if not isinstance(value, Sealed):
        return value or ""
    if encrypt_plaintext and tokens.stored_key_id(value.stored) is None:
        return value.stored
    return tokens.unseal(value.stored, where=f"{table.label} #{pk} field {source.name}")


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


def _concrete_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if not model._meta.proxy]
