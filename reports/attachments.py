"""Attachments in and out: uploads checked before anything is stored, files sent as downloads.

The type is decided by the bytes, never by the file name or the browser's claim: a binary file
must carry the signature of an accepted format, and anything else must be UTF-8 text. Text is
recorded as ``text/plain`` whatever it contains (HTML, SVG, a script): it is only ever served as
a plain-text download, so proof-of-concept code stays readable and never becomes active.

Files are stored encrypted (encryption.storage) and leave the desk decrypted only through
``download_response``, which the authorizing views (the portal's, the admin's) return.
"""

import codecs
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

import puremagic
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import StreamingHttpResponse
from django.template.defaultfilters import filesizeformat
from django.utils.http import content_disposition_header
from django.utils.text import capfirst, get_valid_filename

# Accepted binary formats, recognised by their signature (puremagic).
SIGNATURE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "application/pdf", "application/zip"}
)
TEXT_TYPE = "text/plain"
ALLOWED_TYPES = SIGNATURE_TYPES | {TEXT_TYPE}
ACCEPTED_FORMATS = "PNG, JPEG and GIF images, PDF documents, ZIP archives and plain text (UTF-8)"

MAX_NAME_LENGTH = 100
MAX_EXTENSION_LENGTH = 16
FALLBACK_NAME = "attachment"
# Every signature puremagic knows for the accepted formats sits in the first few bytes.
_SIGNATURE_BYTES = 8192
_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that passed every check, with the name and type to store it under."""

    file: UploadedFile
    name: str
    content_type: str
    size: int


def safe_filename(name: str) -> str:
    """Return a name safe to show and to put in a download header: no path, no odd characters."""
    # Browsers may send a full client path, with either separator; only the last part is a name.
    base = posixpath.basename((name or "").replace("\\", "/"))
    try:
        cleaned = get_valid_filename(base).lstrip(".")
    except SuspiciousFileOperation:
        cleaned = ""
    if not cleaned:
        return FALLBACK_NAME
    stem, dot, extension = cleaned.rpartition(".")
    if not dot or not stem:
        return cleaned[:MAX_NAME_LENGTH]
    extension = extension[:MAX_EXTENSION_LENGTH]
    return f"{stem[: MAX_NAME_LENGTH - len(extension) - 1]}.{extension}"


def _is_utf8_text(upload: UploadedFile) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk in upload.chunks(_CHUNK_BYTES):
            if b"\x00" in chunk:
                return False
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def sniff_content_type(upload: UploadedFile) -> str | None:
    """Return the accepted type the file's content shows it to be, or None if it is none of them."""
    upload.seek(0)
    head = upload.read(_SIGNATURE_BYTES)
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        matches = []
    # A format can share its signature with others (a ZIP archive also matches every Office
    # format built on ZIP), so any match that is an accepted format decides.
    for match in matches:
        if match.mime_type in SIGNATURE_TYPES:
            return match.mime_type
    return TEXT_TYPE if _is_utf8_text(upload) else None


def check_upload(upload: UploadedFile) -> CheckedUpload:
    """Check one file on its own; raise ``ValidationError`` saying what is wrong with it."""
    name = safe_filename(upload.name)
    limit = settings.ATTACHMENT_MAX_BYTES
    if not upload.size:
        raise ValidationError(f"{name} is empty.", code="empty_file")
    if upload.size > limit:
        raise ValidationError(
            f"{name} is {filesizeformat(upload.size)}; a file may be at most "
            f"{filesizeformat(limit)}.",
            code="file_too_large",
        )
    content_type = sniff_content_type(upload)
    if content_type is None:
        raise ValidationError(
            f"{name} is not a type of file we accept. We accept {ACCEPTED_FORMATS}; "
            "put anything else in a ZIP archive.",
            code="file_type_refused",
        )
    return CheckedUpload(file=upload, name=name, content_type=content_type, size=upload.size)


def check_uploads(uploads, *, stored_bytes: int = 0) -> list[CheckedUpload]:
    """Check files for one report that already holds ``stored_bytes``; report every problem."""
    checked, errors = [], []
    for upload in uploads:
        try:
            checked.append(check_upload(upload))
        except ValidationError as error:
            errors.append(error)
    if errors:
        raise ValidationError(errors)
    limit = settings.ATTACHMENT_REPORT_MAX_BYTES
    total = stored_bytes + sum(item.size for item in checked)
    if total > limit:
        come_to = f"these files come to {filesizeformat(total)}"
        if stored_bytes:
            come_to = f"with the {filesizeformat(stored_bytes)} already attached, {come_to}"
        raise ValidationError(
            f"{capfirst(come_to)}; a report may have at most "
            f"{filesizeformat(limit)} of attachments in all.",
            code="report_attachments_too_large",
        )
    return checked


@dataclass(frozen=True)
class RefusedUpload:
    """A file that did not pass the checks: its place among the files given, and why not."""

    position: int
    name: str
    error: ValidationError

    @property
    def code(self) -> str:
        return self.error.error_list[0].code or ""

    @property
    def reason(self) -> str:
        return " ".join(self.error.messages)


def sort_uploads(
    uploads, *, stored_bytes: int = 0
) -> tuple[list[CheckedUpload], list[RefusedUpload]]:
    """Split files into those a report may take and those it may not, keeping the order.

    For mail, which cannot be sent back like a form: the files that pass are kept, in order,
    until the report's total would pass its limit, and the others are refused one by one.
    """
    accepted, refused = [], []
    total = stored_bytes
    limit = settings.ATTACHMENT_REPORT_MAX_BYTES
    for position, upload in enumerate(uploads, start=1):
        try:
            checked = check_upload(upload)
            if total + checked.size > limit:
                raise ValidationError(
                    f"{checked.name} would take the report past {filesizeformat(limit)} of "
                    "attachments in all.",
                    code="report_attachments_too_large",
                )
        except ValidationError as error:
            refused.append(RefusedUpload(position, safe_filename(upload.name), error))
        else:
            accepted.append(checked)
            total += checked.size
    return accepted, refused


def refusal_summary(code: str) -> str:
    """Say why a file was refused without naming it, for mail (which carries no report content)."""
    summaries = {
        "empty_file": "it is empty",
        "file_too_large": (
            f"it is larger than {filesizeformat(settings.ATTACHMENT_MAX_BYTES)}, "
            "the most a file may be"
        ),
        "file_type_refused": (
            f"it is not a type of file we accept (we accept {ACCEPTED_FORMATS}; "
            "put anything else in a ZIP archive)"
        ),
        "report_attachments_too_large": (
            f"it would take the report past "
            f"{filesizeformat(settings.ATTACHMENT_REPORT_MAX_BYTES)} of attachments in all"
        ),
    }
    return summaries.get(code, "it did not pass our checks")


def download_response(attachment) -> StreamingHttpResponse:
    """Stream a stored attachment, decrypted, as a download that the browser will not render.

    Call it only from a view that has checked the user may read the attachment.
    """
    # Files that reached the desk another way (mail intake) may carry any claimed type.
    content_type = (
        attachment.content_type
        if attachment.content_type in ALLOWED_TYPES
        else "application/octet-stream"
    )
    chunks = attachment.file.decrypted_chunks()
    # Authenticating the first chunk before the response exists turns a tampered or unreadable
    # file into an error page rather than a 200 that breaks off.
    first = next(chunks)
    response = StreamingHttpResponse(_stream(first, chunks), content_type=content_type)
    response["Content-Length"] = attachment.file.size
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=safe_filename(attachment.original_name)
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _stream(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield first
        yield from rest
    finally:
        rest.close()
