"""Give every row and history row its key, and re-encrypt enc1 values (and files) bound to it.

Batched, each batch committed on its own, and resumable (see encryption.rebinding).
"""

from django.db import migrations

from encryption.rebinding import bind_to_rows


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("outbox", "0004_add_row_keys"),
    ]

    operations = [
        bind_to_rows("outbox", "OutgoingMail"),
    ]
