"""Payment batches: the numbered files of instructed payouts that finance exports and downloads.

A payout is in one batch at a time; a line of it is void when its destination changes
(``destinations``), and a settlement (``payments``) matches the lines that are not.
"""

from django.db.models import Max
from django.utils import timezone

from accounts.history import audited
from accounts.models import User
from bounty.models import PaymentBatch, PaymentBatchDownload, PaymentBatchLine, Payout, Program
from bounty.services.status import PAY_PERMISSION, S, _require_permission

BATCH_LINES_PER_INSERT = 2000


@audited
def export_payment_batches(*, acting_user: User) -> list[PaymentBatch]:
    """Put the instructed payouts that no batch holds yet into new numbered batches, one per
    currency; return them (none when there is nothing to pay)."""
    _require_permission(acting_user, PAY_PERMISSION, "export payment batches")
    # One export at a time: the program's row is the lock, so two finance users exporting at
    # once neither take the same payouts nor the same number. The payouts are locked as well,
    # so that a change of destination and the export do not interleave.
    if Program.objects.select_for_update().first() is None:
        return []
    in_a_batch = PaymentBatchLine.objects.filter(voided_at__isnull=True).values("payout")
    waiting = (
        Payout.objects.select_for_update(of=("self",))
        .filter(status=S.INSTRUCTED)
        .exclude(pk__in=in_a_batch)
        .order_by("currency", "instructed_at", "pk")
        .values_list("pk", "currency", "amount", "instruction_reference")
    )
    per_currency: dict[str, list[tuple]] = {}
    for payout_id, currency, amount, reference in waiting:
        per_currency.setdefault(currency, []).append((payout_id, amount, reference))
    number = PaymentBatch.objects.aggregate(last=Max("number"))["last"] or 0
    now = timezone.now()
    batches = []
    for currency, payouts in per_currency.items():
        number += 1
        batch = PaymentBatch.objects.create(
            number=number,
            currency=currency,
            total=sum(amount for _, amount, _ in payouts),
            count=len(payouts),
            created_by=acting_user,
            created_at=now,
        )
        PaymentBatchLine.objects.bulk_create(
            (
                PaymentBatchLine(batch=batch, payout_id=payout_id, reference=reference)
                for payout_id, _, reference in payouts
            ),
            batch_size=BATCH_LINES_PER_INSERT,
        )
        batches.append(batch)
    return batches


@audited
def record_batch_download(batch: PaymentBatch, *, acting_user: User) -> PaymentBatchDownload:
    """Record that ``acting_user`` downloads the batch's file; every download after the first
    is a re-download."""
    _require_permission(acting_user, PAY_PERMISSION, "download payment batches")
    batch = PaymentBatch.objects.select_for_update().get(pk=batch.pk)
    return PaymentBatchDownload.objects.create(
        batch=batch,
        downloaded_by=acting_user,
        downloaded_at=timezone.now(),
        redownload=batch.downloads.exists(),
    )
