"""Add the row keys encrypted values will be bound to, empty until the next migration fills."""

import encryption.fields
import encryption.storage
import reports.models
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0004_reporter_email_unique"),
    ]

    operations = [
        migrations.AddField(
            model_name="reporter",
            name="row_key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="historicalreporter",
            name="row_key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="report",
            name="row_key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="historicalreport",
            name="row_key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="message",
            name="row_key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="historicalmessage",
            name="row_key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="attachment",
            name="row_key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="historicalattachment",
            name="row_key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AlterField(
            model_name="attachment",
            name="file",
            field=encryption.fields.EncryptedFileField(
                storage=encryption.storage.encrypted_storage,
                upload_to=reports.models.attachment_path,
            ),
        ),
    ]
