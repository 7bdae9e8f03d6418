"""Mail as researchers send it, built with the email package, as bytes on the wire."""

import base64
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.utils import timezone

# The smallest valid PNG: a 1x1 transparent pixel.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
# A Windows program's first bytes: neither an accepted format nor UTF-8 text.
PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" * 8

SENDER = "Carol Mailer <carol@example.test>"
SUBJECT = "SSRF in the webhook tester"
TEXT = "The webhook tester fetches any URL.\n\n1. Open the tester.\n2. Give it http://169.254.169.254/."


def report_mail(
    *,
    sender=SENDER,
    to="security@example.test",
    subject=SUBJECT,
    text=TEXT,
    html=None,
    attachments=(),
    message_id=None,
    date=None,
    headers=(),
) -> bytes:
    """Return a mail as a researcher's client would send it; ``attachments`` are (name, bytes,
    type) triples."""
    mail = EmailMessage()
    if sender is not None:
        mail["From"] = sender
    mail["To"] = to
    if subject is not None:
        mail["Subject"] = subject
    mail["Date"] = format_datetime(date or timezone.now())
    if message_id is not False:
        mail["Message-ID"] = message_id or make_msgid(domain="mail.example.test")
    for name, value in headers:
        mail[name] = value
    if text is not None:
        mail.set_content(text)
    if html is not None:
        if text is None:
            mail.set_content(html, subtype="html")
        else:
            mail.add_alternative(html, subtype="html")
    for name, content, content_type in attachments:
        if content_type == "message/rfc822":
            # A forwarded mail travels as a message part, as mail clients attach it.
            mail.add_attachment(message_from_bytes(content, policy=policy.default), filename=name)
            continue
        maintype, subtype = content_type.split("/")
        mail.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return bytes(mail)


def nested_mail(*, depth: int, payload_bytes: int) -> bytes:
    """A mail of multiparts nested ``depth`` deep around ``payload_bytes`` of text."""
    lines = [f"From: {SENDER}", f"Subject: {SUBJECT}", "Message-ID: <nested@mail.example.test>"]
    lines.append("MIME-Version: 1.0")
    for level in range(depth):
        lines += [f'Content-Type: multipart/mixed; boundary="level{level}"', "", f"--level{level}"]
    lines += ["Content-Type: text/plain", "", "x" * payload_bytes]
    lines += [f"--level{level}--" for level in reversed(range(depth))]
    return "\r\n".join(lines).encode() + b"\r\n"


def wide_mail(*, parts: int) -> bytes:
    """A mail of ``parts`` sibling text parts."""
    lines = [f"From: {SENDER}", f"Subject: {SUBJECT}", "Message-ID: <wide@mail.example.test>"]
    lines += ["MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=sibling", ""]
    for _ in range(parts):
        lines += ["--sibling", "Content-Type: text/plain", "", "part"]
    lines.append("--sibling--")
    return "\r\n".join(lines).encode() + b"\r\n"
