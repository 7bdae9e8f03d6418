"""Storages that hold files only encrypted (the format is described in encryption.streams).

Declare an encrypted file field with the storage configured as ``STORAGES["encrypted"]``::

    file = EncryptedFileField(upload_to=attachment_path, storage=encrypted_storage)

Every file is encrypted for its place (model, field and row key, encryption.binding), which
only the field knows: saving through the field encrypts, ``field_file.open()`` returns a
read-only file that decrypts as it is read, and ``field_file.decrypted_chunks()`` feeds a
StreamingHttpResponse. The storage alone refuses to save or open a file without its place, and
nothing ever reads ciphertext back as if it were the file. ``STORAGES["encrypted"]`` defaults to
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
from encryption.binding import Binding
from encryption.streams import (
    HEADER_SIZE,
    decrypt_chunks,
    decrypt_unbound_chunks,
    encrypt_chunks,
    encrypt_unbound_chunks,
    header_is_bound,
    header_key_id,
    plaintext_size,
)

# Ciphertext up to this size stays in memory while it is handed to the storage; larger files
# spill to a temporary file, which is safe because only ciphertext is ever written there.
_SPOOL_MAX_BYTES = 1024 * 1024


class EncryptedStorageMixin:
    """Encrypt every file on its way into the storage and decrypt it on its way out."""

    def _save(self, name, content):
        binding = getattr(content, "binding", None)
        if binding is None:
            raise ValueError(
                f"{name} has no place to be encrypted for: save encrypted files through an "
                "EncryptedFileField (or pass an encryption.fields.BoundFile)."
            )
        # Handing over a fresh file also hides an upload's temporary_file_path(), with which
        # FileSystemStorage would move the plaintext upload into place as it is.
        with _spooled(encrypt_chunks(content.chunks(), binding), name) as encrypted:
            return super()._save(name, encrypted)

    def _open(self, name, mode="rb"):
        raise ValueError(
            f"{name} is encrypted for its row: open it through its field (instance.file.open())."
        )

    def open_bound(self, name, binding: Binding, *, where: str) -> File:
        """Return the file encrypted for ``binding``, read-only, decrypting as it is read."""
        chunks = self.decrypted_chunks(name, binding, where=where)
        decrypted = File(io.BufferedReader(_ChunkReader(chunks)), name)
        decrypted.size = self.size(name)
        return decrypted

    def size(self, name):
        return plaintext_size(super().size(name))

    def decrypted_chunks(self, name, binding: Binding, *, where: str) -> Iterator[bytes]:
        """Yield the file's plaintext, each chunk authenticated before it is yielded."""
        with super()._open(name, "rb") as stored:
            yield from decrypt_chunks(stored.read, binding=binding, where=where)

    def stored_key_id(self, name) -> str | None:
        """Return the id of the key the file is encrypted under, or None if it is not."""
        return header_key_id(self._header(name))

    def is_bound(self, name) -> bool:
        """Whether the file is encrypted for its place (BDENC2), not in the older format."""
        return header_is_bound(self._header(name))

    def reencrypt(self, name, binding: Binding, *, where: str) -> bool:
        """Re-encrypt the file under the current key; return False if it already was."""
        if self.stored_key_id(name) == keys.current_key(keys.FILE).key_id and self.is_bound(name):
            return False
        plaintext = self.decrypted_chunks(name, binding, where=where)
        self._replace(name, encrypt_chunks(plaintext, binding))
        return True

    def bind(self, name, binding: Binding, *, where: str) -> bool:
        """Re-encrypt a BDENC1 file for its place; return False if it already was bound."""
        if self.is_bound(name):
            return False
        self._replace(name, encrypt_chunks(self._unbound_chunks(name, where=where), binding))
        return True

    def encrypt_plaintext(self, name, binding: Binding | None) -> bool:
        """Encrypt a file stored in clear before encryption; return False if it already was.

        ``binding`` None writes the unbound format, for migrations before row keys existed.
        """
        if self.stored_key_id(name) is not None:
            return False
        plaintext = self._stored_chunks(name)
        if binding is None:
            self._replace(name, encrypt_unbound_chunks(plaintext))
        else:
            self._replace(name, encrypt_chunks(plaintext, binding))
        return True

    def _header(self, name) -> bytes:
        with super()._open(name, "rb") as stored:
            return stored.read(HEADER_SIZE)

    def _unbound_chunks(self, name, *, where: str) -> Iterator[bytes]:
        with super()._open(name, "rb") as stored:
            yield from decrypt_unbound_chunks(stored.read, where=where)

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
