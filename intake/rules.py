"""What a mail to the intake address may become, decided before anything is made of it.

Mail loops start when a program answers a program: our acknowledgement answered by an
out-of-office reply, answered again. So, in this order:

1. Mail from the desk's own addresses is ignored.
2. A bounce (intake.bounces) marks the outgoing mail it returns as bounced, and is ignored:
   it is never a report, whoever sent it.
3. Mail a program sent (RFC 3834 ``Auto-Submitted`` other than "no", and the older vacation
   markers) is ignored: nobody wrote it.
4. Mail from a blocked sender (intake.blocklist) is ignored.
5. Past INTAKE_REPORTS_PER_SENDER_PER_HOUR new reports from one sender, further mail is
   ignored, so that a flood cannot bury the queue.

Ignored mail is still recorded, raw and encrypted, with the reason: staff can read it.

Everything else becomes a report, but the acknowledgement (our automatic reply) is withheld
from list and bulk mail (``Precedence``, ``List-Id``, ``List-Unsubscribe``), from mail asking
not to be answered automatically (``X-Auto-Response-Suppress``), from mail with no return
path, and when the sender got one in the last hour. A real report sent through a mailing list
or by a busy researcher is still a report: only the automatic answer is held back, since an
answer to a list reaches everyone on it and a reply robot answers every answer.
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr

from django.conf import settings
from django.utils import timezone

from intake import blocklist, bounces
from intake.mime import MAX_HEADER_CHARS, parse_mail, raw_header
from intake.models import IntakeMessage
from outbox.models import OutgoingMail
from outbox.services import record_bounce
from reports.models import Report

ACKNOWLEDGEMENT_TEMPLATE = "report_received"
ACKNOWLEDGEMENT_INTERVAL = timedelta(hours=1)
RATE_WINDOW = timedelta(hours=1)
# Precedence values (RFC 2076, and what list servers and vacation programs write).
QUIET_PRECEDENCE = frozenset({"bulk", "list", "junk"})
AUTOMATIC_PRECEDENCE = frozenset({"auto_reply", "auto-reply"})
# Markers older vacation programs set instead of Auto-Submitted.
AUTOMATIC_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-response")
# X-Auto-Response-Suppress (Microsoft) values that cover an acknowledgement.
SUPPRESSING = frozenset({"all", "autoreply", "oof"})


@dataclass(frozen=True)
class Verdict:
    """``ignored``: why the mail makes nothing (else ""); ``withheld``: why its report is not
    acknowledged (else "")."""

    ignored: str = ""
    withheld: str = ""


def judge(message: IntakeMessage, raw: bytes) -> Verdict:
    """Decide what a recorded mail may become; may mark our outgoing mail bounced.

    Raises intake.mime.MalformedMail for a mail past the parser's limits. Runs in the
    transaction that processes the message, so a bounce is recorded exactly once too.
    """
    mail = parse_mail(raw)
    sender = message.sender
    if _is_ours(sender):
        return Verdict(ignored="Sent from the desk's own address.")
    bounce = bounces.read_bounce(mail, sender=sender, null_return_path=_null_return_path(mail))
    if bounce is not None:
        return Verdict(ignored=_record_bounce(bounce, message))
    automatic = _automatic(mail)
    if automatic:
        return Verdict(ignored=f"Sent by a program, not a person ({automatic}).")
    blocked = blocklist.blocking_entry(sender)
    if blocked is not None:
        return Verdict(ignored=f"The sender is on the blocklist ({blocked}).")
    if _over_rate(sender, message):
        limit = settings.INTAKE_REPORTS_PER_SENDER_PER_HOUR
        return Verdict(
            ignored=f"The sender made {limit} reports by mail within the hour before this one "
            "(INTAKE_REPORTS_PER_SENDER_PER_HOUR); this mail made none."
        )
    return Verdict(withheld=_acknowledgement_withheld(mail, sender))


def _header(mail: EmailMessage, name: str) -> str:
    # As it came and cut short: parsing a hostile header costs the square of its length.
    return " ".join(raw_header(mail, name)[:MAX_HEADER_CHARS].split())


def _address(value: str) -> str:
    return parseaddr(value)[1].strip().lower()


def _is_ours(sender: str) -> bool:
    """The intake address (with or without a plus-tag) or the address our mail comes from."""
    if not sender:
        return False
    local, _, domain = sender.partition("@")
    bare = f"{local.partition('+')[0]}@{domain}"
    ours = {_address(settings.INTAKE_ADDRESS), _address(settings.DEFAULT_FROM_EMAIL)} - {""}
    return sender in ours or bare in ours


def _null_return_path(mail: EmailMessage) -> bool:
    # The delivering server writes the envelope sender here; "<>" is a server's own notice.
    return _header(mail, "return-path") == "<>"


def _automatic(mail: EmailMessage) -> str:
    """Name the header that says a program sent the mail, or ""."""
    auto_submitted = _header(mail, "auto-submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted.split(';')[0].strip()}"
    if _header(mail, "precedence").lower() in AUTOMATIC_PRECEDENCE:
        return f"Precedence: {_header(mail, 'precedence')}"
    for name in AUTOMATIC_HEADERS:
        if raw_header(mail, name):
            return name.title()
    return ""


def _record_bounce(bounce: bounces.Bounce, message: IntakeMessage) -> str:
    # Anyone can write a mail shaped like a bounce, but only one quoting a Message-ID we made
    # (random, and sent only to the mail's recipient) marks anything, and only as bounced.
    if not bounce.failed:
        return (
            "A delivery-status notification that is not a failure (a delay or a delivery "
            "receipt): nothing to record."
        )
    for message_id in bounce.message_ids:
        mail = record_bounce(message_id, reason=bounce.reason, at=message.received_at)
        if mail is not None:
            return (
                f"A bounce: outgoing mail #{mail.pk} ({mail.template}) was not delivered. "
                f"{bounce.reason}"
            )
    return (
        "A bounce that names no mail of ours (no Message-ID of our outgoing mail in it); "
        f"nothing to record. {bounce.reason}"
    )


def _over_rate(sender: str, message: IntakeMessage) -> bool:
    limit = settings.INTAKE_REPORTS_PER_SENDER_PER_HOUR
    if not limit or not sender:
        return False
    # By when the mail arrived rather than now: an old archive imported at once is years of
    # mail, not a flood.
    made = Report.objects.filter(
        reporter__email_index__matches=sender,
        channel=Report.Channel.EMAIL,
        received_at__gt=message.received_at - RATE_WINDOW,
        received_at__lte=message.received_at,
    )
    return made.count() >= limit


def _acknowledgement_withheld(mail: EmailMessage, sender: str) -> str:
    precedence = _header(mail, "precedence").lower()
    if precedence in QUIET_PRECEDENCE:
        return f"Bulk or list mail (Precedence: {precedence})."
    for name in ("list-id", "list-unsubscribe"):
        if raw_header(mail, name):
            return f"Mailing-list mail ({name.title()})."
    suppress = set(re.split(r"[\s,]+", _header(mail, "x-auto-response-suppress").lower()))
    if suppress & SUPPRESSING:
        return "The sender asked for no automatic reply (X-Auto-Response-Suppress)."
    if _null_return_path(mail):
        return "The mail has no return path (Return-Path: <>)."
    if _acknowledged_lately(sender):
        return "The sender was sent an acknowledgement less than an hour ago."
    return ""


def _acknowledged_lately(sender: str) -> bool:
    """Whether an acknowledgement went to this address in the last hour, by mail or portal."""
    reports = Report.objects.filter(reporter__email_index__matches=sender).values("public_id")
    return OutgoingMail.objects.filter(
        template=ACKNOWLEDGEMENT_TEMPLATE,
        created_at__gte=timezone.now() - ACKNOWLEDGEMENT_INTERVAL,
        report_public_id__in=reports,
    ).exists()
