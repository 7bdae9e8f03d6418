"""The stored form of an encrypted text value: ``enc2:<key id>:<base64url(nonce || ciphertext)>``.

The cipher is AES-256-GCM-SIV (RFC 8452) with a random 96-bit nonce, and the value's place
(model, field and row key, see encryption.binding) as associated data: a token decrypts only in
the column and row it was written for, so a ciphertext copied onto another row or into another
column fails to authenticate. GCM-SIV rather than GCM because one field key seals every value
of the desk for years: with GCM a repeated random nonce (likely after some 2^32 values) leaks
the XOR of two plaintexts and the authentication key, while GCM-SIV only reveals that the same
value was written twice in the same place. Its cost over GCM is a second pass over values that
are a few hundred bytes long.

The key id picks the decrypting key directly, names a missing key in the error, and lets
rotation find the rows it still has to re-encrypt with one ``LIKE`` instead of a trial
decryption of every row. The id is not secret and not trusted: a forged id only selects a key
the token then fails to authenticate under.

``enc1:<key id>:<Fernet token>`` is the earlier, unbound format (Fernet has no associated
data). The migrations that added row keys re-encrypted every enc1 value into enc2, so reading
refuses enc1 from then on: an unbound value pasted into a row, say from an old backup, is an
error like any other misplaced value. Only those migrations and the ones before them, which
predate row keys, read or write enc1 (``unseal_unbound``, ``seal_unbound``).
"""

import base64
import binascii
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV

from encryption import keys
from encryption.binding import Binding
from encryption.exceptions import DecryptionError

PREFIX = "enc2:"
UNBOUND_PREFIX = "enc1:"
NONCE_BYTES = 12


def seal(plaintext: str, binding: Binding) -> str:
    """Encrypt ``plaintext`` for its place under the current field key."""
    key = keys.current_key(keys.BOUND_FIELD)
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(key.secret).encrypt(nonce, plaintext.encode(), binding.associated_data())
    return f"{PREFIX}{key.key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"


def unseal(stored: str, *, binding: Binding, where: str) -> str:
    """Decrypt a token stored at ``binding``; ``where`` names it in the error, never its value."""
    if stored.startswith(UNBOUND_PREFIX):
        raise DecryptionError(
            where,
            "it is an enc1 token, not bound to any row; the migrations re-encrypted every such"
            " value, so this one was written in since (copied from an old backup?)",
        )
    key = _key_for(stored, PREFIX, keys.BOUND_FIELD, where)
    try:
        raw = base64.urlsafe_b64decode(stored[len(PREFIX) + keys.KEY_ID_LENGTH + 1 :])
        nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        plaintext = _cipher(key.secret).decrypt(nonce, sealed, binding.associated_data())
        return plaintext.decode()
    except (binascii.Error, ValueError, InvalidTag):
        # UnicodeError is a ValueError; so is a nonce of the wrong length.
        raise DecryptionError(
            where,
            f"the value under key {key.key_id} failed authentication: it was altered, or it was"
            " encrypted for another row or field and copied here",
        ) from None


def stored_key_id(stored: str) -> str | None:
    """Return the key id a stored token names, or None when it is not a token at all."""
    for prefix in (PREFIX, UNBOUND_PREFIX):
        if stored.startswith(prefix):
            key_id, separator, _ = stored[len(prefix) :].partition(":")
            return key_id if separator and len(key_id) == keys.KEY_ID_LENGTH else None
    return None


def is_unbound(stored: str) -> bool:
    """Whether ``stored`` is an enc1 token, written before values were bound to rows."""
    return stored.startswith(UNBOUND_PREFIX) and stored_key_id(stored) is not None


def current_prefix() -> str:
    """Return how every token under the current key begins."""
    return f"{PREFIX}{keys.current_key(keys.BOUND_FIELD).key_id}:"


def seal_unbound(plaintext: str) -> str:
    """Encrypt as enc1; only for migrations that run before the model has row keys."""
    key = keys.current_key(keys.FIELD)
    token = _fernet(key.secret).encrypt(plaintext.encode()).decode("ascii")
    return f"{UNBOUND_PREFIX}{key.key_id}:{token}"


def unseal_unbound(stored: str, *, where: str) -> str:
    """Decrypt an enc1 token; only for the migrations that bind such values to their rows."""
    key = _key_for(stored, UNBOUND_PREFIX, keys.FIELD, where)
    token = stored[len(UNBOUND_PREFIX) + keys.KEY_ID_LENGTH + 1 :]
    try:
        return _fernet(key.secret).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise DecryptionError(
            where, f"the value under key {key.key_id} failed authentication: it was altered"
        ) from None


def _key_for(stored: str, prefix: str, purpose: str, where: str) -> keys.DerivedKey:
    key_id = stored_key_id(stored) if stored.startswith(prefix) else None
    if key_id is None:
        raise DecryptionError(
            where,
            "the stored value is not an encrypted token (plaintext written before the field was"
            " encrypted?); encrypt it with encryption.legacy.encrypt_plaintext_rows",
        )
    key = keys.key_by_id(purpose, key_id)
    if key is None:
        raise DecryptionError(
            where,
            f"it was encrypted under key {key_id}, which is neither BOUNTY_MASTER_KEY nor in"
            " BOUNTY_OLD_MASTER_KEYS",
        )
    return key


@lru_cache(maxsize=16)
def _cipher(secret: bytes) -> AESGCMSIV:
    return AESGCMSIV(secret)


@lru_cache(maxsize=16)
def _fernet(secret: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(secret))
