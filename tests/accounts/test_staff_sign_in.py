"""Staff sign in on allauth's page, from allowed networks only, and with SSO_ONLY by SSO only."""

import pytest
from allauth.account.models import EmailAddress

from tests.accounts.sso import sign_in_through_sso, signed_in_user
from tests.reports.portal import PASSWORD

pytestmark = pytest.mark.django_db

ALLOWED = "10.20.0.0/16"
INSIDE = {"REMOTE_ADDR": "10.20.3.4"}
OUTSIDE = {"REMOTE_ADDR": "198.51.100.7"}


def _sign_in(client, user, **extra):
    return client.post("/accounts/login/", {"login": user.email, "password": PASSWORD}, **extra)


@pytest.fixture
def verified_researcher(researcher):
    EmailAddress.objects.create(user=researcher, email=researcher.email, verified=True)
    return researcher


# The admin signs in through allauth


def test_the_admin_login_page_is_allauths_sign_in_keeping_where_to_go_next(client, db):
    response = client.get("/admin/login/?next=/admin/reports/report/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/reports/report/"


def test_the_admin_login_does_not_send_anyone_to_another_site(client, db):
    response = client.get("/admin/login/?next=https://evil.example.test/")

    assert response["Location"] == "/accounts/login/?next=/admin/"


def test_a_signed_in_researcher_is_refused_the_admin_rather_than_sent_round_in_circles(
    client, researcher
):
    client.force_login(researcher)

    response = client.get("/admin/", follow=True)

    assert response.status_code == 403
    assert [url for url, _ in response.redirect_chain] == ["/admin/login/?next=/admin/"]


def test_signed_in_staff_visiting_the_admin_login_go_where_they_were_going(client, triager):
    client.force_login(triager)

    assert client.get("/admin/login/?next=/admin/reports/")["Location"] == "/admin/reports/"


def test_staff_sign_in_with_a_password_lands_in_the_admin(client, triager):
    response = _sign_in(client, triager)

    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_staff_account_made_by_an_operator_needs_no_address_confirmation(client, triager):
    assert not EmailAddress.objects.filter(user=triager).exists()

    assert _sign_in(client, triager)["Location"] == "/admin/"


def test_signing_out_of_the_admin_ends_the_session(client, triager):
    client.force_login(triager)

    response = client.post("/admin/logout/")

    assert response["Location"] == "/accounts/login/"
    assert not signed_in_user(client).is_authenticated


def test_a_researcher_signing_in_goes_to_the_portal(client, verified_researcher):
    assert _sign_in(client, verified_researcher)["Location"] == "/portal/"


# Staff sign in from the allowed networks only


def test_staff_cannot_sign_in_with_a_password_from_outside_the_networks(client, settings, triager):
    settings.ADMIN_ALLOWED_NETWORKS = [ALLOWED]

    response = _sign_in(client, triager, **OUTSIDE)

    assert response.status_code == 403
    assert response.content == b"Forbidden\n"
    assert not signed_in_user(client).is_authenticated


def test_staff_sign_in_from_inside_the_networks(client, settings, triager):
    settings.ADMIN_ALLOWED_NETWORKS = [ALLOWED]

    assert _sign_in(client, triager, **INSIDE)["Location"] == "/admin/"


def test_researchers_sign_in_from_anywhere(client, settings, verified_researcher):
    settings.ADMIN_ALLOWED_NETWORKS = [ALLOWED]

    assert _sign_in(client, verified_researcher, **OUTSIDE)["Location"] == "/portal/"


def test_sso_from_outside_the_networks_is_refused_before_it_starts(client, settings, keycloak):
    settings.ADMIN_ALLOWED_NETWORKS = [ALLOWED]

    response = client.post("/accounts/oidc/keycloak/login/", **OUTSIDE)

    assert response.status_code == 403
    assert keycloak.requests == []


def test_sso_from_inside_the_networks(client, settings, keycloak):
    settings.ADMIN_ALLOWED_NETWORKS = [ALLOWED]

    sign_in_through_sso(client, keycloak, **INSIDE)

    assert signed_in_user(client).is_staff


# STAFF_SSO_ONLY


@pytest.fixture
def sso_only(settings, keycloak):
    settings.STAFF_SSO_ONLY = True
    return keycloak


def test_with_sso_only_staff_passwords_stop_working(client, sso_only, triager):
    response = _sign_in(client, triager)

    assert response.status_code == 403
    assert "sign in through their organisation" in response.content.decode()
    assert not signed_in_user(client).is_authenticated


def test_with_sso_only_staff_sign_in_through_sso(client, sso_only):
    assert sign_in_through_sso(client, sso_only)["Location"] == "/admin/"


def test_with_sso_only_researchers_keep_their_passwords(client, sso_only, verified_researcher):
    assert _sign_in(client, verified_researcher)["Location"] == "/portal/"


def test_with_sso_only_a_superuser_still_signs_in_with_a_password_and_it_is_logged(
    client, sso_only, superuser, caplog
):
    assert _sign_in(client, superuser)["Location"] == "/admin/"
    assert f"Superuser {superuser.email} signed in with a password (break-glass)" in caplog.text


def test_the_break_glass_superuser_is_still_bound_to_the_networks(
    client, settings, sso_only, superuser
):
    settings.ADMIN_ALLOWED_NETWORKS = [ALLOWED]

    assert _sign_in(client, superuser, **OUTSIDE).status_code == 403
    assert not signed_in_user(client).is_authenticated
