"""Recognise a bounce, a mail server's notice that a mail of ours was not delivered.

The standard shape is a delivery-status notification (RFC 3464): ``multipart/report;
report-type=delivery-status`` with a human part, a ``message/delivery-status`` part of
per-recipient fields (Action, Status, Diagnostic-Code) and the returned mail or its headers
(``message/rfc822`` or ``text/rfc822-headers``). Postfix, Exim, Gmail, Microsoft 365 and most
others send that. Older servers (qmail's "failure notice", Exim's plain "Mail delivery
failed") send text from MAILER-DAEMON with the returned mail quoted in it; both carry the
Message-ID of the mail they return, which is how the bounce is matched to our outgoing mail.
"""

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import HeaderParser
from email.policy import default as default_policy

from intake.mime import MAX_HEADER_CHARS, iter_parts, raw_header

# Who sends bounces without the standard shape, by the local part of their address.
BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon"})
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned mail|delivery (status notification|failure|has failed)|"
    r"mail delivery (failed|failure|subsystem)|failure notice|could not be delivered",
    re.IGNORECASE,
)
_ANGLED = re.compile(r"<[^<>\s]+>")
_MESSAGE_ID_LINE = re.compile(r"^[ >]*message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
# A failed recipient's reason is shown to staff; a remote server's text needs no more.
MAX_REASON_CHARS = 500
MAX_SCANNED_CHARS = 200_000


@dataclass(frozen=True)
class Bounce:
    """What a bounce says: the Message-IDs it returns, whether delivery failed for good, why."""

    message_ids: list[str]
    failed: bool
    reason: str


def read_bounce(mail: EmailMessage, *, sender: str, null_return_path: bool) -> Bounce | None:
    """Return what the mail says as a bounce, or None when it is not one."""
    if (
        mail.get_content_type() == "multipart/report"
        and str(mail.get_param("report-type", "")).lower() == "delivery-status"
    ):
        return _delivery_status_notification(mail)
    local_part = sender.partition("@")[0]
    subject = _field(mail, "subject")
    if local_part in BOUNCE_SENDERS or (null_return_path and _BOUNCE_SUBJECT.search(subject)):
        text = _texts(mail)
        return Bounce(
            message_ids=_quoted_message_ids(mail, text),
            failed=True,
            reason=_first_lines(text) or subject,
        )
    return None


def _delivery_status_notification(mail: EmailMessage) -> Bounce:
    actions, reasons = [], []
    for part in iter_parts(mail):
        if part.get_content_type() != "message/delivery-status":
            continue
        # The email package reads the part as header blocks: the message's, then one for
        # each recipient.
        for block in part.get_payload()[1:]:
            action = _field(block, "action").lower()
            actions.append(action)
            if action == "failed":
                status = _field(block, "status")
                diagnostic = _field(block, "diagnostic-code")
                reasons.append(f"{status} {diagnostic}".strip() or "failed")
    failed = "failed" in actions
    reason = "; ".join(reasons) if reasons else ", ".join(sorted(set(actions) - {""}))
    return Bounce(
        message_ids=_quoted_message_ids(mail, _texts(mail)),
        failed=failed,
        reason=(reason or _first_lines(_texts(mail)))[:MAX_REASON_CHARS],
    )


def _quoted_message_ids(mail: EmailMessage, text: str) -> list[str]:
    """The Message-IDs of the returned mail: its own headers first, then any quoted in text."""
    found = []
    for part in iter_parts(mail):
        kind = part.get_content_type()
        if kind == "message/rfc822":
            found.append(_field(part.get_payload(0), "message-id"))
        elif kind == "text/rfc822-headers":
            quoted = _content(part)[:MAX_SCANNED_CHARS]
            headers = HeaderParser(policy=default_policy).parsestr(quoted)
            found.append(_field(headers, "message-id"))
    found += _MESSAGE_ID_LINE.findall(text)
    ids = [match[0] for value in found if (match := _ANGLED.search(value))]
    return list(dict.fromkeys(ids))


def _field(headers, name: str) -> str:
    """A header's value as it came, unfolded; unparsed, so a hostile one costs nothing."""
    value = raw_header(headers, name)[:MAX_HEADER_CHARS]
    return " ".join(value.split())


def _texts(mail: EmailMessage) -> str:
    """The bounce's own text parts, where older servers quote the returned mail."""
    texts = []
    for part in iter_parts(mail):
        if part.get_content_type() in ("text/plain", "text/rfc822-headers"):
            texts.append(_content(part))
    return "\n".join(texts)[:MAX_SCANNED_CHARS]


def _content(part: EmailMessage) -> str:
    try:
        return str(part.get_content())
    except (LookupError, ValueError):
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace")


def _first_lines(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines[:4])[:MAX_REASON_CHARS]
