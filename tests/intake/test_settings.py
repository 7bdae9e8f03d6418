"""INTAKE_IMAP_URL and the settings beside it: a malformed one is a clear system check error."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from intake.checks import check_intake_settings
from intake.imap import parse_mailbox_url

GOOD = "imaps://desk%40example.org:p%40ss%3Aw%2Frd@imap.example.org:993/Security%20reports"


def test_a_mailbox_url_gives_server_user_password_and_folder():
    url = parse_mailbox_url(GOOD)

    assert (url.scheme, url.host, url.port) == ("imaps", "imap.example.org", 993)
    assert (url.username, url.password) == ("desk@example.org", "p@ss:w/rd")
    assert url.folder == "Security reports"
    assert "p@ss" not in url.name and "p@ss" not in repr(url)


@pytest.mark.parametrize(
    ("url", "port", "folder"),
    [
        ("imaps://u:p@mail.example.org", 993, "INBOX"),
        ("imap://u:p@mail.example.org/", 143, "INBOX"),
        ("imap://u:p@mail.example.org:1143/Reports", 1143, "Reports"),
    ],
)
def test_port_and_folder_have_defaults(url, port, folder):
    parsed = parse_mailbox_url(url)

    assert (parsed.port, parsed.folder) == (port, folder)


def test_with_no_mailbox_url_intake_is_off_and_nothing_is_reported(settings):
    settings.INTAKE_IMAP_URL = ""

    assert check_intake_settings() == []


def test_a_good_mailbox_url_passes_the_check(settings):
    settings.INTAKE_IMAP_URL = GOOD
    settings.INTAKE_ADDRESS = "security@example.org"

    assert check_intake_settings() == []


MALFORMED = {
    "pop3://u:p@mail.example.org/": "the scheme must be imaps://",
    "mail.example.org": "the scheme must be imaps://",
    "imaps:///INBOX": "it names no server",
    "imaps://mail.example.org/INBOX": "needs the mailbox's user and password",
    "imaps://user@mail.example.org/INBOX": "needs the mailbox's user and password",
    "imaps://u:p@mail.example.org:port/": "it is not a URL",
    "imaps://u:pa?ss@mail.example.org/": "percent-encoding",
    "imaps://u:12#ss@mail.example.org/": "percent-encode those characters",
}


@pytest.mark.parametrize(("url", "says"), MALFORMED.items(), ids=MALFORMED.keys())
def test_a_malformed_mailbox_url_is_a_system_check_error_saying_what_is_wrong(settings, url, says):
    settings.INTAKE_IMAP_URL = url
    settings.INTAKE_ADDRESS = "security@example.org"

    [error] = check_intake_settings()

    assert error.id == "intake.E001"
    assert says in error.msg


@pytest.mark.parametrize(
    "url",
    [
        "imaps://u:hunter2@mail.example.org:99999/",
        "imaps://u:hun?ter2@mail.example.org/",
        "ftp://u:hunter2@mail.example.org/",
    ],
)
def test_the_check_error_never_shows_the_password(settings, url):
    settings.INTAKE_IMAP_URL = url

    [error, *_] = check_intake_settings()

    assert "hun" not in error.msg and "ter2" not in error.msg


def test_manage_py_check_refuses_a_malformed_mailbox_url(settings):
    settings.INTAKE_IMAP_URL = "https://mail.example.org/"

    with pytest.raises(SystemCheckError, match="INTAKE_IMAP_URL is malformed"):
        call_command("check")


def test_the_processed_folder_cannot_be_the_polled_one(settings):
    settings.INTAKE_IMAP_URL = "imaps://u:p@mail.example.org/INBOX"
    settings.INTAKE_ADDRESS = "security@example.org"
    settings.INTAKE_PROCESSED_FOLDER = "INBOX"

    assert [problem.id for problem in check_intake_settings()] == ["intake.E002"]


def test_the_intake_address_must_be_an_address(settings):
    settings.INTAKE_ADDRESS = "security at example.org"

    assert [problem.id for problem in check_intake_settings()] == ["intake.E003"]


def test_a_mailbox_without_a_published_address_is_warned_about(settings):
    settings.INTAKE_IMAP_URL = "imaps://u:p@mail.example.org/INBOX"
    settings.INTAKE_ADDRESS = ""

    assert [problem.id for problem in check_intake_settings()] == ["intake.W001"]


def test_the_beat_schedule_polls_the_mailbox_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["poll-intake-mailbox"]

    assert (entry["task"], entry["schedule"]) == ("intake.poll_intake_mailbox", 60.0)


def test_polling_with_intake_off_says_so():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="Mail intake is off"):
        call_command("poll_intake_mailbox")
