"""Give existing reports their decisions, read from their history rows while these still exist.

Best effort: two consecutive history rows with different statuses make one decision, named by
the history's user and change reason; history that retention deleted already is gone. Reports
are taken a batch at a time, each batch committed on its own, and a report that has decisions
already is skipped, so a run stopped halfway can be run again.
"""

from django.db import migrations, transaction

BATCH_SIZE = 500


def _actor(user_id, email, is_staff):
    if user_id is None:
        return "system"
    return email if is_staff else "researcher"


def backfill_decisions(apps, schema_editor):
    Report = apps.get_model("reports", "Report")
    HistoricalReport = apps.get_model("reports", "HistoricalReport")
    ReportStatusChange = apps.get_model("reports", "ReportStatusChange")
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                Report.objects.filter(pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", flat=True)[:BATCH_SIZE]
            )
            if not batch:
                return
            last_pk = batch[-1]
            done = set(
                ReportStatusChange.objects.filter(report_id__in=batch).values_list(
                    "report_id", flat=True
                )
            )
            rows = (
                HistoricalReport.objects.filter(id__in=set(batch) - done)
                .order_by("id", "history_date", "history_id")
                .values_list(
                    "id",
                    "history_type",
                    "status",
                    "resolution",
                    "history_date",
                    "history_user_id",
                    "history_user__email",
                    "history_user__is_staff",
                    "history_change_reason",
                )
            )
            decisions, previous = [], {}
            for report_id, kind, status, resolution, at, user_id, email, staff, reason in rows:
                before = previous.get(report_id)
                previous[report_id] = status
                if before is None and kind != "+":
                    # The creation row was deleted by retention: the first status is unknown.
                    continue
                if before == status:
                    continue
                decisions.append(
                    ReportStatusChange(
                        report_id=report_id,
                        from_status=before or "",
                        to_status=status,
                        resolution=resolution,
                        acting_user_id=user_id,
                        actor=_actor(user_id, email, staff),
                        at=at,
                        reason=reason or "",
                    )
                )
            ReportStatusChange.objects.bulk_create(decisions, batch_size=BATCH_SIZE)


class Migration(migrations.Migration):
    # Each batch commits on its own: one long transaction over every report would hold its
    # locks and grow the write-ahead log for as long as the backfill runs.
    atomic = False

    dependencies = [
        ("reports", "0008_report_status_change"),
    ]

    operations = [
        migrations.RunPython(backfill_decisions, migrations.RunPython.noop, elidable=True),
    ]
