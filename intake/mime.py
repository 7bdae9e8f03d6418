"""Read a raw mail: its identity before anything else, then what a report is made of.

Mail is parsed with Python's ``email`` package and ``policy.default``, with limits the package
does not set itself: a mail of many MIME parts or deep nesting, or a header of megabytes, would
otherwise hold a poller for minutes (the header parser is quadratic). Anything that cannot
become a report raises ``MalformedMail`` with a reason staff can act on.
"""

import hashlib
import re
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

import nh3
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from reports.markdown import ALLOWED_URL_SCHEMES

MAX_PARTS = 100
# Headers read here are parsed by policy.default, whose cost grows with the square of a
# header's length: a few thousand characters is more than any real From or Subject needs.
MAX_HEADER_CHARS = 8_000
# As much as the portal's form takes for a description.
MAX_TEXT_CHARS = 50_000
TITLE_MAX_CHARS = 200
NO_TEXT = "(The mail has no text: the report is in its attachments.)"
TRUNCATED = "\n\n[The mail's text is cut here, at {limit:,} characters; the whole mail is kept.]"

_READ_HEADERS = (
    "from",
    "subject",
    "message-id",
    "date",
    "content-type",
    "content-disposition",
    "content-transfer-encoding",
)


_AS_RECEIVED = policy.default.clone(linesep="\r\n", refold_source="none")


class MalformedMail(Exception):
    """A mail that cannot become a report; the message says why, for staff."""


@dataclass(frozen=True)
class Envelope:
    """What is read from the headers alone, when the mail is recorded."""

    message_key: str
    sender: str
    subject: str
    date: datetime | None


@dataclass(frozen=True)
class MailedFile:
    name: str
    content: bytes
    declared_type: str


@dataclass(frozen=True)
class ReportMail:
    """What a report is made of: who sent it, its title and text, and its files."""

    sender: str
    sender_name: str
    subject: str
    text: str
    files: list[MailedFile] = field(default_factory=list)


def message_key(raw: bytes, message_id: str) -> str:
    """Name a mail for good: its Message-ID, or when it has none, its bytes.

    Line endings are normalised before hashing, so a mail saved to a file with LF line ends
    and the same mail fetched over IMAP with CRLF are one mail.
    """
    if message_id:
        digest = hashlib.sha256(message_id.encode("utf-8", "surrogateescape")).hexdigest()
        return f"message-id:{digest}"
    digest = hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()
    return f"sha256:{digest}"


def read_envelope(raw: bytes) -> Envelope:
    """Read a mail's identity, sender, subject and date from its headers; never raise.

    Sender and subject are only for the record staff see: the strict reading is
    ``read_report_mail``'s.
    """
    headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    message_id = _message_id(raw_header(headers, "message-id"))
    sender = subject = ""
    date = None
    # Best effort: a header the email package cannot read leaves that value empty here, and
    # processing records the reason.
    with suppress(Exception):
        sender = _sender(headers)[0]
    with suppress(Exception):
        subject = _subject(headers)[:255]
    raw_date = raw_header(headers, "date")
    if raw_date and len(raw_date) <= MAX_HEADER_CHARS:
        try:
            date = parsedate_to_datetime(raw_date)
        except (ValueError, TypeError, IndexError):
            date = None
        if date is not None and date.tzinfo is None:
            date = date.replace(tzinfo=UTC)  # "-0000": the sender's zone is unknown
    return Envelope(message_key(raw, message_id), sender, subject, date)


def read_report_mail(raw: bytes) -> ReportMail:
    """Read what a report is made of; raise MalformedMail saying why a mail cannot be one."""
    try:
        return _read_report_mail(raw)
    except MalformedMail:
        raise
    except Exception as error:
        # The email package has its own failures on hostile input (a header its parser trips
        # on); reading the same bytes again fails again, so this is the mail's fault, not ours.
        raise MalformedMail(
            f"The email package could not read it: {type(error).__name__}: {error}"
        ) from error


def _read_report_mail(raw: bytes) -> ReportMail:
    mail = parse_mail(raw)
    for part in iter_parts(mail):
        for name, value in part.raw_items():
            if name.lower() in _READ_HEADERS and len(value) > MAX_HEADER_CHARS:
                raise MalformedMail(
                    f"Its {name} header is {len(value):,} characters long; we read at most "
                    f"{MAX_HEADER_CHARS:,}."
                )
    sender, sender_name = _sender(mail)
    subject = _subject(mail)
    if not subject:
        raise MalformedMail("It has no Subject, which would be the report's title.")
    body = mail.get_body(preferencelist=("plain", "html"))
    text = _text_of(body) if body is not None else ""
    files = [_file_of(part, position) for position, part in enumerate(_attached(mail, body), 1)]
    if not text.strip() and not files:
        raise MalformedMail("It has neither text nor attachments.")
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS] + TRUNCATED.format(limit=MAX_TEXT_CHARS)
    return ReportMail(
        sender=sender,
        sender_name=sender_name,
        subject=_title(subject),
        text=text.strip() or NO_TEXT,
        files=files,
    )


def parse_mail(raw: bytes) -> EmailMessage:
    """Parse a whole mail within the limits above; raise MalformedMail past them."""
    count = 0

    class CountedMessage(EmailMessage):
        # The parser makes one message object per MIME part: counting them stops a mail of
        # a hundred thousand parts after the first hundred, before it costs a minute.
        def __init__(self, *args, **kwargs):
            nonlocal count
            count += 1
            if count > MAX_PARTS:
                raise MalformedMail(f"It has more than {MAX_PARTS} MIME parts.")
            super().__init__(*args, **kwargs)

    try:
        return BytesParser(CountedMessage, policy=policy.default).parsebytes(raw)
    except RecursionError:
        raise MalformedMail("Its MIME parts are nested too deeply to read.") from None


def iter_parts(mail: EmailMessage):
    """Yield every MIME part, without recursion (a forwarded mail inside is kept as a file,
    not read)."""
    pending = [mail]
    while pending:
        part = pending.pop()
        yield part
        if part.is_multipart():
            pending.extend(part.iter_parts())


def raw_header(message: EmailMessage, name: str) -> str:
    """A header as it came, unparsed (parsing a hostile one is slow); "" when missing."""
    for key, value in message.raw_items():
        if key.lower() == name:
            return value
    return ""


def _message_id(value: str) -> str:
    if len(value) > MAX_HEADER_CHARS:
        return ""
    found = re.search(r"<([^<>\s]+)>", value)
    if found:
        return found[1]
    value = value.strip()
    return value if value and not re.search(r"\s", value) else ""


def _sender(message: EmailMessage) -> tuple[str, str]:
    if len(raw_header(message, "from")) > MAX_HEADER_CHARS:
        raise MalformedMail("Its From header is too long to read.")
    header = message.get("From")
    addresses = getattr(header, "addresses", ()) if header is not None else ()
    if not addresses:
        raise MalformedMail("It has no From address, so there is nobody to make the report for.")
    address = addresses[0]
    email = (address.addr_spec or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise MalformedMail(f"Its From address {email!r} is not one we can write to.") from None
    return email, (address.display_name or "").strip()[:120]


def _subject(message: EmailMessage) -> str:
    if len(raw_header(message, "subject")) > MAX_HEADER_CHARS:
        raise MalformedMail("Its Subject header is too long to read.")
    return " ".join(str(message.get("Subject", "")).split())


def _title(subject: str) -> str:
    if len(subject) <= TITLE_MAX_CHARS:
        return subject
    return subject[: TITLE_MAX_CHARS - 1].rstrip() + "…"


def _text_of(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except LookupError:
        charset = part.get_content_charset()
        raise MalformedMail(
            f"Its text is in a character set we do not know: {charset!r}."
        ) from None
    if part.get_content_subtype() == "html":
        return html_to_text(content)
    return content


def _attached(mail: EmailMessage, body: EmailMessage | None) -> list[EmailMessage]:
    """The parts that are files: everything but the body and the text that goes with it."""
    found, pending = [], [mail]
    while pending:
        part = pending.pop(0)
        if part is body:
            continue
        if part.get_content_maintype() == "multipart":
            pending[:0] = list(part.iter_parts())
            continue
        is_file = (
            part.is_attachment()
            or part.get_filename()
            or part.get_content_maintype() not in ("text", "message")
            or part.get_content_type() == "message/rfc822"
        )
        # Inline text besides the body is its other form (the HTML of a plain-text mail) or a
        # footer a list added, not a file the researcher attached.
        if is_file:
            found.append(part)
    return found


def _file_of(part: EmailMessage, position: int) -> MailedFile:
    if part.get_content_type() == "message/rfc822":
        # A forwarded mail travels as a parsed message; as a file it is its bytes again.
        inner = part.get_payload(0)
        # Headers as they came: refolding would parse each long one again, at quadratic cost.
        content = inner.as_bytes(policy=_AS_RECEIVED)
        default_name = f"attached-mail-{position}.eml"
    else:
        content = part.get_payload(decode=True) or b""
        default_name = f"attachment-{position}"
    return MailedFile(
        name=part.get_filename() or default_name,
        content=content,
        declared_type=part.get_content_type(),
    )


# HTML-only mail becomes text through the sanitizer the desk uses everywhere (nh3), keeping
# only the tags that give text its shape; the small converter below then sees nothing but
# those, well-formed, and turns them into lines and paragraphs.
_PARAGRAPHS = frozenset(
    {"p", "ul", "ol", "table", "blockquote", "pre", "hr"} | {f"h{n}" for n in range(1, 7)}
)
_LINES = frozenset({"div", "li", "tr"})
_shape_only = nh3.Cleaner(
    tags=_PARAGRAPHS | _LINES | {"br", "a", "td", "th"},
    attributes={"a": {"href"}},
    url_schemes=ALLOWED_URL_SCHEMES,
    link_rel=None,
    strip_comments=True,
)


class _TextWriter(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.pending_breaks = 0
        self.prefix = ""
        self.in_pre = 0
        self.link: str | None = None
        self.link_text: list[str] = []

    def _break(self, tag):
        if tag in _PARAGRAPHS:
            self.pending_breaks = max(self.pending_breaks, 2)
        elif tag in _LINES:
            self.pending_breaks = max(self.pending_breaks, 1)

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.out.append("\n")
            return
        self._break(tag)
        if tag == "li":
            self.prefix = "- "
        elif tag == "pre":
            self.in_pre += 1
        elif tag in ("td", "th") and self.out:
            self.out.append(" ")
        elif tag == "a":
            self.link = dict(attrs).get("href")
            self.link_text = []

    def handle_endtag(self, tag):
        self._break(tag)
        if tag == "pre":
            self.in_pre = max(self.in_pre - 1, 0)
        elif tag == "a" and self.link is not None:
            # A link's address matters in a report (a proof of concept): keep it by its text.
            if self.link not in "".join(self.link_text):
                self.out.append(f" ({self.link})")
            self.link = None

    def handle_data(self, data):
        text = data if self.in_pre else re.sub(r"\s+", " ", data)
        if not self.in_pre and not text.strip():
            if self.out and not self.pending_breaks and not self.out[-1].endswith((" ", "\n")):
                self.out.append(" ")
            return
        if self.pending_breaks and self.out:
            self.out.append("\n" * self.pending_breaks)
        self.pending_breaks = 0
        if not self.in_pre and (not self.out or self.out[-1].endswith("\n")):
            text = text.lstrip()
        self.out.append(self.prefix + text)
        self.prefix = ""
        if self.link is not None:
            self.link_text.append(text)


def html_to_text(markup: str) -> str:
    """Return the text of an HTML mail: its paragraphs as lines, its links with their address."""
    writer = _TextWriter()
    writer.feed(_shape_only.clean(markup))
    writer.close()
    lines = [line.rstrip() for line in "".join(writer.out).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
