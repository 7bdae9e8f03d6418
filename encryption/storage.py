"""Storages that hold files only encrypted (the format is described in encryption.streams).

Declare an encrypted file field with the storage configured as ``STORAGES["encrypted"]``::

    file = models.FileField(upload_to=attachment_path, storage=encrypted_storage)

Saving encrypts; ``storage.open()`` (so ``field_file.open()``) returns a read-only file that
decrypts as it is read, and ``storage.decrypted_chunks(name)`` feeds a StreamingHttpResponse.
Nothing ever reads ciphertext back as if it were the file. ``STORAGES["encrypted"]`` defaults to
EncryptedFileSystemStorage under MEDIA_ROOT; any other Django storage works as
``class MyEncryptedStorage(EncryptedStorageMixin, OtherStorage)``, provided that saving under an
existing name overwrites it (rotation rewrites files in place).
"""

import io
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.storage import FileSystemStorage, storages

from encryption import keys
from encryption.streams import (
    HEADER_SIZE,
    decrypt_chunks,
    encrypt_chunks,
    header_key_id,
    plaintext_size,
)

# Ciphertext up to this size stays in memory while it is handed to the storage; larger files
# spill to a temporary file, which is safe because only ciphertext is ever written there.
_SPOOL_MAX_BYTES = 1024 * 1024


class EncryptedStorageMixin:
    """Encrypt every file on its way into the storage and decrypt it on its way out."""

    def _save(self, name, content):
        # Handing over a fresh file also hides an upload's temporary_file_path(), with which
        # FileSystemStorage would move the plaintext upload into place as it is.
        with _spooled(encrypt_chunks(content.chunks()), name) as encrypted:
            return super()._save(name, encrypted)

    def _open(self, name, mode="rb"):
        if mode != "rb":
            raise ValueError("Encrypted files open for reading only ('rb'); save() writes them.")
        decrypted = File(io.BufferedReader(_ChunkReader(self.decrypted_chunks(name))), name)
        decrypted.size = self.size(name)
        return decrypted

    def size(self, name):
        return plaintext_size(super().size(name))

    def decrypted_chunks(self, name) -> Iterator[bytes]:
        """Yield the file's plaintext, each chunk authenticated before it is yielded."""
        with super()._open(name, "rb") as stored:
            yield from decrypt_chunks(stored.read, where=f"file {name}")

    def stored_key_id(self, name) -> str | None:
        """Return the id of the key the file is encrypted under, or None if it is not."""
        with super()._open(name, "rb") as stored:
            return header_key_id(stored.read(HEADER_SIZE))

    def reencrypt(self, name) -> bool:
        """Re-encrypt the file under the current key; return False if it already was."""
        if self.stored_key_id(name) == keys.current_key(keys.FILE).key_id:
            return False
        self._replace(name, encrypt_chunks(self.decrypted_chunks(name)))
        return True

    def encrypt_plaintext(self, name) -> bool:
        """Encrypt a file stored in clear before encryption; return False if it already was."""
        if self.stored_key_id(name) is not None:
            return False
        self._replace(name, encrypt_chunks(self._stored_chunks(name)))
        return True

    def _stored_chunks(self, name) -> Iterator[bytes]:
        with super()._open(name, "rb") as stored:
            yield from File(stored).chunks()

    def _replace(self, name, chunks: Iterable[bytes]) -> None:
        with _spooled(chunks, name) as encrypted:
            saved = super()._save(name, encrypted)
        if saved != name:
            self.delete(saved)
            raise OSError(
                f"{type(self).__name__} stored a copy of {name} instead of replacing it; "
                "re-encrypting in place needs a storage that overwrites on save."
            )


class EncryptedFileSystemStorage(EncryptedStorageMixin, FileSystemStorage):
    """Encrypted files on the local filesystem (MEDIA_ROOT unless given a location)."""

    def _replace(self, name, chunks: Iterable[bytes]) -> None:
        # Written beside the original and renamed over it: a reader, or a crash, sees either the
        # old file or the new one, never half of each.
        target = Path(self.path(name))
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".reencrypting-")
        try:
            with os.fdopen(descriptor, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def encrypted_storage() -> EncryptedStorageMixin:
    """Return the storage for encrypted files, refusing one that would store them in clear."""
    storage = storages["encrypted"]
    if not isinstance(storage, EncryptedStorageMixin):
        raise ImproperlyConfigured(
            'STORAGES["encrypted"] must be a storage with EncryptedStorageMixin; '
            f"{type(storage).__name__} would store files in clear."
        )
    return storage


@contextmanager
def _spooled(chunks: Iterable[bytes], name: str) -> Iterator[File]:
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_MAX_BYTES) as spool:
        for chunk in chunks:
            spool.write(chunk)
        spool.seek(0)
        yield File(spool, name)


class _ChunkReader(io.RawIOBase):
    """A readable stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._current = b""
        self._offset = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        while self._offset >= len(self._current):
            self._current = next(self._chunks, None)
            self._offset = 0
            if self._current is None:
                self._current = b""
                return 0
        size = min(len(buffer), len(self._current) - self._offset)
        buffer[:size] = self._current[self._offset : self._offset + size]
        self._offset += size
        return size

    def close(self):
        close_chunks = getattr(self._chunks, "close", None)
        if close_chunks is not None:
            close_chunks()
        super().close()
