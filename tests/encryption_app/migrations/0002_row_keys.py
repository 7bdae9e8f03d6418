"""Row keys and a bound file field for the test model, whose table is always empty here."""

import uuid

from django.db import migrations, models

import encryption.fields
import encryption.storage


class Migration(migrations.Migration):
    dependencies = [
        ("encryption_app", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="dossier",
            name="row_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AddField(
            model_name="historicaldossier",
            name="row_key",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
        migrations.AlterField(
            model_name="dossier",
            name="evidence",
            field=encryption.fields.EncryptedFileField(
                blank=True, storage=encryption.storage.encrypted_storage, upload_to="evidence/"
            ),
        ),
    ]
