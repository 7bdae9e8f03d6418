"""manage.py rotate_master_key: move every encrypted value, blind index and file to the current key.

Rotating, with no downtime:
1. Generate a new key; deploy it as BOUNTY_MASTER_KEY and move the old one to the front of
   BOUNTY_OLD_MASTER_KEYS, on every process (web, worker, beat). Everything still reads.
2. Run this command. It can be stopped and run again at any time: it continues where it was.
3. When it reports that everything is under the current key, remove the old key.
"""

from django.core.management.base import BaseCommand, CommandError

from encryption.exceptions import DecryptionError
from encryption.keys import master_key_fingerprint
from encryption.rotation import (
    encrypted_file_columns,
    encrypted_tables,
    file_needs_rotation,
    rotate_files,
    rotate_rows,
    stale_rows,
    stored_file_count,
    stored_files,
)


class ProgressBar:
    """``label [#######-------] done/total unit``, redrawn in place on a terminal."""

    WIDTH = 30

    def __init__(self, out, label: str, total: int, unit: str):
        self.out = out
        self.label = label
        self.total = total
        self.unit = unit
        self.done = 0
        self.redraw = out.isatty()
        self._draw()

    def advance(self, count: int) -> None:
        self.done += count
        self._draw()

    def finish(self) -> None:
        if self.redraw:
            self.out.write("")

    def _draw(self) -> None:
        # Rows written under an old key while the run goes on can take it past the first count.
        shown = min(self.done, self.total)
        filled = self.WIDTH * shown // self.total if self.total else self.WIDTH
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        line = f"{self.label:<44} [{bar}] {shown}/{self.total} {self.unit}"
        if self.redraw:
            self.out.write("\r" + line, ending="")
        else:
            self.out.write(line)


class Command(BaseCommand):
    help = "Re-encrypt every encrypted value, blind index and file under the current master key."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Rows per transaction (default 500)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what is left to rotate; change nothing."
        )

    def handle(self, *, batch_size, dry_run, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        self.stdout.write(f"Current master key: {master_key_fingerprint()}")
        try:
            if dry_run:
                self._count_what_is_left(batch_size)
            else:
                self._rotate(batch_size)
        except DecryptionError as error:
            raise CommandError(str(error)) from error

    def _count_what_is_left(self, batch_size):
        for table in encrypted_tables():
            self.stdout.write(f"{table.label}: {stale_rows(table).count()} rows to re-encrypt")
        for column in encrypted_file_columns():
            names = {file.name for file in stored_files(column, batch_size=batch_size)}
            left = sum(file_needs_rotation(column, name) for name in names)
            self.stdout.write(f"{column.label}: {left} files to re-encrypt")

    def _rotate(self, batch_size):
        tables = encrypted_tables()
        for table in tables:
            bar = ProgressBar(self.stdout, table.label, stale_rows(table).count(), "rows")
            rotate_rows(table, batch_size=batch_size, progress=bar.advance)
            bar.finish()
        seen = set()
        for column in encrypted_file_columns():
            bar = ProgressBar(self.stdout, column.label, stored_file_count(column), "files")
            result = rotate_files(column, batch_size=batch_size, progress=bar.advance, seen=seen)
            bar.finish()
            if result.missing:
                self.stdout.write(f"  {result.missing} named files no longer exist")
        left = sum(stale_rows(table).count() for table in tables)
        if left:
            raise CommandError(
                f"{left} rows were written under an old key during the run: some process still "
                "has the old BOUNTY_MASTER_KEY. Deploy the new key everywhere and run this again."
            )
        self.stdout.write(
            self.style.SUCCESS(
                "Everything is encrypted under the current key; "
                "the old keys can be removed from BOUNTY_OLD_MASTER_KEYS."
            )
        )
