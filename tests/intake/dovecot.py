"""A real IMAP server for the tests: Debian's Dovecot on free loopback ports, thrown away after.

One server runs for the test session with its own configuration, a self-signed certificate
made here with ``cryptography``, users in a passwd-file and their maildirs; each test gets a
user of its own, so mailboxes never mix. It listens for IMAP with STARTTLS and for IMAPS.

Its folder is made with ``tempfile`` rather than under pytest's ``tmp_path``: Dovecot's
unprivileged processes (users dovecot and dovenull when the tests run as root) must be able to
enter it, which pytest's private folders forbid, and its sockets' paths must stay shorter than
the 108 bytes a Unix socket's path may have.
"""

import getpass
import grp
import ipaddress
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from imapclient import IMAPClient

from intake.imap import tls_context

HOST = "127.0.0.1"
PACKAGE_HINT = "apt-get install dovecot-imapd"
USERS = 200


class DovecotUnavailable(Exception):
    """Dovecot is not installed here, or cannot run as this user; the message says why."""


def dovecot_binary() -> str:
    binary = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        raise DovecotUnavailable(
            f"Dovecot is not installed ({PACKAGE_HINT}, Debian's package; the tests start it "
            "themselves)"
        )
    return binary


def _accounts() -> dict[str, str]:
    """Who Dovecot's processes run as: its own users under root, else the user running tests."""
    if os.geteuid() != 0:
        me = getpass.getuser()
        return {"internal": me, "login": me, "mail": me}
    for name in ("dovecot", "dovenull"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            raise DovecotUnavailable(
                f"user {name} is missing, which dovecot-core creates ({PACKAGE_HINT})"
            ) from None
    return {"internal": "dovecot", "login": "dovenull", "mail": "dovecot"}


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _self_signed_certificate(cert_file: Path, key_file: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bounty Desk test IMAP server")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)


CONFIG = """\
protocols = imap
listen = {host}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = 0
first_valid_gid = 0
mail_uid = {mail}
mail_gid = {mail_group}
mail_location = maildir:{root}/mail/%u
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
auth_mechanisms = plain login
# Over TLS only (STARTTLS or IMAPS); loopback would count as secure, so say it plainly.
disable_plaintext_auth = yes
ssl_min_protocol = TLSv1.2
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = passwd-file
  args = {root}/users
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


@dataclass
class MailboxUser:
    name: str
    password: str


class Dovecot:
    def __init__(self):
        self.binary = dovecot_binary()
        self.accounts = _accounts()
        self.root = Path(tempfile.mkdtemp(prefix="bd-dovecot-"))
        self.root.chmod(0o755)
        self.imap_port, self.imaps_port = _free_ports(2)
        self.process: subprocess.Popen | None = None
        self._users: list[MailboxUser] = []

    @property
    def ca_file(self) -> str:
        return str(self.root / "cert.pem")

    @property
    def log(self) -> str:
        log = self.root / "dovecot.log"
        return log.read_text() if log.exists() else ""

    def start(self) -> None:
        _self_signed_certificate(self.root / "cert.pem", self.root / "key.pem")
        mail = self.root / "mail"
        mail.mkdir()
        mail_user = pwd.getpwnam(self.accounts["mail"])
        if os.geteuid() == 0:
            shutil.chown(mail, user=mail_user.pw_uid, group=mail_user.pw_gid)
        # Every user is there from the start: Dovecot re-reads a changed passwd-file, but not
        # reliably within the second it changed in.
        self._users = [
            MailboxUser(f"desk{number}", secrets.token_hex(8)) for number in range(1, USERS + 1)
        ]
        (self.root / "users").write_text(
            "".join(f"{user.name}:{{PLAIN}}{user.password}::::::\n" for user in self._users)
        )
        config = self.root / "dovecot.conf"
        config.write_text(
            CONFIG.format(
                host=HOST,
                root=self.root,
                internal=self.accounts["internal"],
                internal_group=_group_of(self.accounts["internal"]),
                login=self.accounts["login"],
                mail=self.accounts["mail"],
                mail_group=_group_of(self.accounts["mail"]),
                imap_port=self.imap_port,
                imaps_port=self.imaps_port,
            )
        )
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode(errors="replace")
                raise RuntimeError(f"Dovecot stopped at once:\n{output}\n{self.log}")
            try:
                for port in (self.imap_port, self.imaps_port):
                    socket.create_connection((HOST, port), timeout=1).close()
            except OSError:
                time.sleep(0.1)
                continue
            return
        self.stop()
        raise RuntimeError(f"Dovecot did not listen within 15 seconds:\n{self.log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process is not None:
            self.process.stdout.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def add_user(self) -> MailboxUser:
        """Hand out a user, with an empty mailbox, that no test had before."""
        if not self._users:
            raise RuntimeError(f"All {USERS} mailbox users are taken: raise USERS.")
        return self._users.pop(0)

    def url(self, user: MailboxUser, *, scheme="imaps", password=None, folder="INBOX") -> str:
        port = self.imaps_port if scheme == "imaps" else self.imap_port
        return f"{scheme}://{user.name}:{password or user.password}@{HOST}:{port}/{folder}"

    def client(self, user: MailboxUser) -> IMAPClient:
        """Sign in as ``user`` over IMAPS, trusting the test certificate (settings must say so)."""
        client = IMAPClient(HOST, port=self.imaps_port, ssl=True, ssl_context=tls_context())
        client.login(user.name, user.password)
        return client


def _group_of(user: str) -> str:
    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


class TestMailbox:
    """One test's mailbox on the server: deliver mail to it and look at it, as a mail client."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    def __init__(self, server: Dovecot, user: MailboxUser):
        self.server = server
        self.user = user

    def url(self, **kwargs) -> str:
        return self.server.url(self.user, **kwargs)

    def append(self, raw: bytes, folder: str = "INBOX") -> int:
        """Deliver a mail with IMAP APPEND, as a mail server's delivery would; return its UID."""
        with self.server.client(self.user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            response = client.append(folder, raw)
        return int(re.search(rb"APPENDUID \d+ (\d+)", response)[1])

    def uids(self, folder: str = "INBOX", criteria=("ALL",)) -> list[int]:
        with self.server.client(self.user) as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            return sorted(client.search(list(criteria)))

    def flags(self, uid: int, folder: str = "INBOX") -> set[bytes]:
        with self.server.client(self.user) as client:
            client.select_folder(folder, readonly=True)
            return set(client.get_flags([uid])[uid])

    def remove_flag(self, uid: int, flag: str, folder: str = "INBOX") -> None:
        with self.server.client(self.user) as client:
            client.select_folder(folder)
            client.remove_flags([uid], [flag])

    def raw(self, uid: int, folder: str = "INBOX") -> bytes:
        with self.server.client(self.user) as client:
            client.select_folder(folder, readonly=True)
            return client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
