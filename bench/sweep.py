"""Benchmark the reminder sweep at 1,000 and 100,000 open reports with the same deadlines due.

    python -m bench.sweep [--sizes 1000 100000] [--due 50] [--repeat 5]

Prints JSON: per size the sweep's query count and median wall time, and the ratios. The target:
the same query count at both sizes, and time at the largest within 1.5x of the smallest.
"""

import argparse
import json
import statistics
import time

from bench.setup_django import setup_django


def measure(size: int, due: int, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.generate import clear, generate_open_reports
    from outbox.models import OutgoingMail
    from reports.models import Deadline
    from reports.reminders import send_deadline_reminders

    clear()
    generate_open_reports(size, due_now=due)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    timings, queries = [], []
    for _ in range(repeat):
        OutgoingMail.objects.all().delete()
        Deadline.objects.update(last_reminder_stage=Deadline.ReminderStage.NONE)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = send_deadline_reminders()
            timings.append(time.perf_counter() - started)
        queries.append(len(captured))
        assert sum(result.reminded.values()) == due, result
    return {
        "open_reports": size,
        "deadlines_due": due,
        "queries": queries[0],
        "seconds_median": round(statistics.median(timings), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1_000, 100_000])
    parser.add_argument("--due", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    setup_django("sweep")
    from django.db import connection

    small, large = (measure(size, args.due, args.repeat) for size in args.sizes)
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "small": small,
                "large": large,
                "query_ratio": round(large["queries"] / small["queries"], 3),
                "time_ratio": round(large["seconds_median"] / small["seconds_median"], 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
