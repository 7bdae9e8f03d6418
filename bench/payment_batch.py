"""Benchmark downloading a payment batch's CSV at 1,000 and 100,000 lines.

    python -m bench.payment_batch [--sizes 1000 100000]

Prints JSON: per size the wall time of downloading the batch file through the admin (the real
view: a streamed response, its lines read with ``.iterator(chunk_size=...)``), and, in a second
download of the same batch, the peak memory Python allocated meanwhile (tracemalloc slows code
down, so time and memory are measured apart); then the ratios. The target: constant memory,
peak at the largest size within 2x of the smallest; time growing no faster than the lines.
"""

import argparse
import json
import time
import tracemalloc
from decimal import Decimal

from bench.setup_django import setup_django

TARGET_MEMORY_RATIO = 2.0
BATCH = 5_000
RESEARCHERS = 50


def clear() -> None:
    """Delete the payout data with plain SQL: the ORM would read (so decrypt) every row first."""
    from django.db import connection

    from bounty.models import Award, PaymentBatch, PaymentBatchDownload, PaymentBatchLine, Payout

    models = [PaymentBatchDownload, PaymentBatchLine, PaymentBatch, Payout, Award]
    models += [model.history.model for model in (PaymentBatch, Payout, Award)]
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608


def staff():
    from django.contrib.auth import get_user_model

    User = get_user_model()
    user = User.objects.filter(email="bench-finance@example.test").first()
    return user or User.objects.create_superuser("bench-finance@example.test", "x" * 20)


def instructed_payouts(total: int, proposer) -> None:
    """Create ``total`` instructed payouts with their destinations, fast (bulk, no history)."""
    from django.db import transaction
    from django.utils import timezone

    from bounty.models import Award, Payout
    from bounty.reference_program import load_reference_program
    from reports.models import Report, Reporter, new_public_id

    load_reference_program()
    now = timezone.now()
    with transaction.atomic():
        researchers = [
            Reporter.objects.filter(email_index__matches=f"payee{n}@example.test").first()
            or Reporter.objects.create(
                email=f"payee{n}@example.test", display_name=f"Payee Number {n}"
            )
            for n in range(RESEARCHERS)
        ]
        report = Report.objects.create(
            public_id=new_public_id(),
            reporter=researchers[0],
            title="Benchmark report",
            description="-",
            steps_to_reproduce="-",
            status=Report.Status.TRIAGED,
            received_at=now,
        )
        for start in range(0, total, BATCH):
            size = min(BATCH, total - start)
            awards = Award.objects.bulk_create(
                Award(
                    report=report,
                    amount=Decimal("300.00"),
                    proposed_by=proposer,
                    proposed_at=now,
                )
                for _ in range(size)
            )
            Payout.objects.bulk_create(
                Payout(
                    award=award,
                    reporter=researchers[(start + i) % RESEARCHERS],
                    amount=award.amount,
                    status=Payout.Status.INSTRUCTED,
                    instruction_reference=f"BD-PAY-{award.pk:08d}",
                    instructed_at=now,
                    destination_method="bank_transfer",
                    destination_details=f"IBAN DE89 3704 0044 0532 {start + i:08d}",
                )
                for i, award in enumerate(awards)
            )


def download(client, url) -> int:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    assert response.streaming
    return sum(len(chunk) for chunk in response.streaming_content)


def measure(size: int, user) -> dict:
    from django.test import Client
    from django.urls import reverse

    from bounty import services

    clear()
    instructed_payouts(size, user)
    [batch] = services.export_payment_batches(acting_user=user)
    assert batch.count == size
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    url = reverse("admin:bounty_paymentbatch_download", args=[batch.number])

    started = time.perf_counter()
    size_bytes = download(client, url)
    seconds = time.perf_counter() - started

    tracemalloc.start()
    download(client, url)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "lines": size,
        "file_bytes": size_bytes,
        "seconds": round(seconds, 3),
        "peak_memory_kib": round(peak / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1_000, 100_000])
    args = parser.parse_args()
    setup_django("payment_batch")
    from django.db import connection

    user = staff()
    small, large = (measure(size, user) for size in args.sizes)
    clear()
    memory_ratio = round(large["peak_memory_kib"] / small["peak_memory_kib"], 3)
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "small": small,
                "large": large,
                "lines_ratio": round(large["lines"] / small["lines"], 1),
                "time_ratio": round(large["seconds"] / small["seconds"], 3),
                "memory_ratio": memory_ratio,
                "target_memory_ratio": TARGET_MEMORY_RATIO,
                "within_target": memory_ratio <= TARGET_MEMORY_RATIO,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
