"""Require every row's key, now that each row has one: unique, and indexed in history."""

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("bounty", "0006_bind_ciphertext_to_rows"),
    ]

    operations = [
        migrations.AlterField(
            model_name="award",
            name="row_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="historicalaward",
            name="row_key",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
        migrations.AlterField(
            model_name="payout",
            name="row_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="historicalpayout",
            name="row_key",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
        migrations.AlterField(
            model_name="payoutapproval",
            name="row_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="historicalpayoutapproval",
            name="row_key",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
    ]
