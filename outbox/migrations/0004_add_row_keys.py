"""Add the row keys encrypted values will be bound to, empty until the next migration fills."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0003_encrypt_mail"),
    ]

    operations = [
        migrations.AddField(
            model_name="outgoingmail",
            name="row_key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="historicaloutgoingmail",
            name="row_key",
            field=models.UUIDField(editable=False, null=True),
        ),
    ]
