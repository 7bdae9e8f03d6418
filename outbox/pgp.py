"""Mail to a researcher who gave an OpenPGP key goes out encrypted to it (RFC 3156 PGP/MIME).

The whole body, text and HTML, is encrypted at send time, and signed with the program's key
when it has one; the Subject stays readable, which holds only the public id and status (mail
carries no report content unless the program chose titles in mail). Mail to anyone else, or
to a researcher without a key, goes out as it was.
"""

from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase

import pysequoia
from django.core.mail import EmailMessage
from django.core.mail.message import SafeMIMEMultipart

from intake import pgp
from reports.models import Reporter

# Headers that describe the body: they go inside the encrypted part, the rest stay outside.
_CONTENT_HEADERS = ("content-type", "content-transfer-encoding", "content-disposition")


def recipient_key(address: str):
    """The public key of the researcher at this address, or None."""
    reporter = Reporter.objects.filter(email_index__matches=address).first()
    return pgp.sender_key(reporter)


class _PgpMimeMail(EmailMessage):
    """A Django mail whose body is replaced by its PGP/MIME encryption when it is rendered."""

    def __init__(self, inner: EmailMessage, cert):
        super().__init__(
            subject=inner.subject,
            from_email=inner.from_email,
            to=inner.to,
            cc=inner.cc,
            bcc=inner.bcc,
            reply_to=inner.reply_to,
            headers=inner.extra_headers,
            connection=inner.connection,
        )
        self._inner = inner
        self._cert = cert

    def message(self):
        clear = self._inner.message()
        entity = MIMEBase(*clear.get_content_type().split("/"))
        for name, value in clear.items():
            if name.lower() in _CONTENT_HEADERS:
                del entity[name]
                entity[name] = value
        entity.set_payload(clear.get_payload())
        # Signed with what is encrypted, inside (RFC 3156 section 6.2), when the program has a key.
        # Canonical CRLF line ends inside, as RFC 3156 asks of what is encrypted.
        plain = entity.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        ciphertext = pysequoia.encrypt(
            bytes=plain,
            recipients=[self._cert],
            signer=pgp.program_signer(),
        )
        outer = SafeMIMEMultipart(
            _subtype="encrypted", protocol="application/pgp-encrypted", encoding=self.encoding
        )
        control = MIMEApplication(b"Version: 1\n", "pgp-encrypted", _encoder=_seven_bit)
        control["Content-Description"] = "PGP/MIME version identification"
        body = MIMEApplication(
            ciphertext, "octet-stream", _encoder=_seven_bit, name="encrypted.asc"
        )
        body["Content-Description"] = "OpenPGP encrypted message"
        body["Content-Disposition"] = 'inline; filename="encrypted.asc"'
        outer.attach(control)
        outer.attach(body)
        for name, value in clear.items():
            if name.lower() not in _CONTENT_HEADERS and name.lower() != "mime-version":
                outer[name] = value
        return outer


def _seven_bit(part):
    # Armored text is ASCII already: sent as it is, readable in the raw mail.
    payload = part.get_payload()
    part.set_payload(payload.decode("ascii") if isinstance(payload, bytes) else payload)
    part["Content-Transfer-Encoding"] = "7bit"


def encrypt_for(recipient: str, message: EmailMessage) -> EmailMessage:
    """The message as it should go to ``recipient``: encrypted if they gave a key, else as is."""
    cert = recipient_key(recipient)
    if cert is None:
        return message
    return _PgpMimeMail(message, cert)
