from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_encrypt_report_contents"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="reporter",
            constraint=models.UniqueConstraint(
                fields=("email_index",), name="reports_reporter_email_unique"
            ),
        ),
    ]
