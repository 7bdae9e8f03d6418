"""Add the row keys encrypted values will be bound to, empty until the next migration fills."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("bounty", "0004_encrypt_staff_notes"),
    ]

    operations = [
        migrations.AddField(
            model_name="award",
            name="row_key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="historicalaward",
            name="row_key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="payout",
            name="row_key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="historicalpayout",
            name="row_key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="payoutapproval",
            name="row_key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="historicalpayoutapproval",
            name="row_key",
            field=models.UUIDField(editable=False, null=True),
        ),
    ]
