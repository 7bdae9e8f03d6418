import pytest

from encryption.keys import generate_master_key


@pytest.fixture(autouse=True)
def master_key(settings):
    """A fresh master key for every test, and no old ones."""
    settings.BOUNTY_MASTER_KEY = generate_master_key()
    settings.BOUNTY_OLD_MASTER_KEYS = []
    return settings.BOUNTY_MASTER_KEY


@pytest.fixture
def rotate_key(settings):
    """Deploy a new master key, keeping the previous one as the newest old key."""

    def deploy_new_master_key():
        settings.BOUNTY_OLD_MASTER_KEYS = [
            settings.BOUNTY_MASTER_KEY,
            *settings.BOUNTY_OLD_MASTER_KEYS,
        ]
        settings.BOUNTY_MASTER_KEY = generate_master_key()
        return settings.BOUNTY_MASTER_KEY

    return deploy_new_master_key
