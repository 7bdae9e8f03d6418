import mailbox
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from intake import services
from intake.management.commands.poll_intake_mailbox import describe
from intake.models import IntakeMessage


class Command(BaseCommand):
    help = (
        "Make reports of mail saved as files (.eml), or of an mbox archive with --mbox, as if "
        "it had arrived in the intake mailbox. Mail ingested before is recognised and skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument(
            "--mbox", action="store_true", help="Each FILE is an mbox archive of many mails."
        )

    def handle(self, *args, files, mbox, **options):
        counts = {"new": 0, "before": 0, "failed": 0}
        for name in files:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{name}: no such file.")
            for label, raw in _mails_in(path, mbox=mbox):
                recorded = services.ingest_raw(raw)
                message = recorded.message
                if not recorded.created:
                    counts["before"] += 1
                    self.stdout.write(f"{label}: ingested before as intake message #{message.pk}")
                    continue
                failed = message.state != IntakeMessage.State.PROCESSED
                counts["failed" if failed else "new"] += 1
                self.stdout.write(f"{label}:{describe(message)[1:]}")
        self.stdout.write(
            f"{counts['new']} new, {counts['before']} ingested before, {counts['failed']} failed."
        )
        if counts["failed"]:
            raise CommandError(
                f"{counts['failed']} mail did not become a report; each is kept, with its raw "
                "source and the reason, under Email intake in the admin."
            )


def _mails_in(path: Path, *, mbox: bool):
    if not mbox:
        yield str(path), path.read_bytes()
        return
    archive = mailbox.mbox(path, create=False)
    try:
        for position, key in enumerate(archive.iterkeys(), start=1):
            yield f"{path} #{position}", archive.get_bytes(key)
    finally:
        archive.close()
