"""Give existing payouts their decisions, read from their history rows while these still exist.

Best effort: two consecutive history rows with different statuses make one decision, named by
the history's user and change reason; history that retention deleted already is gone. Payouts
are taken a batch at a time, each batch committed on its own, and a payout that has decisions
already is skipped, so a run stopped halfway can be run again.
"""

from django.db import migrations, transaction

BATCH_SIZE = 500


def _actor(user_id, email, is_staff):
    if user_id is None:
        return "system"
    return email if is_staff else "researcher"


def backfill_decisions(apps, schema_editor):
    Payout = apps.get_model("bounty", "Payout")
    HistoricalPayout = apps.get_model("bounty", "HistoricalPayout")
    PayoutStatusChange = apps.get_model("bounty", "PayoutStatusChange")
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                Payout.objects.filter(pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", flat=True)[:BATCH_SIZE]
            )
            if not batch:
                return
            last_pk = batch[-1]
            done = set(
                PayoutStatusChange.objects.filter(payout_id__in=batch).values_list(
                    "payout_id", flat=True
                )
            )
            rows = (
                HistoricalPayout.objects.filter(id__in=set(batch) - done)
                .order_by("id", "history_date", "history_id")
                .values_list(
                    "id",
                    "status",
                    "history_date",
                    "history_user_id",
                    "history_user__email",
                    "history_user__is_staff",
                    "history_change_reason",
                )
            )
            decisions, previous = [], {}
            for payout_id, status, at, user_id, email, staff, reason in rows:
                before = previous.get(payout_id)
                previous[payout_id] = status
                # A payout's creation is not a move (it starts awaiting approval), as live.
                if before is None or before == status:
                    continue
                decisions.append(
                    PayoutStatusChange(
                        payout_id=payout_id,
                        from_status=before,
                        to_status=status,
                        acting_user_id=user_id,
                        actor=_actor(user_id, email, staff),
                        at=at,
                        reason=reason or "",
                    )
                )
            PayoutStatusChange.objects.bulk_create(decisions, batch_size=BATCH_SIZE)


class Migration(migrations.Migration):
    # Each batch commits on its own: one long transaction over every payout would hold its
    # locks and grow the write-ahead log for as long as the backfill runs.
    atomic = False

    dependencies = [
        ("bounty", "0008_payout_status_change_and_titles_in_mail"),
    ]

    operations = [
        migrations.RunPython(backfill_decisions, migrations.RunPython.noop, elidable=True),
    ]
