"""Lockout (django-axes, in allauth's sign-in): repeated failures lock a login at an address."""

import pytest
from allauth.account.models import EmailAddress
from axes.models import AccessAttempt
from django.contrib.admin.models import DELETION, LogEntry

from tests.accounts.sso import signed_in_user
from tests.reports.portal import PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER = {"REMOTE_ADDR": "198.51.100.7"}
ELSEWHERE = {"REMOTE_ADDR": "203.0.113.40"}
ATTEMPTS_PAGE = "/admin/axes/accessattempt/"


@pytest.fixture
def person(researcher):
    EmailAddress.objects.create(user=researcher, email=researcher.email, verified=True)
    return researcher


def _sign_in(client, login, password=PASSWORD, **extra):
    return client.post("/accounts/login/", {"login": login, "password": password}, **extra)


def _fail(client, login, times, **extra):
    return [_sign_in(client, login, "not the password", **extra) for _ in range(times)]


def _assert_locked(response):
    assert response.status_code == 429
    page = response.content.decode()
    assert "Sign-in locked" in page
    assert "After 5 failed attempts" in page
    assert "for 30 minutes" in page
    assert "ask a program admin to unlock" in page


@pytest.mark.parametrize("who", ["person", "triager"])
def test_the_fifth_failure_locks_the_sign_in_and_says_so(client, request, who):
    user = request.getfixturevalue(who)

    *first_four, fifth = _fail(client, user.email, 5, **ATTACKER)

    assert all(r.status_code == 200 for r in first_four)
    assert "not correct" in first_four[-1].content.decode()
    _assert_locked(fifth)


def test_while_locked_even_the_right_password_is_refused(client, person):
    _fail(client, person.email, 5, **ATTACKER)

    _assert_locked(_sign_in(client, person.email, **ATTACKER))
    assert not signed_in_user(client).is_authenticated


def test_changing_the_case_of_the_login_does_not_buy_more_attempts(client, person):
    logins = ["alice@example.test", "ALICE@example.test", "Alice@Example.Test"]
    for login in logins:
        _fail(client, login, 1, **ATTACKER)
    _fail(client, " alice@EXAMPLE.test ", 1, **ATTACKER)

    _assert_locked(_fail(client, "alice@example.TEST", 1, **ATTACKER)[0])


def test_the_lock_holds_at_the_attackers_address_only(client, person):
    _fail(client, person.email, 5, **ATTACKER)

    assert _sign_in(client, person.email, **ELSEWHERE)["Location"] == "/portal/"


def test_a_successful_sign_in_forgets_earlier_failures(client, person):
    _fail(client, person.email, 4, **ATTACKER)
    _sign_in(client, person.email, **ATTACKER)
    client.post("/accounts/logout/")

    responses = _fail(client, person.email, 4, **ATTACKER)

    assert all(r.status_code == 200 for r in responses)


def test_behind_a_proxy_a_forged_forwarded_for_does_not_escape_the_lock(client, settings, person):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(4):
        # The attacker writes a new address in front each time; our proxy appends the real one.
        _fail(client, person.email, 1, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 198.51.100.7", **proxy)

    fifth = _fail(client, person.email, 1, HTTP_X_FORWARDED_FOR="192.0.2.99, 198.51.100.7", **proxy)

    _assert_locked(fifth[0])
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}


# Unlocking, in the admin


def test_a_program_admin_unlocks_a_locked_sign_in(client, person, program_admin):
    _fail(client, person.email, 5, **ATTACKER)
    attempt = AccessAttempt.objects.get()
    client.force_login(program_admin)

    response = client.post(
        ATTEMPTS_PAGE, {"action": "unlock", "_selected_action": [attempt.pk]}, follow=True
    )

    assert "Unlocked 1 sign-in; they may try again now." in response.content.decode()
    assert not AccessAttempt.objects.exists()
    entry = LogEntry.objects.get(action_flag=DELETION)
    assert (entry.user, entry.object_repr) == (program_admin, str(attempt))
    client.logout()
    assert _sign_in(client, person.email, **ATTACKER)["Location"] == "/portal/"


def test_a_program_admin_sees_which_sign_ins_are_locked(client, person, program_admin):
    _fail(client, person.email, 5, **ATTACKER)
    client.force_login(program_admin)

    page = client.get(ATTEMPTS_PAGE).content.decode()

    assert person.email in page
    assert "Locked Out" in page
    assert '<option value="unlock">Unlock the selected sign-ins</option>' in page
    assert 'value="delete_selected"' not in page


@pytest.mark.parametrize("who", ["triager", "finance_user"])
def test_other_staff_cannot_see_or_lift_a_lockout(client, request, person, who):
    _fail(client, person.email, 5, **ATTACKER)
    attempt = AccessAttempt.objects.get()
    client.force_login(request.getfixturevalue(who))

    assert client.get(ATTEMPTS_PAGE).status_code == 403
    client.post(ATTEMPTS_PAGE, {"action": "unlock", "_selected_action": [attempt.pk]})

    assert AccessAttempt.objects.exists()
