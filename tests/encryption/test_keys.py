"""Per-purpose keys derived from the operator's master key; old keys keep decrypting."""

import base64

import pytest
from django.core.exceptions import ImproperlyConfigured

from encryption import keys


def test_each_purpose_gets_its_own_key():
    derived = [keys.current_key(purpose) for purpose in ("field", "file", "blind-index:email")]

    assert len({key.secret for key in derived}) == 3
    assert len({key.key_id for key in derived}) == 3


def test_no_purpose_uses_the_master_key_itself(master_key):
    master = keys.parse_master_key(master_key, setting="BOUNTY_MASTER_KEY")

    assert all(keys.current_key(purpose).secret != master for purpose in ("field", "file"))


def test_derivation_is_reproducible_from_the_master_key_alone(master_key):
    master = keys.parse_master_key(master_key, setting="BOUNTY_MASTER_KEY")

    assert keys.derive_key(master, "field") == keys.current_key("field")


def test_a_key_id_is_public_and_short_and_does_not_repeat_the_secret():
    key = keys.current_key("field")

    assert len(key.key_id) == keys.KEY_ID_LENGTH
    assert key.key_id not in key.secret.hex()
    assert "secret" not in repr(key) and key.secret.hex() not in repr(key)


def test_old_keys_decrypt_and_only_the_new_one_encrypts(rotate_key):
    old = keys.current_key("field")
    rotate_key()

    ring = keys.keyring("field")
    assert ring.current != old
    assert keys.key_by_id("field", old.key_id) == old
    assert ring.all == (ring.current, old)


def test_switching_keys_in_settings_takes_effect_immediately(settings):
    before = keys.master_key_fingerprint()
    settings.BOUNTY_MASTER_KEY = keys.generate_master_key()

    assert keys.master_key_fingerprint() != before


def test_a_key_without_padding_is_accepted(settings):
    unpadded = keys.generate_master_key().rstrip("=")
    settings.BOUNTY_MASTER_KEY = unpadded

    keys.check_master_keys()


@pytest.mark.parametrize(
    "bad_key",
    [
        "",
        "not base64 at all!",
        base64.urlsafe_b64encode(b"too short").decode(),
        base64.urlsafe_b64encode(bytes(33)).decode(),
    ],
    ids=["empty", "garbage", "short", "long"],
)
def test_a_malformed_master_key_is_refused_without_being_repeated(settings, bad_key):
    settings.BOUNTY_MASTER_KEY = bad_key

    with pytest.raises(ImproperlyConfigured, match="BOUNTY_MASTER_KEY") as raised:
        keys.check_master_keys()
    assert not bad_key or bad_key not in str(raised.value)


def test_a_malformed_old_key_is_refused_too(settings):
    settings.BOUNTY_OLD_MASTER_KEYS = ["nope"]

    with pytest.raises(ImproperlyConfigured, match="BOUNTY_OLD_MASTER_KEYS"):
        keys.check_master_keys()


def test_the_current_key_listed_again_among_old_keys_is_harmless(settings):
    settings.BOUNTY_OLD_MASTER_KEYS = [settings.BOUNTY_MASTER_KEY]

    assert len(keys.keyring("field").all) == 1
