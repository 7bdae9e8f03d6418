"""The encrypted file format: a header, then AES-256-GCM chunks that can be streamed.

Fernet needs a whole file in memory (base64-encoded) to encrypt or to check it, which would hold
several copies of a 10 MB attachment per request. Instead each file is cut into 64 KiB chunks,
sealed one by one, so it is encrypted while uploaded and decrypted while downloaded, and no byte
is released before the chunk holding it has been authenticated::

    header  = b"BDENC2" | key id (8 ASCII hex) | file id (16 random bytes)
    chunk i = AES-256-GCM(file key, nonce = i as 12 bytes, chunk,
                          AAD = header | place | i | final flag)

The file key is derived from the "file" key and the random file id (HKDF), so every file has its
own key and the counter nonces never repeat under one key (so GCM is safe here without SIV). The
header in the AAD binds the key id and file id; the place (model, field and row key of the
attachment, encryption.binding) binds the file to its row, so a file copied onto another
attachment's path, or a row made to name another row's file, fails to decrypt; the index binds
each chunk's position (no reordering); the final flag on the last chunk only detects truncation
at a chunk boundary and data appended after the end. The stored name is not bound, so encrypted
media can move between storages or be restored under another prefix. Every chunk but the last
holds exactly CHUNK_SIZE bytes, and an empty file still has one (empty) final chunk, which makes
the plaintext size computable from the stored size.

``BDENC1`` files are the same without the place: the format before files were bound. The
migrations that added row keys re-encrypted them as BDENC2 and reading refuses them since;
only those migrations and the ones before them write or read BDENC1 (the ``*_unbound``
functions).
"""

from collections.abc import Callable, Iterable, Iterator
from os import urandom

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from encryption import keys
from encryption.binding import Binding
from encryption.exceptions import DecryptionError

MAGIC = b"BDENC2"
UNBOUND_MAGIC = b"BDENC1"
FILE_ID_BYTES = 16
HEADER_SIZE = len(MAGIC) + keys.KEY_ID_LENGTH + FILE_ID_BYTES
CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
SEALED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE


def encrypt_chunks(plaintext: Iterable[bytes | str], binding: Binding) -> Iterator[bytes]:
    """Yield the file encrypted for ``binding``, header first, from chunks of any size."""
    return _encrypt(plaintext, MAGIC, binding.associated_data())


def encrypt_unbound_chunks(plaintext: Iterable[bytes | str]) -> Iterator[bytes]:
    """Yield the file encrypted as BDENC1; only for migrations before the model had row keys."""
    return _encrypt(plaintext, UNBOUND_MAGIC, b"")


def decrypt_chunks(
    read: Callable[[int], bytes], *, binding: Binding, where: str
) -> Iterator[bytes]:
    """Yield the plaintext of a file encrypted for ``binding``, read through ``read``."""
    return _decrypt(read, MAGIC, binding.associated_data(), where)


def decrypt_unbound_chunks(read: Callable[[int], bytes], *, where: str) -> Iterator[bytes]:
    """Yield the plaintext of a BDENC1 file; only for the migrations that bind such files."""
    return _decrypt(read, UNBOUND_MAGIC, b"", where)


def header_key_id(header: bytes) -> str | None:
    """Return the key id in an encrypted file's header (either format), or None if not one."""
    if len(header) < HEADER_SIZE or not header.startswith((MAGIC, UNBOUND_MAGIC)):
        return None
    return header[len(MAGIC) : len(MAGIC) + keys.KEY_ID_LENGTH].decode("ascii", "replace")


def header_is_bound(header: bytes) -> bool:
    return header_key_id(header) is not None and header.startswith(MAGIC)


def _encrypt(plaintext: Iterable[bytes | str], magic: bytes, place: bytes) -> Iterator[bytes]:
    key = keys.current_key(keys.FILE)
    file_id = urandom(FILE_ID_BYTES)
    header = magic + key.key_id.encode("ascii") + file_id
    cipher = AESGCM(_file_key(key, file_id))
    yield header
    index = 0
    pending = None
    for block in _blocks(plaintext):
        if pending is not None:
            yield _seal_chunk(cipher, header + place, index, pending, final=False)
            index += 1
        pending = block
    yield _seal_chunk(cipher, header + place, index, pending or b"", final=True)


def _decrypt(
    read: Callable[[int], bytes], magic: bytes, place: bytes, where: str
) -> Iterator[bytes]:
    header = _read_exactly(read, HEADER_SIZE)
    key_id = header_key_id(header)
    if key_id is None:
        raise DecryptionError(where, "it is not an encrypted file (stored in clear, or cut short)")
    if not header.startswith(magic):
        raise DecryptionError(
            where,
            "it is a BDENC1 file, not bound to any attachment; the migrations re-encrypted every"
            " such file, so this one was put here since (copied from an old backup?)"
            if magic == MAGIC
            else "it is already bound to its attachment",
        )
    key = keys.key_by_id(keys.FILE, key_id)
    if key is None:
        raise DecryptionError(
            where,
            f"it was encrypted under key {key_id}, which is neither BOUNTY_MASTER_KEY nor in"
            " BOUNTY_OLD_MASTER_KEYS",
        )
    cipher = AESGCM(_file_key(key, header[-FILE_ID_BYTES:]))
    index = 0
    sealed = _read_exactly(read, SEALED_CHUNK_SIZE)
    while True:
        following = _read_exactly(read, SEALED_CHUNK_SIZE)
        final = not following
        try:
            yield cipher.decrypt(_nonce(index), sealed, _aad(header + place, index, final))
        except InvalidTag:
            raise DecryptionError(
                where,
                f"chunk {index} failed authentication: the file was altered or truncated, or it"
                " is another attachment's file copied here",
            ) from None
        if final:
            return
        sealed = following
        index += 1


def plaintext_size(stored_size: int) -> int:
    """Return the size of the plaintext an encrypted file of ``stored_size`` bytes holds."""
    body = max(stored_size - HEADER_SIZE, 0)
    chunks = max(-(-body // SEALED_CHUNK_SIZE), 1)
    return max(body - chunks * TAG_SIZE, 0)


def _blocks(chunks: Iterable[bytes | str]) -> Iterator[bytes]:
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk.encode() if isinstance(chunk, str) else chunk
        while len(buffer) >= CHUNK_SIZE:
            yield bytes(buffer[:CHUNK_SIZE])
            del buffer[:CHUNK_SIZE]
    if buffer:
        yield bytes(buffer)


def _seal_chunk(cipher: AESGCM, prefix: bytes, index: int, block: bytes, *, final: bool) -> bytes:
    return cipher.encrypt(_nonce(index), block, _aad(prefix, index, final))


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def _aad(prefix: bytes, index: int, final: bool) -> bytes:
    # prefix = header | place: the header has a fixed size, so it and the place cannot blur.
    return prefix + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def _file_key(key: keys.DerivedKey, file_id: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=file_id, info=b"bounty-desk:file-data"
    ).derive(key.secret)


def _read_exactly(read: Callable[[int], bytes], size: int) -> bytes:
    # A raw file or a network stream may return fewer bytes than asked before its end.
    data = bytearray()
    while len(data) < size:
        more = read(size - len(data))
        if not more:
            break
        data += more
    return bytes(data)
