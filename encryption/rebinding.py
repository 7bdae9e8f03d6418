"""Bind what was encrypted before row keys existed: the migrations from enc1/BDENC1 to bound.

Giving an app's encrypted models row keys takes three migrations, the documented Django way
to add a unique column to a table that already has rows (a plain AddField would compute the
default once and give every row the same key):

1. AddField ``row_key`` nullable, on each model and its historical model (and AlterField of
   an encrypted file field to EncryptedFileField).
2. ``bind_to_rows(app_label, *model_names)`` in a migration with ``atomic = False``: it gives
   every row a random key and every history row the key of the object it records, then
   re-encrypts every enc1 value and BDENC1 file of those models for its place.
3. AlterField ``row_key`` to ``UUIDField(default=uuid.uuid4, editable=False, unique=True)``
   (an indexed, non-unique column on the historical model).

Step 2 works in batches, each committed on its own, so it holds no long transaction and no
lock on more than one batch, and it only ever looks for what is still to do (rows without a
key, values and files in the old format): interrupted, it runs again and continues.

Going back never decrypts into the unbound format: migrating backwards over step 2 is allowed
only while the models hold no rows (a fresh install, a test database); a desk with data goes
back by restoring the backup taken before the upgrade.
"""

import uuid

from django.db import migrations, models, transaction
from django.db.migrations.exceptions import IrreversibleError
from django.db.models import Case, Value, When

from encryption.binding import ROW_KEY
from encryption.rotation import (
    EncryptedTable,
    file_columns_of,
    models_with_history,
    rotate_files,
    rotate_rows,
)

BATCH_SIZE = 500


def give_rows_keys(model, *, using: str, batch_size: int = BATCH_SIZE) -> int:
    """Give every row of ``model`` without a row key a random one; return how many."""
    rows = model._base_manager.using(using)
    done = 0
    while True:
        with transaction.atomic(using=using):
            pks = list(
                rows.filter(**{f"{ROW_KEY}__isnull": True})
                .select_for_update()
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            rows.bulk_update([model(pk=pk, **{ROW_KEY: uuid.uuid4()}) for pk in pks], [ROW_KEY])
        done += len(pks)
        if len(pks) < batch_size:
            return done


def give_history_rows_keys(
    history_model, model, *, using: str, batch_size: int = BATCH_SIZE
) -> int:
    """Give history rows the key of the object they record; return how many objects done.

    The history of an object deleted since keeps a key of its own, shared by all its rows.
    """
    history = history_model._base_manager.using(using)
    done = 0
    while True:
        with transaction.atomic(using=using):
            object_ids = list(
                history.filter(**{f"{ROW_KEY}__isnull": True})
                .order_by("id")
                .values_list("id", flat=True)
                .distinct()[:batch_size]
            )
            keys = dict(
                model._base_manager.using(using)
                .filter(pk__in=object_ids)
                .values_list("pk", ROW_KEY)
            )
            if object_ids:
                key_of_object = Case(
                    *(When(id=pk, then=Value(keys.get(pk) or uuid.uuid4())) for pk in object_ids),
                    output_field=models.UUIDField(),
                )
                history.filter(id__in=object_ids).update(**{ROW_KEY: key_of_object})
        done += len(object_ids)
        if len(object_ids) < batch_size:
            return done


def bind_to_rows(
    app_label: str, *model_names: str, batch_size: int = BATCH_SIZE
) -> migrations.RunPython:
    """Return the operation giving the models' rows keys and binding their values and files.

    Put it in a migration with ``atomic = False``, between adding the row keys and requiring
    them.
    """

    def bind(apps, schema_editor):
        using = schema_editor.connection.alias
        seen_files = set()
        for model, history_model in models_with_history(apps, app_label, model_names):
            give_rows_keys(model, using=using, batch_size=batch_size)
            if history_model is not None:
                give_history_rows_keys(history_model, model, using=using, batch_size=batch_size)
            for each in (model, history_model):
                table = None if each is None else EncryptedTable.of(each)
                if table is not None:
                    rotate_rows(table, batch_size=batch_size, bind_unbound=True, using=using)
            for column in file_columns_of(model, history_model):
                rotate_files(column, batch_size=batch_size, seen=seen_files, bind_unbound=True)

    def refuse_to_unbind(apps, schema_editor):
        using = schema_editor.connection.alias
        for model, history_model in models_with_history(apps, app_label, model_names):
            for each in (model, history_model):
                if each is not None and each._base_manager.using(using).exists():
                    raise IrreversibleError(
                        f"{each._meta.label} holds values bound to their rows, and going back "
                        "would need them unbound; restore the backup taken before the upgrade."
                    )

    return migrations.RunPython(bind, refuse_to_unbind, elidable=False)
