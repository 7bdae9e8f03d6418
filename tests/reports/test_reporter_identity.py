"""Who a researcher is cannot be edited in the admin: the bounty goes wherever the record points.

From the attacker's side: a triager re-pointing a reporter at an account of their own, through
the reporter's page or the re-link page, and a report's page posted with another reporter.
"""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from outbox.models import OutgoingMail
from reports import services
from reports.models import Reporter
from tests.factories import ReporterFactory, ReportFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reporter(researcher):
    return researcher.reporter


@pytest.fixture
def fresh_account(db):
    return UserFactory(email="mallory@example.test")


def _identity(reporter):
    reporter = Reporter.objects.get(pk=reporter.pk)
    return reporter.user_id, reporter.email, reporter.display_name


def _relink_page(reporter):
    return reverse("admin:reports_reporter_relink", args=[reporter.pk])


def _relink_mails():
    return sorted(mail.to for mail in OutgoingMail.objects.filter(template="reporter_relinked"))


@pytest.mark.parametrize("fixture", ["triager", "program_admin", "superuser"])
def test_posting_the_reporter_page_with_another_identity_changes_nothing(
    client, request, reporter, fresh_account, fixture
):
    before = _identity(reporter)
    client.force_login(request.getfixturevalue(fixture))

    response = client.post(
        reverse("admin:reports_reporter_change", args=[reporter.pk]),
        {
            "email": fresh_account.email,
            "display_name": "Mallory",
            "user": fresh_account.pk,
            "_save": "Save",
        },
    )

    assert _identity(reporter) == before
    assert response.status_code == 403


def test_the_reporter_page_shows_identity_as_text_only(client, triager, reporter):
    client.force_login(triager)

    page = client.get(reverse("admin:reports_reporter_change", args=[reporter.pk])).content

    for field in (b'name="email"', b'name="display_name"', b'name="user"'):
        assert field not in page
    assert _relink_page(reporter).encode() not in page


def test_a_triager_cannot_relink_a_reporter(client, triager, reporter, fresh_account):
    before = _identity(reporter)
    client.force_login(triager)

    response = client.post(
        _relink_page(reporter), {"account": fresh_account.email, "reason": "They asked."}
    )

    assert response.status_code == 403
    assert _identity(reporter) == before
    with pytest.raises(PermissionDenied):
        services.relink_reporter(
            reporter, user=fresh_account, reason="They asked.", acting_user=triager
        )
    assert _relink_mails() == []


def test_a_report_page_posted_with_another_reporter_keeps_its_reporter(client, triager):
    report = ReportFactory()
    other = ReporterFactory()
    client.force_login(triager)

    client.post(
        reverse("admin:reports_report_change", args=[report.pk]),
        {"reporter": other.pk, "_save": "Save"},
    )

    report.refresh_from_db()
    assert report.reporter_id != other.pk


def test_a_relink_without_a_reason_is_refused_with_a_form_error(
    client, program_admin, reporter, fresh_account
):
    before = _identity(reporter)
    client.force_login(program_admin)

    response = client.post(_relink_page(reporter), {"account": fresh_account.email, "reason": " "})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert _identity(reporter) == before
    with pytest.raises(ValidationError):
        services.relink_reporter(
            reporter, user=fresh_account, reason="  ", acting_user=program_admin
        )


def test_a_program_admin_relinks_with_a_reason_kept_in_history_and_both_addresses_told(
    client, program_admin, reporter, fresh_account
):
    old_address = reporter.email
    client.force_login(program_admin)

    response = client.post(
        _relink_page(reporter),
        {"account": fresh_account.email, "reason": "Lost access to her old mailbox; ticket 812."},
    )

    assert response.status_code == 302
    assert _identity(reporter)[:2] == (fresh_account.pk, fresh_account.email)
    row = reporter.history.latest()
    assert row.history_user == program_admin
    assert "Lost access to her old mailbox; ticket 812." in row.history_change_reason
    assert program_admin.email in row.history_change_reason
    assert _relink_mails() == sorted([old_address, fresh_account.email])


@pytest.mark.parametrize(
    ("account", "complaint"),
    [
        (lambda: ReporterFactory().user, "already has its own researcher record"),
        (lambda: StaffFactory(), "A staff account cannot be a researcher"),
    ],
    ids=["another researcher's account", "a staff account"],
)
def test_a_relink_to_an_account_that_cannot_be_the_researchers_is_refused(
    client, program_admin, reporter, account, complaint
):
    before = _identity(reporter)
    client.force_login(program_admin)

    response = client.post(
        _relink_page(reporter), {"account": account().email, "reason": "They asked."}
    )

    assert complaint in response.content.decode()
    assert _identity(reporter) == before


def test_the_reporter_page_offers_program_admins_the_relink_page(client, program_admin, reporter):
    client.force_login(program_admin)

    page = client.get(reverse("admin:reports_reporter_change", args=[reporter.pk])).content

    assert _relink_page(reporter).encode() in page
