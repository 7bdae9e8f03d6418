"""Mail to a researcher who gave an OpenPGP key leaves encrypted (PGP/MIME), checked on the wire
of a real SMTP server and opened with the researcher's own secret key."""

from email import message_from_bytes, policy

import pysequoia
import pytest
from pysequoia import Cert, Tsk

from intake import pgp
from outbox import services
from outbox.models import OutgoingMail
from tests.factories import ReporterFactory, UserFactory
from tests.intake.smtp import HOST, SMTPServer

pytestmark = pytest.mark.django_db

ADDRESS = "alice@example.test"


@pytest.fixture
def smtp_server(settings):
    server = SMTPServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = HOST, server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield server
    server.stop()


@pytest.fixture
def alice_key() -> Tsk:
    key = Tsk.generate("Alice <alice@example.test>")
    ReporterFactory(user=UserFactory(email=ADDRESS), pgp_public_key=str(key.extract_certificate()))
    return key


def _send(to=ADDRESS) -> OutgoingMail:
    queued = services.queue_mail(
        to=to,
        template="report_new_message",
        context={"public_id": "VR-TEST", "title": "Fish & chips", "status": "Triaged"},
        report_public_id="VR-TEST",
    )
    assert services.deliver_mail(queued.pk) is True
    queued.refresh_from_db()
    return queued


def _decrypt(delivered, key: Tsk, *, store=None):
    outer = delivered.message
    _control, body = outer.iter_parts()
    assert body.get_content_type() == "application/octet-stream"
    return pysequoia.decrypt(
        bytes=body.get_payload(decode=True), decryptor=key.decryptor(), store=store
    )


def test_mail_to_a_researcher_with_a_key_arrives_encrypted_and_opens_with_their_key(
    smtp_server, alice_key
):
    queued = _send()

    [delivered] = smtp_server.received
    outer = delivered.message
    assert outer.get_content_type() == "multipart/encrypted"
    assert outer.get_param("protocol") == "application/pgp-encrypted"
    control, _body = outer.iter_parts()
    assert control.get_content_type() == "application/pgp-encrypted"
    assert control.get_payload(decode=True).strip() == b"Version: 1"
    assert b"VR-TEST" not in delivered.data.split(b"\r\n\r\n", 1)[1]
    assert outer["Message-ID"] == queued.message_id
    assert outer["To"] == ADDRESS

    inner = message_from_bytes(_decrypt(delivered, alice_key).bytes, policy=policy.default)
    assert inner.get_content_type() == "multipart/alternative"
    text = inner.get_body(preferencelist=("plain",)).get_content()
    assert "VR-TEST" in text


def test_the_encrypted_mail_is_signed_by_the_programs_key(smtp_server, alice_key):
    program_key = pgp.generate_program_key("Security <security@example.test>")
    program_cert = Cert.from_bytes(program_key.public_key.encode())

    _send()

    [delivered] = smtp_server.received
    opened = _decrypt(delivered, alice_key, store=lambda key_ids: [program_cert])
    assert opened.valid_sigs[0].certificate == program_key.fingerprint


def test_someone_elses_key_does_not_open_it(smtp_server, alice_key):
    _send()

    [delivered] = smtp_server.received
    with pytest.raises(RuntimeError, match="No key to decrypt"):
        _decrypt(delivered, Tsk.generate("Mallory <mallory@example.test>"))


def test_mail_to_a_researcher_without_a_key_goes_out_as_it_was(smtp_server):
    ReporterFactory(user=UserFactory(email="bob@example.test"))

    _send("bob@example.test")

    [delivered] = smtp_server.received
    assert delivered.message.get_content_type() == "multipart/alternative"
    assert "VR-TEST" in delivered.message.get_body(preferencelist=("plain",)).get_content()
