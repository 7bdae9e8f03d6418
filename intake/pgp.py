"""OpenPGP on intake: the program's key, and mail decrypted and its signature checked.

Sequoia through pysequoia does the cryptography in-process: no gpg binary, keyring or agent
to run beside the workers. Two forms of encrypted mail are read: PGP/MIME (RFC 3156,
multipart/encrypted) and inline PGP (a ``-----BEGIN PGP MESSAGE-----`` block in a text part).
Signatures are checked against the one key the desk holds for the sender's address (the
researcher's ``pgp_public_key``), so "good" means "made by the key this researcher gave us",
never "made by some key".

A mail that is encrypted and cannot be decrypted raises ``MalformedMail``: its raw source is
kept, and the reason says what to do.
"""

import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pysequoia
from django.db import transaction
from django.utils import timezone
from pysequoia import Cert, Tsk
from pysequoia.packet import PacketPile

from intake.mime import MalformedMail
from intake.models import ProgramKey, Signature

ARMORED_MESSAGE = re.compile(
    rb"-----BEGIN PGP MESSAGE-----\r?\n.*?-----END PGP MESSAGE-----", re.DOTALL
)
_CONTENT_HEADER = re.compile(rb"^(content-[a-z-]+|mime-version)\s*:", re.IGNORECASE)


class KeyRefused(ValueError):
    """A key that cannot serve: not OpenPGP, no encryption subkey, or protected by a passphrase."""


@dataclass(frozen=True)
class Opened:
    """A mail as the desk reads it: decrypted when it was encrypted, with its signature's say."""

    raw: bytes
    encrypted: bool
    signature: str
    signature_key: str = ""


def _reason(error: Exception) -> str:
    # Sequoia's errors carry a Rust backtrace after their first line: only that line says why.
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


# The program's key --------------------------------------------------------------------------


def _encryption_subkeys(cert: Cert) -> list[str]:
    """Fingerprints of the keys of a certificate that may encrypt (for transport or storage)."""
    fingerprints, last_key = [], None
    for packet in PacketPile.from_bytes(bytes(cert)):
        if packet.fingerprint is not None:
            last_key = packet.fingerprint
            continue
        flags = packet.key_flags
        encrypts = flags is not None and (flags.transport_encryption or flags.storage_encryption)
        if last_key and encrypts:
            fingerprints.append(last_key)
    return sorted(set(fingerprints))


def read_public_key(text: str) -> Cert:
    """Parse one public key that mail can be encrypted to, or raise ``KeyRefused`` saying why."""
    data = text.strip().encode("utf-8", "replace")
    if not data:
        raise KeyRefused("Paste an OpenPGP public key.")
    if b"PRIVATE KEY" in data:
        raise KeyRefused("That is a secret key: give only the public key, and keep that one.")
    try:
        certs = Cert.split_bytes(data)
    except Exception as error:
        raise KeyRefused(f"That is not an OpenPGP public key ({_reason(error)}).") from None
    if len(certs) != 1:
        raise KeyRefused("Give exactly one OpenPGP public key.")
    cert = certs[0]
    if _holds_secrets(data):
        raise KeyRefused("That is a secret key: give only the public key, and keep that one.")
    if cert.is_revoked:
        raise KeyRefused("That key is revoked.")
    if cert.expiration is not None and cert.expiration <= timezone.now():
        raise KeyRefused("That key has expired.")
    if not _encryption_subkeys(cert):
        raise KeyRefused(
            "That key has no subkey for encryption, so mail cannot be encrypted to it."
        )
    return cert


def _holds_secrets(data: bytes) -> bool:
    tags = {str(packet.tag) for packet in PacketPile.from_bytes(data)}
    return bool(tags & {"Tag.SecretKey", "Tag.SecretSubkey"})


def armored_public_key(cert: Cert) -> str:
    """The public part only, checked packet by packet, so no secret can ride along."""
    if _holds_secrets(bytes(cert)):
        raise KeyRefused("The public key still holds secret parts.")
    return str(cert)


def _usable_secret_key(data: bytes) -> Tsk:
    try:
        tsk = Tsk.from_bytes(data)
    except Exception as error:
        raise KeyRefused(f"That is not an OpenPGP secret key ({_reason(error)}).") from None
    if not _holds_secrets(bytes(tsk)):
        raise KeyRefused("That is a public key: the program's key needs its secret part.")
    public = tsk.extract_certificate()
    if not _encryption_subkeys(public):
        raise KeyRefused("That key has no subkey for encryption.")
    # A round trip proves the secret decrypts without a passphrase, which a worker has no way
    # to type.
    try:
        probe = pysequoia.encrypt(bytes=b"probe", recipients=[public])
        if pysequoia.decrypt(bytes=probe, decryptor=tsk.decryptor()).bytes != b"probe":
            raise KeyRefused("The key does not decrypt what is encrypted to it.")
    except KeyRefused:
        raise
    except Exception as error:
        raise KeyRefused(
            "The key's secret part cannot be used as it is (is it protected by a passphrase? "
            f"Remove it before importing): {_reason(error)}"
        ) from None
    return tsk


@transaction.atomic
def _keep(tsk: Tsk) -> ProgramKey:
    public = tsk.extract_certificate()
    fingerprint = public.fingerprint.lower()
    if ProgramKey.objects.filter(fingerprint=fingerprint).exists():
        raise KeyRefused(f"The key {fingerprint.upper()} is the program's already.")
    now = timezone.now()
    # The active key is retired, not deleted: mail encrypted to it must still open.
    ProgramKey.objects.select_for_update().filter(is_active=True).update(
        is_active=False, retired_at=now
    )
    return ProgramKey.objects.create(
        fingerprint=fingerprint,
        public_key=armored_public_key(public),
        secret_key=str(tsk),
        created_at=now,
    )


def generate_program_key(user_id: str) -> ProgramKey:
    """Make a new key (Curve25519, no expiry) and make it the program's; the old one retires."""
    return _keep(Tsk.generate(user_id))


def import_program_key(data: bytes) -> ProgramKey:
    """Make an existing secret key the program's, after checking it can decrypt unattended."""
    return _keep(_usable_secret_key(data))


def active_program_key() -> ProgramKey | None:
    return ProgramKey.objects.filter(is_active=True).first()


def program_signer():
    """The active key's signer, to sign what the desk sends; None when there is no key."""
    key = active_program_key()
    return Tsk.from_bytes(key.secret_key.encode()).signer() if key else None


# Reading mail -------------------------------------------------------------------------------


def _decrypt(armored: bytes, sender_cert: Cert | None) -> tuple[bytes, str, str]:
    """Decrypt with the program's keys, newest first; return (plaintext, signature, key)."""
    keys = list(ProgramKey.objects.order_by("-is_active", "-created_at"))
    if not keys:
        raise MalformedMail(
            "The mail is OpenPGP-encrypted and the program has no key: run "
            "`manage.py program_pgp_key import FILE` with the key it was encrypted to."
        )
    last_error = None
    for key in keys:
        decryptor = Tsk.from_bytes(key.secret_key.encode()).decryptor()
        try:
            return _decrypt_with(armored, decryptor, sender_cert)
        except Exception as error:
            last_error = error
    raise MalformedMail(
        "The mail is OpenPGP-encrypted and none of the program's keys decrypts it "
        f"({_reason(last_error)}); the raw source is kept."
    )


def _decrypt_with(armored: bytes, decryptor, sender_cert: Cert | None) -> tuple[bytes, str, str]:
    asked: list[str] = []

    def store(key_ids):
        asked.extend(key_id.lower() for key_id in key_ids)
        return [sender_cert] if sender_cert is not None else []

    try:
        decrypted = pysequoia.decrypt(bytes=armored, decryptor=decryptor, store=store)
    except RuntimeError as error:
        if "signature verification failed" not in str(error).lower():
            raise
        # Decrypted, and no signature checked out: none was there (the store was never asked
        # for a key), or it was not good. The text is read all the same, and that is said.
        plain = pysequoia.decrypt(bytes=armored, decryptor=decryptor).bytes
        if not asked:
            return plain, Signature.UNSIGNED, ""
        return plain, *_failed_signature(asked, sender_cert)
    return decrypted.bytes, Signature.GOOD, decrypted.valid_sigs[0].certificate.lower()


def _failed_signature(asked: list[str], sender_cert: Cert | None) -> tuple[str, str]:
    """A signature that did not verify: bad if the sender's key made it, else an unknown key."""
    if sender_cert is not None:
        packets = PacketPile.from_bytes(bytes(sender_cert))
        own = {packet.fingerprint.lower() for packet in packets if packet.fingerprint}
        for key_id in asked:
            if any(fingerprint.endswith(key_id) for fingerprint in own):
                return Signature.BAD, key_id
    return Signature.UNKNOWN_KEY, asked[0] if asked else ""


def _verify_detached(signed: bytes, signature: bytes, sender_cert: Cert | None) -> tuple[str, str]:
    try:
        sig = pysequoia.Sig.from_bytes(signature)
    except Exception:
        return Signature.BAD, ""
    issuer = (sig.issuer_fingerprint or sig.issuer_key_id or "").lower()
    try:
        result = pysequoia.verify(
            bytes=signed,
            store=lambda key_ids: [sender_cert] if sender_cert is not None else [],
            signature=sig,
        )
    except Exception:
        return _failed_signature([issuer] if issuer else [], sender_cert)
    return Signature.GOOD, result.valid_sigs[0].certificate.lower()


def _split_headers(raw: bytes) -> tuple[bytes, bytes]:
    raw = raw.replace(b"\r\n", b"\n")
    head, _, body = raw.partition(b"\n\n")
    return head + b"\n", body


def _envelope_headers(head: bytes, *, also_skip: tuple[bytes, ...] = ()) -> bytes:
    """The mail's own headers (From, Subject, Message-ID ...), without its content headers."""
    kept, skipping = [], False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        name = line.partition(b":")[0].strip().lower()
        skipping = bool(_CONTENT_HEADER.match(line)) or name in also_skip
        if not skipping:
            kept.append(line)
    return b"".join(kept)


def _with_entity(head: bytes, entity: bytes) -> bytes:
    """The mail with its body replaced by a decrypted or verified MIME entity."""
    entity = entity.replace(b"\r\n", b"\n")
    if not re.match(rb"^[A-Za-z-]+\s*:", entity):
        entity = b"Content-Type: text/plain; charset=utf-8\n\n" + entity
    # Protected headers: a client that hides the subject (Thunderbird sends "...") puts the real
    # one inside the encrypted part, and that one is the report's title.
    entity_head = entity.partition(b"\n\n")[0]
    protected = (b"subject",) if re.search(rb"(?im)^subject\s*:", entity_head) else ()
    return _envelope_headers(head, also_skip=protected) + b"MIME-Version: 1.0\n" + entity


def _parts_of(body: bytes, boundary: str) -> list[bytes]:
    """The raw parts of a multipart body, byte for byte, as a signature covers them."""
    delimiter = b"\n--" + boundary.encode("ascii", "replace")
    chunks = (b"\n" + body).split(delimiter)
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        parts.append(chunk.partition(b"\n")[2])
    return parts


def _canonical(entity: bytes) -> bytes:
    # RFC 3156 section 5: what is signed is the part with CRLF line ends; the line end before
    # the next boundary belongs to the boundary, and _parts_of has left it out already.
    return entity.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _open_signed(
    head: bytes, body: bytes, mail: EmailMessage, sender_cert
) -> tuple[bytes, str, str]:
    parts = _parts_of(body, mail.get_boundary() or "")
    if len(parts) != 2:
        raise MalformedMail("The mail says it is OpenPGP-signed but is not two parts.")
    signed, signature_part = parts
    signature = _part_payload(signature_part)
    status, key = _verify_detached(_canonical(signed), signature, sender_cert)
    return _with_entity(head, signed), status, key


def _part_payload(part: bytes) -> bytes:
    parsed = BytesParser(policy=policy.default).parsebytes(part)
    payload = parsed.get_payload(decode=True)
    return payload or b""


def _open_pgp_mime(head: bytes, body: bytes, mail: EmailMessage, sender_cert) -> Opened:
    parts = _parts_of(body, mail.get_boundary() or "")
    if len(parts) != 2:
        raise MalformedMail("The mail says it is PGP/MIME-encrypted but is not two parts.")
    armored = _part_payload(parts[1])
    if not armored:
        raise MalformedMail("The mail says it is PGP/MIME-encrypted but carries no message.")
    plain, status, key = _decrypt(armored, sender_cert)
    opened = _with_entity(head, plain)
    # Signed, then encrypted (RFC 3156 section 6.1): the decrypted part is multipart/signed.
    inner = BytesParser(policy=policy.default).parsebytes(opened)
    if status == Signature.UNSIGNED and inner.get_content_type() == "multipart/signed":
        inner_head, inner_body = _split_headers(opened)
        opened, status, key = _open_signed(inner_head, inner_body, inner, sender_cert)
    return Opened(opened, encrypted=True, signature=status, signature_key=key)


def _open_inline(mail: EmailMessage, sender_cert) -> Opened | None:
    statuses: list[tuple[str, str]] = []
    for part in mail.walk():
        if part.get_content_type() != "text/plain" or part.is_attachment():
            continue
        content = part.get_payload(decode=True) or b""
        if b"-----BEGIN PGP MESSAGE-----" not in content:
            continue

        def opened(match):
            plain, status, key = _decrypt(match.group(0), sender_cert)
            statuses.append((status, key))
            return plain

        text = ARMORED_MESSAGE.sub(opened, content.replace(b"\r\n", b"\n"))
        part.set_content(text.decode("utf-8", "replace"))
    if not statuses:
        return None
    # The weakest word stands for the whole mail: one unsigned block makes the mail unsigned.
    order = [Signature.BAD, Signature.UNKNOWN_KEY, Signature.UNSIGNED, Signature.GOOD]
    status, key = min(statuses, key=lambda found: order.index(found[0]))
    return Opened(bytes(mail), encrypted=True, signature=status, signature_key=key)


def open_mail(raw: bytes, sender_cert: Cert | None) -> Opened:
    """Decrypt an encrypted mail and check its signature; a plain mail comes back as it is."""
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    head, body = _split_headers(raw)
    content_type = mail.get_content_type()
    if content_type == "multipart/encrypted":
        return _open_pgp_mime(head, body, mail, sender_cert)
    if content_type == "multipart/signed":
        opened, status, key = _open_signed(head, body, mail, sender_cert)
        return Opened(opened, encrypted=False, signature=status, signature_key=key)
    if b"-----BEGIN PGP MESSAGE-----" in raw:
        inline = _open_inline(mail, sender_cert)
        if inline is not None:
            return inline
    return Opened(raw, encrypted=False, signature=Signature.UNSIGNED)


def sender_key(reporter) -> Cert | None:
    """The public key a researcher gave, to check their signatures; None without one."""
    if reporter is None or not reporter.pgp_public_key:
        return None
    try:
        return Cert.from_bytes(reporter.pgp_public_key.encode())
    except Exception:
        return None


def signature_note(opened: Opened) -> str:
    """The internal note on a report made from OpenPGP mail, for staff."""
    if opened.encrypted:
        what = "The mail was OpenPGP-encrypted and decrypted on intake."
    else:
        what = "The mail was OpenPGP-signed, not encrypted."
    label = Signature(opened.signature).label
    key = f" (key {opened.signature_key.upper()})" if opened.signature_key else ""
    return f"{what} Signature: {label}{key}."
