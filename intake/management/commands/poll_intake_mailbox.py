from django.core.management.base import BaseCommand, CommandError

from intake import imap, polling, services


class Command(BaseCommand):
    help = "Fetch new mail from INTAKE_IMAP_URL once and make reports of it, as beat does."

    def handle(self, *args, **options):
        try:
            result = polling.poll_intake_mailbox()
        except imap.InvalidMailboxURL as error:
            raise CommandError(f"INTAKE_IMAP_URL is malformed: {error}.") from None
        if result is None:
            raise CommandError("Mail intake is off: set INTAKE_IMAP_URL.")
        if result.busy:
            self.stdout.write(f"Another poller is reading {result.mailbox}; try again shortly.")
            return
        for message in result.messages:
            self.stdout.write(describe(message))
        pending = services.process_pending_messages()
        self.stdout.write(
            f"{result.mailbox}: {result.recorded} new, {result.settled} settled"
            + (f", {pending} pending processed" if pending else "")
            + "."
        )
        if result.error:
            raise CommandError(f"Polling {result.mailbox} failed: {result.error}")


def describe(message) -> str:
    """One line on what became of an intake message, for the commands' output."""
    if message.report is not None:
        return f"  #{message.pk}: report {message.report.public_id}"
    if message.state == message.State.RECEIVED:
        return f"  #{message.pk}: not processed yet ({message.error})"
    return f"  #{message.pk}: {message.get_state_display().lower()}: {message.error}"
