"""What the reporter portal's tests share: sample files, a valid submission, a fresh sign-in."""

import io
import uuid
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bounty.models import Category

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
TEXT = "Proof of concept (UTF-8: café):\ncurl -i http://127.0.0.1:4000/admin/keys\n".encode()
WINDOWS_EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
ELF_EXECUTABLE = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("poc.py", "print('proof')\n")
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def report_form(**overrides) -> dict:
    """Return what a researcher fills in to submit a valid report."""
    data = {
        "title": "Admin API answers without a key",
        "category": Category.objects.get(code="P1").pk,
        "affected_asset": "llm-proxy admin API",
        "affected_version": "1.40.2",
        "description": "The admin API does not check the master key.",
        "steps_to_reproduce": "1. Start the proxy.\n2. GET /admin/keys without a key.",
        "impact": "Anyone on the network can create keys.",
        "cvss_vector": "",
        "scope_confirmed": "on",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def count_rate_limits_afresh(settings) -> None:
    """Give the test its own rate-limit counters in the real cache (Redis where it runs)."""
    settings.CACHES = {
        name: {**config, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
        for name, config in settings.CACHES.items()
    }


def reauthenticate(client) -> None:
    """Confirm the signed-in researcher's password, as the payment details page asks."""
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302, response.content.decode()
