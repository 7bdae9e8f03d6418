"""Two-factor authentication (allauth): required of staff when STAFF_REQUIRE_MFA is on."""

import re
import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)

from tests.accounts.sso import sign_in_through_sso, signed_in_user
from tests.config.test_headers import content_security_policy
from tests.reports.portal import PASSWORD, reauthenticate

pytestmark = pytest.mark.django_db


@pytest.fixture
def mfa_required(settings):
    settings.STAFF_REQUIRE_MFA = True
    return settings


def _code(secret):
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


def _with_authenticator_app(user):
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def _sign_in(client, user):
    return client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})


# Required of staff


def test_staff_without_a_second_factor_are_sent_to_set_one_up(client, mfa_required, triager):
    client.force_login(triager)

    response = client.get("/admin/reports/report/")

    assert response["Location"] == "/accounts/2fa/"
    page = client.get(response["Location"]).content.decode()
    assert "Staff need two-factor authentication" in page
    assert "Authenticator App" in page and "Security Keys" in page


def test_staff_with_an_authenticator_app_reach_the_admin(client, mfa_required, triager):
    _with_authenticator_app(triager)
    client.force_login(triager)

    assert client.get("/admin/").status_code == 200


def test_a_security_key_is_a_second_factor(client, mfa_required, triager):
    Authenticator.objects.create(user=triager, type=Authenticator.Type.WEBAUTHN, data={})
    client.force_login(triager)

    assert client.get("/admin/").status_code == 200


def test_recovery_codes_alone_are_not_a_second_factor(client, mfa_required, triager):
    Authenticator.objects.create(user=triager, type=Authenticator.Type.RECOVERY_CODES, data={})
    client.force_login(triager)

    assert client.get("/admin/")["Location"] == "/accounts/2fa/"


def test_staff_without_a_second_factor_may_still_sign_out(client, mfa_required, triager):
    client.force_login(triager)

    client.post("/admin/logout/")

    assert not signed_in_user(client).is_authenticated


def test_researchers_are_not_required_to_use_a_second_factor(client, mfa_required, researcher):
    client.force_login(researcher)

    assert client.get("/portal/").status_code == 200


def test_without_the_requirement_staff_reach_the_admin_without_one(client, settings, triager):
    settings.STAFF_REQUIRE_MFA = False
    client.force_login(triager)

    assert client.get("/admin/").status_code == 200


# Asked for at every sign-in


def test_staff_with_an_authenticator_are_asked_for_a_code_after_the_password(
    client, mfa_required, triager
):
    secret = _with_authenticator_app(triager)

    response = _sign_in(client, triager)

    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert not signed_in_user(client).is_authenticated
    response = client.post("/accounts/2fa/authenticate/", {"code": _code(secret)})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_single_sign_on_asks_for_the_second_factor_too(client, mfa_required, keycloak):
    sign_in_through_sso(client, keycloak)
    staff = signed_in_user(client)
    secret = _with_authenticator_app(staff)
    client.post("/accounts/logout/")

    response = sign_in_through_sso(client, keycloak)

    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert not signed_in_user(client).is_authenticated
    client.post("/accounts/2fa/authenticate/", {"code": _code(secret)})
    assert signed_in_user(client) == staff


# Security keys and passkeys work under the strict Content-Security-Policy


def test_adding_a_security_key_loads_allauths_scripts_from_this_site_only(client, triager):
    client.force_login(triager)
    reauthenticate(client)

    response = client.get("/accounts/2fa/webauthn/add/")

    assert response.status_code == 200
    page = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>", page)
    sources = [re.search(r'src="([^"]+)"', tag)[1] for tag in scripts if "src=" in tag]
    assert sources == [
        "/static/mfa/js/webauthn-json.js",
        "/static/mfa/js/webauthn.js",
        "/static/account/js/onload.js",
    ]
    # The rest carry data for those scripts: the browser never runs them.
    assert all('type="application/json"' in tag for tag in scripts if "src=" not in tag)
    # Directives come in no fixed order: compare the parsed policy, not a substring.
    assert content_security_policy(response)["script-src"] == ["'self'"]
