"""Require every row's key, now that each row has one: unique, and indexed in history."""

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0006_bind_ciphertext_to_rows"),
    ]

    operations = [
        migrations.AlterField(
            model_name="reporter",
            name="row_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="historicalreporter",
            name="row_key",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
        migrations.AlterField(
            model_name="report",
            name="row_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="historicalreport",
            name="row_key",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
        migrations.AlterField(
            model_name="message",
            name="row_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="historicalmessage",
            name="row_key",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
        migrations.AlterField(
            model_name="attachment",
            name="row_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="historicalattachment",
            name="row_key",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
    ]
