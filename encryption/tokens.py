"""The stored form of an encrypted text value: ``enc1:<key id>:<Fernet token>``.

Fernet (AES-128-CBC with HMAC-SHA256) authenticates every token, so an altered value fails to
decrypt instead of decrypting to garbage. The key id picks the decrypting key directly, names a
missing key in the error, and lets rotation find the rows it still has to re-encrypt with one
``LIKE`` instead of a trial decryption of every row. The id is not secret and not trusted: a
forged id only selects a key the token then fails to authenticate under.
"""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from encryption import keys
from encryption.exceptions import DecryptionError

PREFIX = "enc1:"


def seal(plaintext: str) -> str:
    """Encrypt ``plaintext`` under the current field key."""
    key = keys.current_key(keys.FIELD)
    token = _fernet(key.secret).encrypt(plaintext.encode()).decode("ascii")
    return f"{PREFIX}{key.key_id}:{token}"


def unseal(stored: str, *, where: str) -> str:
    """Decrypt a stored token; ``where`` names the value in the error, which never shows it."""
    key_id = stored_key_id(stored)
    if key_id is None:
        raise DecryptionError(
            where,
            "the stored value is not an encrypted token (plaintext written before the field was"
            " encrypted?); encrypt it with encryption.legacy.encrypt_plaintext_rows",
        )
    key = keys.key_by_id(keys.FIELD, key_id)
    if key is None:
        raise DecryptionError(
            where,
            f"it was encrypted under key {key_id}, which is neither BOUNTY_MASTER_KEY nor in"
            " BOUNTY_OLD_MASTER_KEYS",
        )
    token = stored[len(PREFIX) + len(key_id) + 1 :]
    try:
        return _fernet(key.secret).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise DecryptionError(
            where, f"the value under key {key_id} failed authentication: it was altered"
        ) from None


def reseal(stored: str, *, where: str) -> str:
    """Re-encrypt a stored token under the current key (what MultiFernet.rotate does)."""
    return seal(unseal(stored, where=where))


def stored_key_id(stored: str) -> str | None:
    """Return the key id a stored token names, or None when it is not a token at all."""
    if not stored.startswith(PREFIX):
        return None
    key_id, separator, _ = stored[len(PREFIX) :].partition(":")
    return key_id if separator and len(key_id) == keys.KEY_ID_LENGTH else None


def current_prefix() -> str:
    """Return how every token under the current key begins."""
    return f"{PREFIX}{keys.current_key(keys.FIELD).key_id}:"


@lru_cache(maxsize=16)
def _fernet(secret: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(secret))
