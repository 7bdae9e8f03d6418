"""Mail in a report's thread: the researcher's reply, or someone else's mail held for staff.

A mail belongs to a report's thread when it is addressed to the report's reply address (the
intake address with a plus-tag holding the report's token, ``reports.emails.reply_address``),
or when its In-Reply-To or References name a mail the desk sent about the report (every
outgoing mail's Message-ID is kept in the outbox with its report's public id, and the report's
root Message-ID carries a digest of its token).

Either is only where the mail goes, never who may speak: the reply address and Message-IDs
travel in mail, can be forwarded, and In-Reply-To is written by whoever sends. Only a mail
from the researcher's own address (compared through the blind index) becomes their reply;
any other, a stranger's or another researcher's, is held (``HeldMail``) for staff, who attach
it to the report as an internal note or discard it. The researcher never sees a held mail.
"""

import re
from contextlib import suppress
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.history import audited
from accounts.models import User
from intake.mime import MAX_HEADER_CHARS, ReportMail
from intake.models import HeldMail, IntakeMessage
from outbox.models import OutgoingMail
from reports import emails as report_emails
from reports import services as report_services
from reports.models import Message, Report

REVIEW_PERMISSION = "intake.review_heldmail"
MatchedBy = HeldMail.MatchedBy
Decision = HeldMail.Decision

# Where a reply address may be found: a client puts Reply-To in To or Cc, a Bcc leaves it in
# the headers the delivering server adds.
_RECIPIENT_HEADERS = ("to", "cc", "delivered-to", "x-original-to", "envelope-to")
# A thread a hundred mails deep is deeper than any report's; more ids are not looked at.
MAX_REFERENCES = 100

# "On Mon, 1 Dec 2026 at 10:00, Bounty Desk <security@example.org> wrote:", as most clients
# write above the quoted mail, on one line or broken in two.
_ATTRIBUTION = re.compile(r"^\s*On\s.+\swrote:\s*$")


@dataclass(frozen=True)
class Filed:
    """What became of a mail in a report's thread: the researcher's reply, or held."""

    report: Report
    reply: Message | None = None
    held: HeldMail | None = None

    @property
    def note(self) -> str:
        if self.held is not None:
            return "Held for review: in the report's thread, but not from its researcher."
        return ""


def file_in_thread(message: IntakeMessage, mail: ReportMail) -> Filed | None:
    """File a mail in the thread of the report it answers, if it answers one; None if not.

    Runs inside ``process_message``'s transaction, before a mail is made a new report.
    """
    headers = _headers(message)
    found = _by_reply_address(headers)
    matched_by = MatchedBy.REPLY_ADDRESS
    if found is None:
        found = _by_threading(headers)
        matched_by = MatchedBy.THREADING
    if found is None:
        return None
    files = [
        SimpleUploadedFile(file.name, file.content, content_type=file.declared_type)
        for file in mail.files
    ]
    if report_services.is_researchers_address(found, mail.sender):
        reply = report_services.add_researcher_reply_by_mail(
            found,
            sender_email=mail.sender,
            body=without_quoted_reply(mail.text),
            files=files,
        )
        return Filed(found, reply=reply)
    held = HeldMail.objects.create(
        message=message,
        report=found,
        matched_by=matched_by,
        sender=mail.sender,
        subject=mail.subject,
        body=mail.text,
        file_names="\n".join(file.name for file in mail.files),
    )
    return Filed(found, held=held)


def _headers(message: IntakeMessage):
    # Read afresh: the body was read already, and the stored file does not open twice.
    raw = b"".join(message.raw.decrypted_chunks())
    return BytesHeaderParser(policy=policy.compat32).parsebytes(raw)


def _values(headers, name: str) -> list[str]:
    values = []
    for value in headers.get_all(name, []):
        value = str(value)
        if len(value) <= MAX_HEADER_CHARS:
            values.append(value)
    return values


def _by_reply_address(headers) -> Report | None:
    local, at, domain = settings.INTAKE_ADDRESS.strip().lower().rpartition("@")
    if not at or not local:
        return None
    values = [value for name in _RECIPIENT_HEADERS for value in _values(headers, name)]
    addresses = []
    with suppress(Exception):
        addresses = [address for _, address in getaddresses(values)]
    for address in addresses:
        their_local, _, their_domain = address.strip().lower().rpartition("@")
        base, plus, tag = their_local.partition("+")
        if plus and base == local and their_domain == domain:
            report = report_emails.report_for_reply_tag(tag)
            if report is not None:
                return report
    return None


def _by_threading(headers) -> Report | None:
    # The mail it answers first, then the thread from its newest mail back to its root.
    ids = []
    for value in _values(headers, "in-reply-to"):
        ids += re.findall(r"<[^<>\s]+>", value)
    for value in _values(headers, "references"):
        ids += reversed(re.findall(r"<[^<>\s]+>", value))
    ids = list(dict.fromkeys(ids))[:MAX_REFERENCES]
    if not ids:
        return None
    public_ids = dict(
        OutgoingMail.objects.filter(message_id__in=ids)
        .exclude(report_public_id="")
        .values_list("message_id", "report_public_id")
    )
    for message_id in ids:
        if message_id in public_ids:
            report = Report.objects.filter(public_id=public_ids[message_id]).first()
            if report is not None:
                return report
        report = report_emails.report_for_root_id(message_id)
        if report is not None:
            return report
    return None


def without_quoted_reply(text: str) -> str:
    """Drop the quoted mail a reply ends with ("On ... wrote:" and its "> " lines).

    Only a quote at the very end goes, with the line that introduces it: text written between
    quoted lines stays, and so does everything when nothing would be left. The raw mail keeps
    the whole of it.
    """
    lines = text.splitlines()
    end = len(lines)
    while end and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    if not any(line.lstrip().startswith(">") for line in lines[end:]):
        return text
    if end and _ATTRIBUTION.match(lines[end - 1]):
        end -= 1
    elif end >= 2 and _ATTRIBUTION.match(f"{lines[end - 2]} {lines[end - 1]}"):
        end -= 2
    kept = "\n".join(lines[:end]).rstrip()
    return kept or text


def _decide(held: HeldMail, *, acting_user: User, reason: str) -> tuple[HeldMail, str]:
    if not acting_user.has_perm(REVIEW_PERMISSION):
        raise PermissionDenied("Reviewing held mail needs its own permission.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why.", code="required")
    held = HeldMail.objects.select_for_update().get(pk=held.pk)
    if held.decision != Decision.PENDING:
        raise ValidationError("This mail has been decided on already.", code="decided")
    return held, reason


def _record_decision(held: HeldMail, decision: str, *, acting_user: User, reason: str) -> None:
    held.decision = decision
    held.decided_by = acting_user
    held.decided_at = timezone.now()
    held.reason = reason
    held.save(update_fields=["decision", "decided_by", "decided_at", "reason", "note"])


@audited
def attach_held_mail(held: HeldMail, *, acting_user: User, reason: str) -> Message:
    """Put a held mail on its report as an internal note, which the researcher never sees.

    Never as the researcher's reply: that it is not from their address is why it was held.
    Its files are not kept; their names are in the note, and the raw mail has them.
    """
    held, reason = _decide(held, acting_user=acting_user, reason=reason)
    files = f"\nFiles it carried (in its raw source): {held.file_names}" if held.file_names else ""
    body = (
        f"Mail from {held.sender}, held because it is not from the researcher's address; "
        f"attached by {acting_user.email}: {reason}\n"
        f"Subject: {held.subject}{files}\n\n{held.body}"
    )
    note = report_services.add_staff_message(
        held.report, acting_user=acting_user, body=body, public=False
    )
    held.note = note
    _record_decision(held, Decision.ATTACHED, acting_user=acting_user, reason=reason)
    return note


@audited
def discard_held_mail(held: HeldMail, *, acting_user: User, reason: str) -> HeldMail:
    """Leave a held mail off its report for good; the record and its raw mail stay."""
    held, reason = _decide(held, acting_user=acting_user, reason=reason)
    _record_decision(held, Decision.DISCARDED, acting_user=acting_user, reason=reason)
    return held


def pending_held_mail_count() -> int:
    """How many held mails wait for staff, for the mailbox status."""
    return HeldMail.objects.filter(decision=Decision.PENDING).count()
