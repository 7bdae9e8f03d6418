from django.conf import settings
from django.core.management.base import BaseCommand

from audit.services import delete_expired_history


class Command(BaseCommand):
    help = "Delete audit history older than AUDIT_RETENTION_DAYS, a small batch at a time."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=1000,
            help="History rows deleted per transaction (default: 1000).",
        )

    def handle(self, *args, batch_size, **options):
        counts = delete_expired_history(batch_size=batch_size)
        days = settings.AUDIT_RETENTION_DAYS
        if not days:
            self.stdout.write(
                "History is kept forever (AUDIT_RETENTION_DAYS is 0): nothing deleted."
            )
            return
        for label, count in counts.items():
            self.stdout.write(f"{label}: {count} deleted")
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted {sum(counts.values())} history rows older than {days} days."
            )
        )
