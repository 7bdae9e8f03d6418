"""The intake mailbox on an IMAP server: its URL, a connection over TLS, and how mail is settled.

``INTAKE_IMAP_URL`` names the mailbox as ``imaps://user:password@host:993/INBOX`` (TLS from
the first byte) or ``imap://user:password@host:143/INBOX`` (STARTTLS, required: a server that
does not offer it is refused, so the password never crosses the network in clear). User and
password are percent-encoded where they hold ``@ : / ? #`` or ``%``.

A processed mail is *settled*: moved to ``INTAKE_PROCESSED_FOLDER`` when that is set, or else
given the keyword ``$BountyDeskIntake`` (``\\Seen`` on a server that keeps no keywords), so
that the next poll asks the server only for mail not settled yet.
"""

import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.conf import settings
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

KEYWORD = "$BountyDeskIntake"
SEEN = "\\Seen"
DEFAULT_PORTS = {"imaps": 993, "imap": 143}
DEFAULT_FOLDER = "INBOX"


class InvalidMailboxURL(ValueError):
    """INTAKE_IMAP_URL does not name a mailbox we can use; the message says what is wrong."""


@dataclass(frozen=True)
class MailboxURL:
    scheme: str
    host: str
    port: int
    username: str
    password: str
    folder: str

    @property
    def implicit_tls(self) -> bool:
        return self.scheme == "imaps"

    @property
    def name(self) -> str:
        """Name the mailbox in records and logs, without its password."""
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"

    def __repr__(self):
        # The password stays out of tracebacks and logs.
        return f"MailboxURL({self.scheme}://{self.name})"


def parse_mailbox_url(url: str) -> MailboxURL:
    """Read INTAKE_IMAP_URL; raise InvalidMailboxURL saying what is wrong, never the password."""
    example = "imaps://user:password@imap.example.org:993/INBOX"
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        # Not the parser's own words: they can quote a piece of the password.
        raise InvalidMailboxURL(
            f"it is not a URL we can read; write it as {example}, percent-encoding "
            "@ : / ? # and % in the user and password"
        ) from None
    if parts.scheme not in DEFAULT_PORTS:
        raise InvalidMailboxURL(
            f"the scheme must be imaps:// (TLS) or imap:// (STARTTLS), not "
            f"{parts.scheme + '://' if parts.scheme else 'none'}; write it as {example}"
        )
    if parts.query or parts.fragment:
        raise InvalidMailboxURL(
            "it has a ? or # part: percent-encode those characters in the password "
            "(%3F for ?, %23 for #)"
        )
    if not parts.hostname:
        raise InvalidMailboxURL(f"it names no server; write it as {example}")
    if not parts.username or parts.password is None:
        raise InvalidMailboxURL(
            f"it needs the mailbox's user and password; write it as {example}, "
            "percent-encoding @ : / ? # and % in them"
        )
    folder = unquote(parts.path.lstrip("/")) or DEFAULT_FOLDER
    return MailboxURL(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or DEFAULT_PORTS[parts.scheme],
        username=unquote(parts.username),
        password=unquote(parts.password),
        folder=folder,
    )


def configured_mailbox() -> MailboxURL | None:
    """Return the intake mailbox from the settings, or None when intake is off."""
    if not settings.INTAKE_IMAP_URL:
        return None
    return parse_mailbox_url(settings.INTAKE_IMAP_URL)


def tls_context() -> ssl.SSLContext:
    """Verify the server's certificate and name, against INTAKE_IMAP_CA_FILE if it is set."""
    return ssl.create_default_context(cafile=settings.INTAKE_IMAP_CA_FILE or None)


@contextmanager
def connect(url: MailboxURL) -> Iterator[IMAPClient]:
    """Sign in to the mailbox's server over TLS and log out afterwards."""
    context = tls_context()
    client = IMAPClient(
        url.host,
        port=url.port,
        ssl=url.implicit_tls,
        ssl_context=context,
        timeout=settings.INTAKE_IMAP_TIMEOUT,
    )
    try:
        if not url.implicit_tls:
            if b"STARTTLS" not in client.capabilities():
                raise IMAPClientError(
                    f"{url.host} does not offer STARTTLS: use imaps:// or a server with TLS"
                )
            client.starttls(context)
        # Times as the server sent them, with their offset, rather than in local time.
        client.normalise_times = False
        client.login(url.username, url.password)
        yield client
    finally:
        with suppress(IMAPClientError, OSError):
            client.logout()


class Settler:
    """Find the mail of a folder not settled yet, and settle a mail once it is processed."""

    def __init__(self, client: IMAPClient, select_info: dict, processed_folder: str):
        self.client = client
        self.processed_folder = processed_folder
        permanent = select_info.get(b"PERMANENTFLAGS", ())
        # "\*" in PERMANENTFLAGS: the server keeps keywords a client makes up.
        self.flag = KEYWORD if b"\\*" in permanent else SEEN
        if processed_folder and not client.folder_exists(processed_folder):
            client.create_folder(processed_folder)

    def unsettled(self) -> list[int]:
        """Return the UIDs of the folder's mail that is not settled yet, oldest first."""
        if self.processed_folder:
            criteria = ["NOT", "DELETED"]
        elif self.flag == KEYWORD:
            criteria = ["UNKEYWORD", KEYWORD, "NOT", "DELETED"]
        else:
            criteria = ["UNSEEN", "NOT", "DELETED"]
        return sorted(self.client.search(criteria))

    def settle(self, uid: int) -> None:
        if not self.processed_folder:
            self.client.add_flags([uid], [self.flag])
        elif self.client.has_capability("MOVE"):
            self.client.move([uid], self.processed_folder)
        else:
            self.client.copy([uid], self.processed_folder)
            self.client.add_flags([uid], ["\\Deleted"])
            if self.client.has_capability("UIDPLUS"):
                self.client.uid_expunge([uid])
            else:
                self.client.expunge()
