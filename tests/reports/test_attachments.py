"""Uploads: accepted by what their bytes are, within size limits, under a safe name; a refused
file is reported clearly and nothing at all is stored."""

import pytest
from django.core.exceptions import ValidationError

from outbox.models import OutgoingMail
from reports import services
from reports.attachments import check_upload, check_uploads, safe_filename
from reports.models import Attachment, Report
from tests.factories import AttachmentFactory
from tests.reports.portal import (
    ELF_EXECUTABLE,
    GIF,
    JPEG,
    PDF,
    PNG,
    TEXT,
    WINDOWS_EXECUTABLE,
    count_rate_limits_afresh,
    report_form,
    upload,
    zip_archive,
)

pytestmark = pytest.mark.django_db

NEW_REPORT = "/portal/reports/new/"


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(settings):
    count_rate_limits_afresh(settings)


@pytest.fixture
def small_limits(settings):
    settings.ATTACHMENT_MAX_BYTES = 100
    settings.ATTACHMENT_REPORT_MAX_BYTES = 150


def _stored_files(settings):
    media = settings.MEDIA_ROOT
    return [path for path in media.rglob("*") if path.is_file()] if media.exists() else []


def _attachment_errors(response):
    return response.context["form"].errors.get("attachments", [])


# What is accepted


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (PDF, "application/pdf"),
        (zip_archive(), "application/zip"),
        (TEXT, "text/plain"),
    ],
)
def test_accepted_formats_are_recognised_by_their_content(content, content_type):
    assert check_upload(upload("evidence.bin", content)).content_type == content_type


def test_the_file_name_and_the_browsers_claim_do_not_decide_the_type():
    disguised = upload("screenshot.png", WINDOWS_EXECUTABLE, content_type="image/png")
    text_as_png = upload("notes.png", TEXT, content_type="image/png")

    with pytest.raises(ValidationError):
        check_upload(disguised)
    assert check_upload(text_as_png).content_type == "text/plain"


@pytest.mark.parametrize(
    "content",
    [
        b'<html><body onload="alert(1)"><script>alert(1)</script></body></html>',
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b"import os\nos.system('id')\n",
    ],
)
def test_text_that_looks_like_markup_or_code_is_kept_as_plain_text(content):
    assert check_upload(upload("poc.html", content, "text/html")).content_type == "text/plain"


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (WINDOWS_EXECUTABLE, "a Windows executable"),
        (ELF_EXECUTABLE, "a Linux executable"),
        ("UTF-16 text".encode("utf-16"), "text that is not UTF-8"),
        (b"plain\x00text with a NUL", "text with a NUL byte"),
        (bytes(range(128, 256)), "random bytes"),
    ],
)
def test_other_content_is_refused_with_the_accepted_formats_named(content, what):
    with pytest.raises(ValidationError) as refused:
        check_upload(upload("thing.txt", content))

    assert refused.value.code == "file_type_refused", what
    assert "thing.txt is not a type of file we accept" in refused.value.messages[0]
    assert "PNG, JPEG and GIF images, PDF documents, ZIP archives" in refused.value.messages[0]


def test_an_empty_file_is_refused():
    with pytest.raises(ValidationError) as refused:
        check_upload(upload("empty.txt", b""))

    assert refused.value.messages == ["empty.txt is empty."]


# Limits


def test_a_file_over_the_size_limit_is_refused(small_limits):
    with pytest.raises(ValidationError) as refused:
        check_upload(upload("big.txt", b"x" * 101))

    assert refused.value.code == "file_too_large"
    assert "a file may be at most 100\xa0bytes" in refused.value.messages[0]


def test_files_together_over_the_report_limit_are_refused(small_limits):
    with pytest.raises(ValidationError) as refused:
        check_uploads([upload("a.txt", b"a" * 80), upload("b.txt", b"b" * 80)])

    assert "These files come to 160\xa0bytes" in refused.value.messages[0]
    assert "at most 150\xa0bytes of attachments in all" in refused.value.messages[0]


def test_the_report_limit_counts_what_is_already_attached(small_limits):
    with pytest.raises(ValidationError) as refused:
        check_uploads([upload("a.txt", b"a" * 60)], stored_bytes=100)

    assert "With the 100\xa0bytes already attached" in refused.value.messages[0]


def test_every_refused_file_is_named(small_limits):
    with pytest.raises(ValidationError) as refused:
        check_uploads([upload("one.exe", WINDOWS_EXECUTABLE), upload("two.txt", b"x" * 101)])

    assert len(refused.value.messages) == 2
    assert refused.value.messages[0].startswith("one.exe")
    assert refused.value.messages[1].startswith("two.txt")


# Names


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("proof.png", "proof.png"),
        ("my screenshot.png", "my_screenshot.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\Desktop\\poc.txt", "poc.txt"),
        ("..", "attachment"),
        ("", "attachment"),
        (".htaccess", "htaccess"),
        ('"; filename="evil.html', "_filenameevil.html"),
        ("poc\r\nContent-Disposition: inline.txt", "pocContent-Disposition_inline.txt"),
        ("<script>alert(1)</script>.txt", "script.txt"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),
        ("résumé.pdf", "résumé.pdf"),
    ],
)
def test_file_names_are_made_safe(name, safe):
    assert safe_filename(name) == safe


def test_a_long_name_is_cut_short_keeping_its_extension():
    name = safe_filename("a" * 300 + ".png")

    assert len(name) == 100
    assert name.endswith("a.png")


# Through the portal


def test_accepted_files_are_stored_under_a_random_name(client, researcher, program):
    client.force_login(researcher)

    client.post(
        NEW_REPORT,
        {
            **report_form(),
            "attachments": [upload("../screen shot.png", PNG), upload("poc.zip", zip_archive())],
        },
    )

    stored = {a.original_name: a for a in Attachment.objects.all()}
    assert set(stored) == {"screen_shot.png", "poc.zip"}
    assert stored["screen_shot.png"].content_type == "image/png"
    assert stored["screen_shot.png"].size == len(PNG)
    assert stored["screen_shot.png"].uploaded_by == researcher
    assert stored["screen_shot.png"].message is None
    assert "screen" not in stored["screen_shot.png"].file.name
    assert stored["screen_shot.png"].file.read() == PNG


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ([upload("tool.exe", WINDOWS_EXECUTABLE)], "tool.exe is not a type of file we accept"),
        ([upload("big.txt", b"x" * 101)], "a file may be at most 100"),
        (
            [upload("a.txt", b"a" * 80), upload("b.txt", b"b" * 80)],
            "a report may have at most 150",
        ),
        (
            [upload("fine.png", PNG), upload("tool.exe", WINDOWS_EXECUTABLE)],
            "tool.exe is not a type of file we accept",
        ),
    ],
)
def test_a_refused_file_is_explained_beside_the_field_and_nothing_is_stored(
    client, researcher, program, settings, small_limits, files, error
):
    client.force_login(researcher)

    response = client.post(NEW_REPORT, {**report_form(), "attachments": files})

    assert response.status_code == 200
    assert any(error in message for message in _attachment_errors(response))
    assert 'id="id_attachments_error"' in response.content.decode()
    assert not Report.objects.exists()
    assert not Attachment.objects.exists()
    assert not OutgoingMail.objects.exists()
    assert _stored_files(settings) == []


def test_a_refused_file_in_the_service_means_no_report_at_all(researcher, program, settings):
    submission = services.Submission(title="t", description="d", steps_to_reproduce="1. a\n2. b")

    with pytest.raises(ValidationError):
        services.submit_report_with_attachments(
            reporter=researcher.reporter,
            submission=submission,
            files=[upload("ok.png", PNG), upload("tool.exe", WINDOWS_EXECUTABLE)],
            acting_user=researcher,
        )

    assert not Report.objects.exists()
    assert not Attachment.objects.exists()
    assert not OutgoingMail.objects.exists()
    assert _stored_files(settings) == []


def test_a_reply_whose_files_would_pass_the_report_limit_is_refused(
    client, researcher, submit, settings, small_limits
):
    report = submit()
    AttachmentFactory(report=report, size=120)
    client.force_login(researcher)

    response = client.post(
        f"/portal/reports/{report.public_id}/reply/",
        {"body": "More evidence.", "attachments": [upload("more.txt", b"m" * 40)]},
    )

    assert response.status_code == 200
    assert "With the 120\xa0bytes already attached" in response.content.decode()
    assert not report.messages.exists()
    assert report.attachments.count() == 1


def test_a_refused_file_in_a_reply_means_no_message(researcher, submit, settings):
    report = submit()

    with pytest.raises(ValidationError):
        services.add_researcher_reply_with_attachments(
            report,
            acting_user=researcher,
            body="Here is my tool.",
            files=[upload("tool.exe", WINDOWS_EXECUTABLE)],
        )

    assert not report.messages.exists()
    assert not report.attachments.exists()
