import pytest

from tests.intake.dovecot import Dovecot, DovecotUnavailable, TestMailbox

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
