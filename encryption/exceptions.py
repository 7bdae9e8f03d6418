from django.core.exceptions import FieldError


class DecryptionError(Exception):
    """A stored value or file that cannot be decrypted, named without revealing its contents."""

    def __init__(self, where: str, reason: str):
        self.where = where
        self.reason = reason
        super().__init__(f"Cannot decrypt {where}: {reason}")


class EncryptedLookupError(FieldError):
    """A query that would compare ciphertext, which never matches what the caller meant."""


class EncryptedWriteError(FieldError):
    """A write that would store an encrypted value without the row it is encrypted for."""
