"""Generate open reports with their deadlines, fast (bulk inserts, no history, no mail)."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

BATCH = 5_000


@transaction.atomic
def generate_open_reports(total: int, *, due_now: int) -> None:
    """Create ``total`` acknowledged reports; ``due_now`` of them owe a reminder right now."""
    from bounty.reference_program import load_reference_program
    from reports.models import Deadline, Report, Reporter, new_public_id

    load_reference_program()
    email = "bench@example.test"
    reporter = Reporter.objects.filter(email_index__matches=email).first()
    reporter = reporter or Reporter.objects.create(email=email)
    now = timezone.now()
    for start in range(0, total, BATCH):
        size = min(BATCH, total - start)
        due = [
            now - timedelta(hours=1)
            if start + i < due_now
            else now + timedelta(days=10 + (start + i) % 50)
            for i in range(size)
        ]
        reports = Report.objects.bulk_create(
            Report(
                public_id=new_public_id(),
                reporter=reporter,
                title=f"Benchmark report {start + i}",
                description="-",
                steps_to_reproduce="-",
                status=Report.Status.ACKNOWLEDGED,
                received_at=now - timedelta(days=1),
                next_deadline_at=due[i],
                next_deadline_kind=Deadline.Kind.TRIAGE,
            )
            for i in range(size)
        )
        Deadline.objects.bulk_create(
            Deadline(
                report=report,
                kind=Deadline.Kind.TRIAGE,
                due_at=due[i],
            )
            for i, report in enumerate(reports)
        )


def clear() -> None:
    from outbox.models import OutgoingMail
    from reports.models import Deadline, Report

    OutgoingMail.objects.all().delete()
    Deadline.objects.all().delete()
    Report.objects.all().delete()
