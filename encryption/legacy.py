"""Encrypt what was stored in clear before its field or storage became encrypted.

Turning a clear field into an encrypted one takes two operations in one migration: the
AlterField that makemigrations writes (for the model and for its historical model), then
``encrypt_plaintext`` written by hand after it::

    operations = [
        migrations.AlterField("report", "description", EncryptedTextField()),
        migrations.AlterField("historicalreport", "description", EncryptedTextField()),
        encrypt_plaintext("reports", "Report"),
    ]

It encrypts every value still stored in clear in the model and in its history, each for its
place (encryption.binding), fills blind indexes added beside them, and encrypts the files its
encrypted file fields name (stored by the earlier, clear storage under the same names). The
migrations that ran it before the models had row keys wrote the unbound enc1/BDENC1 formats,
which the binding migrations then re-encrypted (encryption.rebinding). Until it has run,
reading such a value raises DecryptionError instead of passing plaintext off as decrypted.

Going back never decrypts: that would write plaintext into the database and the history again.
Migrating backwards over the operation is allowed only while its tables hold no rows (a fresh
install, a test database); a desk with data goes back by restoring the backup taken before the
upgrade.
"""

from django.db import migrations
from django.db.migrations.exceptions import IrreversibleError

from encryption.rotation import (
    EncryptedTable,
    file_columns_of,
    models_with_history,
    rotate_rows,
    stored_files,
)

BATCH_SIZE = 500


def encrypt_plaintext_rows(model, *, batch_size: int = BATCH_SIZE, using: str | None = None) -> int:
    """Encrypt the model's values stored in clear and fill its blind indexes; return rows done."""
    table = EncryptedTable.of(model)
    if table is None:
        return 0
    return rotate_rows(table, batch_size=batch_size, encrypt_plaintext=True, using=using)


def encrypt_plaintext_files(model, history_model=None, *, batch_size: int = BATCH_SIZE) -> int:
    """Encrypt the files in clear that the model's encrypted file fields name; return how many."""
    encrypted = 0
    for column in file_columns_of(model, history_model):
        for file in stored_files(column, batch_size=batch_size):
            storage = column.storage
            if storage.exists(file.name) and storage.encrypt_plaintext(file.name, file.binding):
                encrypted += 1
    return encrypted


def encrypt_plaintext(
    app_label: str, *model_names: str, batch_size: int = BATCH_SIZE
) -> migrations.RunPython:
    """Return a migration operation encrypting the models' clear rows, history rows and files."""

    def encrypt(apps, schema_editor):
        using = schema_editor.connection.alias
        for model, history_model in models_with_history(apps, app_label, model_names):
            for each in (model, history_model):
                if each is not None:
                    encrypt_plaintext_rows(each, batch_size=batch_size, using=using)
            encrypt_plaintext_files(model, history_model, batch_size=batch_size)

    def refuse_to_decrypt(apps, schema_editor):
        using = schema_editor.connection.alias
        for model, history_model in models_with_history(apps, app_label, model_names):
            for each in (model, history_model):
                if each is not None and each._base_manager.using(using).exists():
                    raise IrreversibleError(
                        f"{each._meta.label} holds encrypted rows, and going back would write "
                        "them as plaintext; restore the backup taken before the upgrade instead."
                    )

    return migrations.RunPython(encrypt, refuse_to_decrypt, elidable=False)
