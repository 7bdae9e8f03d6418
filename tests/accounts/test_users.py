import pytest
from django.contrib.auth import authenticate
from django.db import IntegrityError
from django.test import RequestFactory

from accounts import roles
from accounts.history import acting_user
from accounts.models import User
from tests.factories import ReportFactory

pytestmark = pytest.mark.django_db


def test_users_log_in_with_their_email_in_any_case():
    User.objects.create_user("Carol@Example.test", password="a long passphrase")

    sign_in = RequestFactory().post("/accounts/login/")  # the lockout judges sign-ins by request

    assert authenticate(sign_in, username="carol@example.test", password="a long passphrase")
    assert authenticate(sign_in, username="CAROL@EXAMPLE.TEST", password="a long passphrase")


def test_two_users_cannot_share_an_email_differing_only_in_case():
    User.objects.create(email="dave@example.test")

    with pytest.raises(IntegrityError):
        User.objects.create(email="DAVE@example.test")


def test_a_superuser_is_staff():
    user = User.objects.create_superuser("root@example.test", password="a long passphrase")

    assert user.is_staff and user.is_superuser


def test_researchers_are_not_staff(researcher):
    assert not researcher.is_staff


@pytest.mark.parametrize(
    ("fixture", "may_approve", "may_see_payment_details", "may_change_report"),
    [
        ("triager", False, False, True),
        ("finance_user", True, True, False),
        ("program_admin", False, False, False),
        ("researcher", False, False, False),
    ],
)
def test_roles_grant_exactly_their_permissions(
    request, fixture, may_approve, may_see_payment_details, may_change_report
):
    user = request.getfixturevalue(fixture)

    assert user.has_perm("bounty.approve_payout") is may_approve
    assert user.has_perm("reports.view_payment_details") is may_see_payment_details
    assert user.has_perm("reports.change_report") is may_change_report


def test_roles_are_restored_after_someone_edits_a_group():
    group = roles.sync_roles()[roles.TRIAGER]
    group.permissions.clear()

    roles.sync_roles()

    assert group.permissions.count() == len(roles.ROLE_PERMISSIONS[roles.TRIAGER])


def test_work_outside_a_request_names_its_acting_user_in_history(triager):
    with acting_user(triager):
        report = ReportFactory()

    assert report.history.get().history_user == triager


def test_history_outside_acting_user_has_no_user():
    report = ReportFactory()

    assert report.history.get().history_user is None
