"""Staff single sign-on, end to end against a real OpenID Connect provider on loopback.

Nothing is mocked between the desk and the provider: allauth fetches discovery, exchanges the
code (with PKCE) at the token endpoint and fetches the JWKS over HTTP on 127.0.0.1, and the
desk verifies the signed ID token before it maps the identity to roles.
"""

import pytest
from allauth.socialaccount.models import SocialAccount

from accounts import roles
from accounts.models import User
from tests.accounts.oidc_provider import Misbehaviour
from tests.accounts.sso import (
    CALLBACK_URL,
    LOGIN_URL,
    approve_at_provider,
    authorization_request,
    sign_in_through_sso,
    signed_in_user,
)
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def _role_names(user):
    return set(user.groups.values_list("name", flat=True))


def _assert_refused(client, response, why):
    assert response.status_code == 403
    assert "Sign-in refused" in response.content.decode()
    assert why in response.content.decode()
    assert not signed_in_user(client).is_authenticated
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


# The whole flow


def test_a_staff_member_signs_in_through_sso_and_lands_in_the_admin_with_their_role(
    client, keycloak
):
    # The admin sends an anonymous visitor to allauth's sign-in page, which offers the provider.
    to_login = client.get("/admin/")
    assert to_login["Location"] == "/admin/login/?next=/admin/"
    to_allauth = client.get(to_login["Location"])
    assert to_allauth["Location"] == "/accounts/login/?next=/admin/"
    login_page = client.get(to_allauth["Location"]).content.decode()
    assert f'href="{LOGIN_URL}?process=login&amp;next=%2Fadmin%2F"' in login_page

    # Starting the sign-in sends the browser to the provider with state, nonce and PKCE.
    to_provider = client.post(f"{LOGIN_URL}?process=login&next=/admin/")
    query = authorization_request(to_provider, keycloak)
    assert query["client_id"] == "bounty-desk"
    assert query["redirect_uri"] == f"http://testserver{CALLBACK_URL}"
    assert query["response_type"] == "code"
    assert set(query["scope"].split()) >= {"openid", "email"}
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) >= 43
    assert len(query["state"]) >= 16 and len(query["nonce"]) >= 32

    # The provider approves and sends the browser back; the desk completes the sign-in.
    landed = client.get(approve_at_provider(to_provider["Location"]))

    assert landed.status_code == 302
    assert landed["Location"] == "/admin/"
    user = signed_in_user(client)
    assert user.email == "dana@partner.example.test"
    assert user.full_name == "Dana Triage"
    assert user.is_staff and not user.is_superuser
    assert _role_names(user) == {roles.TRIAGER}
    assert not user.has_usable_password()
    admin_index = client.get("/admin/")
    assert admin_index.status_code == 200
    assert "Reports" in admin_index.content.decode()


def test_the_desk_proves_pkce_at_the_token_endpoint_and_checks_the_jwks(client, keycloak):
    sign_in_through_sso(client, keycloak)

    assert keycloak.requests == [
        "GET /.well-known/openid-configuration",
        "GET /authorize",
        "GET /.well-known/openid-configuration",
        "POST /token",
        "GET /jwks",
    ]
    (token_request,) = keycloak.token_requests
    assert token_request["grant_type"] == "authorization_code"
    assert len(token_request["code_verifier"]) >= 43


def test_the_account_remembers_its_identity_at_the_provider(client, keycloak):
    sign_in_through_sso(client, keycloak)

    account = SocialAccount.objects.get()
    assert (account.provider, account.uid) == ("keycloak", "staff-0001")
    assert account.user == signed_in_user(client)


# What is refused


@pytest.mark.parametrize(
    ("misbehaviour", "why"),
    [
        (Misbehaviour(audience="another-client"), "Audience doesn't match"),
        (Misbehaviour(signed_by_stranger=True), "Signature verification failed"),
        (Misbehaviour(expired=True), "Signature has expired"),
        (Misbehaviour(nonce="a-nonce-from-another-sign-in"), "nonce"),
    ],
    ids=["wrong audience", "bad signature", "expired", "wrong nonce"],
)
def test_an_id_token_that_fails_a_check_signs_nobody_in(
    client, keycloak, misbehaviour, why, caplog
):
    keycloak.misbehaviour = misbehaviour

    response = sign_in_through_sso(client, keycloak)

    assert response.status_code == 401
    assert "Third-Party Login Failure" in response.content.decode()
    assert why in caplog.text
    assert not signed_in_user(client).is_authenticated
    assert not User.objects.exists()
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_an_identity_the_role_map_does_not_cover_gets_no_account(client, keycloak):
    keycloak.identity.groups = ["marketing"]

    response = sign_in_through_sso(client, keycloak)

    _assert_refused(client, response, "no staff role is mapped to this identity")
    assert not User.objects.exists()


def test_an_email_domain_maps_only_an_address_the_provider_verified(client, keycloak):
    keycloak.identity.groups = []
    keycloak.identity.email = "eve@staff.example.test"
    keycloak.identity.email_verified = False

    response = sign_in_through_sso(client, keycloak)

    _assert_refused(client, response, "no staff role is mapped to this identity")


def test_a_verified_address_in_a_mapped_domain_is_enough(client, keycloak):
    keycloak.identity.groups = []
    keycloak.identity.email = "erin@staff.example.test"

    sign_in_through_sso(client, keycloak)

    assert _role_names(signed_in_user(client)) == {roles.TRIAGER}


def test_a_callback_whose_state_this_browser_never_started_is_refused(client, keycloak):
    other_browser = client.__class__()
    to_provider = other_browser.post(LOGIN_URL)

    response = client.get(approve_at_provider(to_provider["Location"]))

    assert "Third-Party Login Failure" in response.content.decode()
    assert not signed_in_user(client).is_authenticated
    assert "POST /token" not in keycloak.requests


def test_a_callback_cannot_be_replayed(client, keycloak):
    to_provider = client.post(LOGIN_URL)
    callback = approve_at_provider(to_provider["Location"])
    client.get(callback)
    client.post("/accounts/logout/")

    replayed = client.get(callback)

    assert "Third-Party Login Failure" in replayed.content.decode()
    assert not signed_in_user(client).is_authenticated


# Roles follow the identity provider


def test_roles_are_applied_again_on_every_sign_in(client, keycloak):
    sign_in_through_sso(client, keycloak)
    client.post("/accounts/logout/")
    keycloak.identity.groups = ["bounty-finance", "bounty-admins"]

    sign_in_through_sso(client, keycloak)

    user = signed_in_user(client)
    assert _role_names(user) == {roles.FINANCE, roles.PROGRAM_ADMIN}
    change = user.history.filter(history_change_reason__startswith="Single sign-on").latest()
    assert change.history_change_reason == (
        "Single sign-on through Keycloak: roles Finance, Program admin (were Triager)"
    )
    assert change.history_user == user


def test_an_identity_dropped_from_the_mapping_loses_its_staff_rights(client, keycloak):
    sign_in_through_sso(client, keycloak)
    client.post("/accounts/logout/")
    keycloak.identity.groups = []

    response = sign_in_through_sso(client, keycloak)

    _assert_refused(client, response, "no staff role is mapped to this identity")
    user = User.objects.get(email="dana@partner.example.test")
    assert not user.is_staff
    assert _role_names(user) == set()


def test_groups_that_are_not_roles_are_left_alone(client, keycloak):
    from django.contrib.auth.models import Group

    sign_in_through_sso(client, keycloak)
    user = signed_in_user(client)
    user.groups.add(Group.objects.create(name="On call"))
    client.post("/accounts/logout/")

    sign_in_through_sso(client, keycloak)

    assert _role_names(user) == {roles.TRIAGER, "On call"}


# Existing accounts


def test_an_existing_staff_account_is_linked_by_its_verified_address(client, keycloak):
    staff = StaffFactory(email="dana@partner.example.test")
    keycloak.identity.groups = ["bounty-finance"]

    sign_in_through_sso(client, keycloak)

    assert signed_in_user(client) == staff
    assert _role_names(staff) == {roles.FINANCE}
    assert SocialAccount.objects.get().user == staff
    staff.refresh_from_db()
    # Nothing proved who chose the old password; from now on the identity provider decides.
    assert not staff.has_usable_password()


def test_a_researcher_account_is_never_turned_into_staff(client, keycloak, researcher):
    keycloak.identity.email = researcher.email

    response = sign_in_through_sso(client, keycloak)

    _assert_refused(client, response, "not staff")
    researcher.refresh_from_db()
    assert not researcher.is_staff
    assert _role_names(researcher) == set()
    assert researcher.has_usable_password()


def test_a_superuser_is_kept_apart_from_single_sign_on(client, keycloak, superuser):
    keycloak.identity.email = superuser.email

    response = sign_in_through_sso(client, keycloak)

    _assert_refused(client, response, "superusers are kept apart")
    superuser.refresh_from_db()
    assert superuser.has_usable_password()
    assert not SocialAccount.objects.exists()


def test_connecting_an_identity_to_a_signed_in_account_is_refused(client, keycloak, researcher):
    client.force_login(researcher)
    to_provider = client.post(f"{LOGIN_URL}?process=connect")

    response = client.get(approve_at_provider(to_provider["Location"]))

    assert response.status_code == 403
    assert not SocialAccount.objects.exists()
    researcher.refresh_from_db()
    assert not researcher.is_staff


# Which providers exist


def test_a_provider_the_operator_did_not_configure_does_not_exist(client, keycloak):
    login_page = client.get("/accounts/login/").content.decode()

    assert "Sign in with Keycloak" in login_page
    assert "Okta" not in login_page
    assert client.post("/accounts/oidc/okta/login/").status_code == 404
    assert client.get("/accounts/oidc/okta/login/callback/?code=x&state=y").status_code == 404


def test_without_any_provider_the_sign_in_page_offers_no_single_sign_on(client, db):
    login_page = client.get("/accounts/login/").content.decode()

    assert "Staff" not in login_page
    assert client.post(LOGIN_URL).status_code == 404
