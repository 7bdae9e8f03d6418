"""Require every row's key, now that each row has one: unique, and indexed in history."""

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0005_bind_ciphertext_to_rows"),
    ]

    operations = [
        migrations.AlterField(
            model_name="outgoingmail",
            name="row_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="historicaloutgoingmail",
            name="row_key",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
    ]
