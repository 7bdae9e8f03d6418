import pytest

from tests.intake.dovecot import Dovecot, DovecotUnavailable, TestMailbox
from tests.intake.smtp import HOST, SMTPServer

INTAKE_ADDRESS = "security@example.test"


@pytest.fixture(autouse=True)
def _intake_settings(settings):
    settings.INTAKE_ADDRESS = INTAKE_ADDRESS
    settings.INTAKE_IMAP_URL = ""
    settings.INTAKE_PROCESSED_FOLDER = ""


@pytest.fixture(scope="session")
def dovecot():
    """A real Dovecot for the whole session, or a skip that says which package to install."""
    try:
        server = Dovecot()
    except DovecotUnavailable as unavailable:
        pytest.skip(str(unavailable))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(dovecot, settings):
    """A fresh mailbox of this test's own, which INTAKE_IMAP_URL names (over IMAPS)."""
    box = TestMailbox(dovecot, dovecot.add_user())
    settings.INTAKE_IMAP_URL = box.url()
    settings.INTAKE_IMAP_CA_FILE = dovecot.ca_file
    return box


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server that outgoing mail is delivered to, plain SMTP on loopback."""
    server = SMTPServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = HOST, server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield server
    server.stop()
