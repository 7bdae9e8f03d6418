"""Encrypted file storage: only ciphertext on disk, streamed back decrypted, tampering caught."""

import os
import uuid
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.http import FileResponse, StreamingHttpResponse

from encryption.binding import Binding
from encryption.exceptions import DecryptionError
from encryption.fields import BoundFile
from encryption.keys import generate_master_key
from encryption.storage import EncryptedFileSystemStorage, encrypted_storage
from encryption.streams import CHUNK_SIZE, HEADER_SIZE, MAGIC, SEALED_CHUNK_SIZE
from tests.encryption_app.factories import DossierFactory
from tests.encryption_app.models import Dossier

SECRET = b"CANARY-5b1e proof: GET /admin/keys answers 200 without a key"
PLACE = Binding("encryption_app.Dossier", "evidence", uuid.uuid4())


def bound(content, place=PLACE) -> BoundFile:
    """Content as an encrypted file field hands it to the storage: with its place."""
    return BoundFile(content, getattr(content, "name", None), place)


def read_back(storage, name, place=PLACE) -> bytes:
    return b"".join(storage.decrypted_chunks(name, place, where=f"file {name}"))


@pytest.fixture
def storage(settings):
    return EncryptedFileSystemStorage(location=settings.MEDIA_ROOT)


@pytest.fixture
def media(settings):
    return Path(settings.MEDIA_ROOT)


def every_stored_byte(media: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(media.rglob("*")) if path.is_file())


@pytest.mark.django_db
def test_a_file_saved_through_a_model_is_stored_encrypted_and_read_back_decrypted(media):
    dossier = DossierFactory(evidence=ContentFile(SECRET, name="proof.txt"))

    stored = (media / dossier.evidence.name).read_bytes()
    assert stored.startswith(MAGIC)
    assert SECRET not in every_stored_byte(media)
    loaded = Dossier.objects.get(pk=dossier.pk)
    with loaded.evidence.open() as decrypted:
        assert decrypted.read() == SECRET
    assert loaded.evidence.size == len(SECRET)


@pytest.mark.django_db
def test_history_keeps_the_file_name_not_the_file():
    dossier = DossierFactory(evidence=ContentFile(SECRET, name="proof.txt"))

    assert dossier.history.get().evidence == dossier.evidence.name


def test_a_large_upload_on_a_temporary_file_is_encrypted_not_moved_into_place(storage, media):
    upload = TemporaryUploadedFile("big.bin", "application/octet-stream", 0, None)
    upload.write(SECRET * 5000)
    upload.seek(0)

    name = storage.save("uploads/big.bin", bound(upload))

    assert SECRET not in (media / name).read_bytes()
    assert read_back(storage, name) == SECRET * 5000


@pytest.mark.parametrize(
    "size",
    [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE, 3 * CHUNK_SIZE + 17],
)
def test_files_of_every_size_round_trip_and_report_their_plaintext_size(storage, size):
    content = os.urandom(size)

    name = storage.save("sizes/file.bin", bound(ContentFile(content)))

    assert read_back(storage, name) == content
    assert storage.size(name) == size
    with storage.open_bound(name, PLACE, where=name) as decrypted:
        assert decrypted.read() == content


def test_the_file_streams_back_through_a_streaming_response(storage):
    content = os.urandom(2 * CHUNK_SIZE + 5)
    name = storage.save("stream/file.bin", bound(ContentFile(content)))

    streaming = StreamingHttpResponse(storage.decrypted_chunks(name, PLACE, where=name))
    download = FileResponse(
        storage.open_bound(name, PLACE, where=name), as_attachment=True, filename="proof.bin"
    )

    assert b"".join(streaming.streaming_content) == content
    assert b"".join(download.streaming_content) == content


def test_the_same_file_is_stored_differently_each_time(storage, media):
    first = storage.save("twice/a.bin", bound(ContentFile(SECRET)))
    second = storage.save("twice/b.bin", bound(ContentFile(SECRET)))

    assert (media / first).read_bytes() != (media / second).read_bytes()


def _tamper(path: Path, change) -> None:
    path.write_bytes(change(path.read_bytes()))


def _flip(offset):
    return lambda data: data[:offset] + bytes([data[offset] ^ 1]) + data[offset + 1 :]


THREE_CHUNKS = 3 * CHUNK_SIZE - 100


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_flip(HEADER_SIZE + 10), "chunk 0 failed authentication"),
        (_flip(HEADER_SIZE + SEALED_CHUNK_SIZE + 3), "chunk 1 failed authentication"),
        (_flip(-1), "chunk 2 failed authentication"),
        (_flip(HEADER_SIZE - 1), "chunk 0 failed authentication"),  # the file id
        (lambda data: data[: HEADER_SIZE + 2 * SEALED_CHUNK_SIZE], "chunk 1 failed"),
        (lambda data: data[:-1], "chunk 2 failed"),
        (lambda data: data[:HEADER_SIZE], "chunk 0 failed"),
        (lambda data: data + b"\0" * 20, "chunk 2 failed"),
        (
            lambda data: (
                data[:HEADER_SIZE]
                + data[HEADER_SIZE + SEALED_CHUNK_SIZE : HEADER_SIZE + 2 * SEALED_CHUNK_SIZE]
                + data[HEADER_SIZE : HEADER_SIZE + SEALED_CHUNK_SIZE]
                + data[HEADER_SIZE + 2 * SEALED_CHUNK_SIZE :]
            ),
            "chunk 0 failed",
        ),
    ],
    ids=[
        "first-chunk-altered",
        "middle-chunk-altered",
        "last-chunk-altered",
        "header-altered",
        "truncated-at-a-chunk-boundary",
        "truncated-mid-chunk",
        "header-only",
        "bytes-appended",
        "chunks-reordered",
    ],
)
def test_tampering_is_detected_before_any_altered_byte_is_released(storage, media, change, reason):
    content = os.urandom(THREE_CHUNKS)
    name = storage.save("tamper/file.bin", bound(ContentFile(content)))
    _tamper(media / name, change)

    released = b""
    with pytest.raises(DecryptionError, match=reason) as raised:
        for chunk in storage.decrypted_chunks(name, PLACE, where=f"file {name}"):
            released += chunk
    assert content.startswith(released)
    assert f"file {name}" in str(raised.value)


def test_a_file_stored_in_clear_is_refused(storage, media):
    (media / "clear").mkdir(parents=True)
    (media / "clear" / "file.txt").write_bytes(SECRET)

    with pytest.raises(DecryptionError, match="not an encrypted file"):
        storage.open_bound("clear/file.txt", PLACE, where="clear/file.txt").read()


def test_a_file_under_an_unknown_key_is_refused_naming_the_key(storage, settings):
    name = storage.save("keys/file.bin", bound(ContentFile(SECRET)))
    key_id = storage.stored_key_id(name)
    settings.BOUNTY_MASTER_KEY = generate_master_key()

    with pytest.raises(DecryptionError, match=f"key {key_id}"):
        read_back(storage, name)


def test_an_old_key_still_decrypts_and_reencrypt_moves_the_file_to_the_current_key(
    storage, rotate_key
):
    name = storage.save("rotate/file.bin", bound(ContentFile(SECRET)))
    old_key_id = storage.stored_key_id(name)
    rotate_key()

    assert read_back(storage, name) == SECRET
    assert storage.reencrypt(name, PLACE, where=name) is True
    assert storage.stored_key_id(name) != old_key_id
    assert storage.reencrypt(name, PLACE, where=name) is False
    assert read_back(storage, name) == SECRET


def test_reencrypting_leaves_no_temporary_file_behind(storage, media, rotate_key):
    name = storage.save("rotate/file.bin", bound(ContentFile(SECRET)))
    rotate_key()

    storage.reencrypt(name, PLACE, where=name)

    assert sorted(path.name for path in (media / "rotate").iterdir()) == ["file.bin"]


@pytest.mark.django_db
def test_encrypted_files_open_for_reading_only():
    dossier = DossierFactory(evidence=ContentFile(SECRET, name="proof.txt"))

    with pytest.raises(ValueError, match="reading only"):
        dossier.evidence.open("wb")


def test_the_storage_alone_neither_saves_nor_opens_a_file_without_its_place(storage):
    with pytest.raises(ValueError, match="no place to be encrypted for"):
        storage.save("places/file.bin", ContentFile(SECRET))
    name = storage.save("places/file.bin", bound(ContentFile(SECRET)))

    with pytest.raises(ValueError, match="open it through its field"):
        storage.open(name)


def test_a_file_read_for_another_place_fails_naming_that_place(storage):
    name = storage.save("places/file.bin", bound(ContentFile(SECRET)))
    elsewhere = Binding(PLACE.model_label, PLACE.field_name, uuid.uuid4())

    with pytest.raises(DecryptionError, match="another attachment's file copied here"):
        read_back(storage, name, elsewhere)


def test_the_encrypted_storage_setting_must_name_an_encrypting_storage(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "encrypted": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }

    with pytest.raises(ImproperlyConfigured, match="in clear"):
        encrypted_storage()
