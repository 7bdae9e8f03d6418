"""Roles change only through the service: nobody promotes themselves, nobody goes above their rank.

Written from the attacker's side: a program admin posting their own user page with
``is_superuser`` ticked, handing Finance to a second account of theirs, or setting a finance
user's password to sign in as them.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts import roles, services
from accounts.models import User
from outbox.models import OutgoingMail
from tests.factories import ReporterFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def _change_page(user):
    return reverse("admin:accounts_user_change", args=[user.pk])


def _roles_page(user):
    return reverse("admin:accounts_user_roles", args=[user.pk])


def _user_form(user, **changes):
    """What the user change form posts, with every access field an attacker would tick."""
    return {
        "email": user.email,
        "full_name": user.full_name,
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": [Group.objects.get(name=roles.FINANCE).pk],
        "user_permissions": [Permission.objects.get(codename="approve_payout").pk],
        "_save": "Save",
        **changes,
    }


def _role_mails():
    return sorted(mail.to for mail in OutgoingMail.objects.filter(template="role_changed"))


def _held(user):
    user = User.objects.get(pk=user.pk)
    return services.held_roles(user), user.is_staff, set(user.user_permissions.all())


# Attacks on one's own account


def test_a_program_admin_posting_their_own_page_with_superuser_ticked_gains_nothing(
    client, program_admin
):
    client.force_login(program_admin)

    response = client.post(_change_page(program_admin), _user_form(program_admin))

    assert response.status_code == 302
    program_admin.refresh_from_db()
    assert not program_admin.is_superuser
    assert _held(program_admin) == ({roles.PROGRAM_ADMIN}, True, set())
    assert not program_admin.has_perm("bounty.approve_payout")


@pytest.mark.parametrize("fixture", ["triager", "program_admin", "superuser"])
def test_nobody_changes_their_own_roles(client, request, fixture):
    user = request.getfixturevalue(fixture)
    before = _held(user)
    client.force_login(user)

    response = client.post(_roles_page(user), {"roles": [roles.FINANCE, roles.PROGRAM_ADMIN]})

    assert response.status_code == 403
    assert _held(user) == before
    with pytest.raises(services.RoleChangeRefused, match="their own"):
        services.grant_role(user, roles.FINANCE, acting_user=user)
    assert _role_mails() == []


def test_a_superuser_cannot_take_away_their_own_superuser_status_or_deactivate_themselves(
    client, superuser
):
    client.force_login(superuser)

    client.post(_change_page(superuser), _user_form(superuser, is_active="", is_superuser=""))

    superuser.refresh_from_db()
    assert superuser.is_superuser and superuser.is_active
    with pytest.raises(services.RoleChangeRefused):
        services.revoke_role(superuser, services.SUPERUSER_STATUS, acting_user=superuser)


# Attacks through another account


def test_a_program_admin_cannot_give_finance_to_a_second_account(client, program_admin):
    second = StaffFactory(email="my-second-account@example.test")
    client.force_login(program_admin)

    through_the_form = client.post(_change_page(second), _user_form(second))

    assert through_the_form.status_code == 302
    assert _held(second) == (set(), True, set())
    assert not User.objects.get(pk=second.pk).is_superuser

    through_the_roles_page = client.post(_roles_page(second), {"roles": [roles.FINANCE]})

    assert "Only a superuser grants or revokes Finance." in through_the_roles_page.content.decode()
    assert _held(second) == (set(), True, set())
    assert _role_mails() == []


@pytest.mark.parametrize("role", [roles.FINANCE, roles.PROGRAM_ADMIN, services.SUPERUSER_STATUS])
def test_only_a_superuser_grants_finance_program_admin_or_superuser_status(
    program_admin, superuser, role
):
    account = StaffFactory()

    with pytest.raises(services.RoleChangeRefused, match="Only a superuser"):
        services.grant_role(account, role, acting_user=program_admin)
    assert services.grant_role(account, role, acting_user=superuser)

    assert role in services.held_roles(User.objects.get(pk=account.pk))


@pytest.fixture
def researcher_account(db):
    return ReporterFactory(user=UserFactory(email="carol@example.test")).user


@pytest.mark.parametrize(
    "fixture", ["superuser", "finance_user", "second_program_admin", "researcher_account"]
)
def test_a_program_admin_cannot_take_over_an_account_above_theirs_or_a_researchers(
    client, request, program_admin, fixture
):
    account = request.getfixturevalue(fixture)
    password_page = reverse("admin:auth_user_password_change", args=[account.pk])
    client.force_login(program_admin)

    new_password = {"password1": "taken over 12345!", "password2": "taken over 12345!"}
    password = client.post(password_page, {**new_password, "usable_password": "true"})
    address = client.post(_change_page(account), _user_form(account, email="attacker@example.test"))
    promoted = client.post(_roles_page(account), {"roles": [roles.TRIAGER]})

    account.refresh_from_db()
    assert not account.check_password("taken over 12345!")
    assert account.email != "attacker@example.test"
    assert (password.status_code, address.status_code, promoted.status_code) == (403, 403, 403)


@pytest.fixture
def second_program_admin(db):
    user = StaffFactory(email="programadmin2@example.test")
    user.groups.add(Group.objects.get(name=roles.PROGRAM_ADMIN))
    return user


def test_a_triager_cannot_reach_anyones_roles(client, triager):
    account = StaffFactory()
    client.force_login(triager)

    assert client.get(_roles_page(account)).status_code == 403
    with pytest.raises(services.RoleChangeRefused):
        services.grant_role(account, roles.TRIAGER, acting_user=triager)


# What program admins may do


def test_a_program_admin_grants_triager_with_history_and_a_mail_to_every_program_admin(
    client, program_admin, second_program_admin
):
    account = UserFactory(email="new-triager@example.test")
    client.force_login(program_admin)

    response = client.post(_roles_page(account), {"roles": [roles.TRIAGER]})

    assert response.status_code == 302
    assert _held(account) == ({roles.TRIAGER}, True, set())
    last = account.history.latest()
    assert last.history_user == program_admin
    assert last.history_change_reason == f"Triager granted by {program_admin.email}"
    assert _role_mails() == sorted([program_admin.email, second_program_admin.email])


def test_revoking_the_last_role_ends_staff_status(program_admin, triager):
    assert services.revoke_role(triager, roles.TRIAGER, acting_user=program_admin)

    assert _held(triager) == (set(), False, set())
    assert triager.history.latest().history_change_reason == (
        f"Triager revoked by {program_admin.email}"
    )


def test_a_program_admin_who_loses_the_role_hears_of_it(superuser, program_admin):
    services.revoke_role(program_admin, roles.PROGRAM_ADMIN, acting_user=superuser)

    assert _role_mails() == [program_admin.email]


def test_a_refused_change_of_several_roles_changes_none(program_admin):
    account = StaffFactory()

    with pytest.raises(services.RoleChangeRefused):
        services.set_roles(account, {roles.TRIAGER, roles.FINANCE}, acting_user=program_admin)

    assert _held(account) == (set(), True, set())
    assert _role_mails() == []


def test_a_program_admin_may_still_deactivate_and_reset_a_triager(client, program_admin, triager):
    client.force_login(program_admin)

    client.post(_change_page(triager), _user_form(triager, is_active=""))
    password = client.post(
        reverse("admin:auth_user_password_change", args=[triager.pk]),
        {"password1": "a new passphrase 42", "password2": "a new passphrase 42"},
    )

    triager.refresh_from_db()
    assert not triager.is_active
    assert password.status_code == 302
    assert triager.check_password("a new passphrase 42")


def test_the_user_form_offers_no_access_field_to_edit(client, superuser, triager):
    client.force_login(superuser)

    page = client.get(_change_page(triager)).content.decode()

    for field in ("is_superuser", "is_staff", "groups", "user_permissions"):
        assert f'name="{field}"' not in page
    assert 'name="is_active"' in page
    assert _roles_page(triager) in page
