"""OpenPGP mail as a researcher's client sends it: PGP/MIME (RFC 3156) and inline PGP."""

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pysequoia
from django.utils import timezone
from pysequoia import Cert, SignatureMode

from tests.intake.mails import SENDER, SUBJECT, TEXT


def _headers(sender: str, subject: str) -> bytes:
    return (
        f"From: {sender}\r\n"
        "To: security@example.test\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {format_datetime(timezone.now())}\r\n"
        f"Message-ID: {make_msgid(domain='mail.example.test')}\r\n"
        "MIME-Version: 1.0\r\n"
    ).encode()


def entity(text: str = TEXT, attachments=()) -> bytes:
    """The MIME entity a client encrypts: a text part, and files as (name, bytes, type)."""
    part = EmailMessage()
    part.set_content(text)
    for name, content, content_type in attachments:
        maintype, subtype = content_type.split("/")
        part.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    del part["MIME-Version"]
    return bytes(part).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def pgp_mime_mail(
    to: Cert, *, inner: bytes | None = None, signer=None, sender=SENDER, subject=SUBJECT
) -> bytes:
    """A multipart/encrypted mail: the entity encrypted to ``to``, signed inside by ``signer``."""
    ciphertext = pysequoia.encrypt(bytes=inner or entity(), recipients=[to], signer=signer)
    return pgp_mime_wrapping(ciphertext, sender=sender, subject=subject)


def pgp_mime_wrapping(ciphertext: bytes, *, sender=SENDER, subject=SUBJECT) -> bytes:
    return (
        _headers(sender, subject)
        + b'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";\r\n'
        b' boundary="enc-boundary"\r\n'
        b"\r\n"
        b"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n"
        b"--enc-boundary\r\n"
        b"Content-Type: application/pgp-encrypted\r\n"
        b"Content-Description: PGP/MIME version identification\r\n"
        b"\r\n"
        b"Version: 1\r\n"
        b"\r\n"
        b"--enc-boundary\r\n"
        b'Content-Type: application/octet-stream; name="encrypted.asc"\r\n'
        b'Content-Disposition: inline; filename="encrypted.asc"\r\n'
        b"\r\n" + ciphertext.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n"
        b"--enc-boundary--\r\n"
    )


def signed_mail(signer, *, inner: bytes | None = None, tamper=None, sender=SENDER) -> bytes:
    """A multipart/signed mail (RFC 3156 section 5); ``tamper`` changes the text after signing."""
    signed = inner or entity()
    signature = pysequoia.sign(signer, signed, mode=SignatureMode.DETACHED)
    if tamper is not None:
        signed = tamper(signed)
    return (
        _headers(sender, SUBJECT) + b'Content-Type: multipart/signed; micalg="pgp-sha512";\r\n'
        b' protocol="application/pgp-signature"; boundary="sig-boundary"\r\n'
        b"\r\n"
        b"--sig-boundary\r\n" + signed + b"\r\n"
        b"--sig-boundary\r\n"
        b'Content-Type: application/pgp-signature; name="signature.asc"\r\n'
        b"\r\n" + signature.replace(b"\n", b"\r\n") + b"\r\n"
        b"--sig-boundary--\r\n"
    )


def inline_pgp_mail(to: Cert, *, text: str = TEXT, signer=None, sender=SENDER) -> bytes:
    """A plain text mail whose body is an armored message, as older clients send."""
    armored = pysequoia.encrypt(bytes=text.encode(), recipients=[to], signer=signer).decode()
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "security@example.test"
    mail["Subject"] = SUBJECT
    mail["Date"] = format_datetime(timezone.now())
    mail["Message-ID"] = make_msgid(domain="mail.example.test")
    mail.set_content(armored)
    return bytes(mail)
