"""The operator's master keys and the per-purpose keys derived from them.

``BOUNTY_MASTER_KEY`` is 32 random bytes in urlsafe base64 (padding optional); generate one with::

    python -c "import secrets; print(secrets.token_urlsafe(32))"

``BOUNTY_OLD_MASTER_KEYS`` lists earlier master keys (comma-separated, newest first) that still
decrypt until ``manage.py rotate_master_key`` has moved everything to the current key.

No purpose ever uses the master key itself: each one (field values, files, every blind index)
gets its own key through HKDF-SHA256, so a key leaked from one purpose opens nothing else.
Every derived key has a short public id that is written beside each ciphertext, which tells
decryption which key to use and tells rotation, in SQL, which rows still need it.
"""

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FIELD = "field"
# The key of enc2 field values (AES-GCM-SIV); FIELD keyed the enc1 (Fernet) values before them.
# A key is never shared between two ciphers.
BOUND_FIELD = "bound-field"
FILE = "file"

MASTER_KEY_BYTES = 32
KEY_ID_LENGTH = 8  # hex characters
# HKDF's salt needs no secrecy; a fixed project constant keeps derivation reproducible from
# the master key alone, which is all an operator restores after a disaster.
_HKDF_SALT = b"bounty-desk/encryption-at-rest/v1"
_GENERATE_HINT = (
    'generate one with: python -c "import secrets,base64;'
    'print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())"'
)


@dataclass(frozen=True)
class DerivedKey:
    """A key for one purpose, with the public id stored beside everything it encrypts."""

    key_id: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class Keyring:
    """Every key of one purpose: the current one encrypts, any of them decrypts."""

    current: DerivedKey
    by_id: dict[str, DerivedKey]

    @property
    def all(self) -> tuple[DerivedKey, ...]:
        return tuple(self.by_id.values())


def generate_master_key() -> str:
    """Return a new random master key in the form BOUNTY_MASTER_KEY expects."""
    return base64.urlsafe_b64encode(secrets.token_bytes(MASTER_KEY_BYTES)).decode()


def parse_master_key(text: str, *, setting: str) -> bytes:
    """Decode one master key, refusing anything but 32 bytes of urlsafe base64."""
    if not text:
        raise ImproperlyConfigured(f"{setting} is not set; {_GENERATE_HINT}")
    text = text.strip()
    try:
        # Padding is optional: secrets.token_urlsafe(32) leaves it off.
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != MASTER_KEY_BYTES:
        # The message never repeats the value: it may be a real key pasted into the wrong place.
        raise ImproperlyConfigured(
            f"{setting} must be {MASTER_KEY_BYTES} random bytes in urlsafe base64; {_GENERATE_HINT}"
        )
    return raw


def derive_key(master_key: bytes, purpose: str) -> DerivedKey:
    """Derive the key for ``purpose`` from one master key (HKDF-SHA256)."""
    secret = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=_HKDF_SALT,
        info=b"bounty-desk:" + purpose.encode(),
    ).derive(master_key)
    return DerivedKey(key_id=hashlib.sha256(secret).hexdigest()[:KEY_ID_LENGTH], secret=secret)


def keyring(purpose: str) -> Keyring:
    """Return the keys of ``purpose`` for the master keys configured right now."""
    # Settings are read on every call and the derivation is cached by their values, so
    # override_settings in tests (or a reloaded configuration) takes effect immediately.
    return _keyring(purpose, settings.BOUNTY_MASTER_KEY, tuple(settings.BOUNTY_OLD_MASTER_KEYS))


def current_key(purpose: str) -> DerivedKey:
    return keyring(purpose).current


def key_by_id(purpose: str, key_id: str) -> DerivedKey | None:
    return keyring(purpose).by_id.get(key_id)


def master_key_fingerprint() -> str:
    """Return a public id of the current master key, safe to print and to compare."""
    return current_key("fingerprint").key_id


def master_key_fingerprints() -> tuple[str, ...]:
    """Return the public ids of every configured master key, the current one first."""
    ring = keyring("fingerprint")
    return tuple(dict.fromkeys([ring.current.key_id, *ring.by_id]))


def check_master_keys() -> None:
    """Raise ImproperlyConfigured unless every configured master key is well formed."""
    keyring(FIELD)


@lru_cache(maxsize=64)
def _keyring(purpose: str, current: str, old: tuple[str, ...]) -> Keyring:
    masters = [parse_master_key(current, setting="BOUNTY_MASTER_KEY")]
    masters += [parse_master_key(text, setting="BOUNTY_OLD_MASTER_KEYS") for text in old if text]
    by_id: dict[str, DerivedKey] = {}
    for master in masters:
        key = derive_key(master, purpose)
        known = by_id.setdefault(key.key_id, key)
        if known.secret != key.secret:
            # Two different keys with one id would make stored values ambiguous.
            raise ImproperlyConfigured(
                "Two configured master keys share a key id; replace the newer one."
            )
    return Keyring(current=derive_key(masters[0], purpose), by_id=by_id)
