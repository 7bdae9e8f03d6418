"""Which identity providers exist comes from the environment; none is ever called here.

Google, Microsoft and Okta are configured exactly like the Keycloak sign-in that test_sso.py
walks end to end (all four are allauth OpenID Connect apps); these tests check what each one's
variables turn into, and that an unconfigured provider is neither offered nor reachable.
"""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from accounts.identity_providers import configured_apps
from tests.processes import run_manage

GOOGLE = {"SSO_GOOGLE_CLIENT_ID": "g-id", "SSO_GOOGLE_CLIENT_SECRET": "g-secret"}
MICROSOFT = {
    "SSO_MICROSOFT_CLIENT_ID": "m-id",
    "SSO_MICROSOFT_CLIENT_SECRET": "m-secret",
    "SSO_MICROSOFT_TENANT": "contoso.onmicrosoft.com",
}
OKTA = {
    "SSO_OKTA_CLIENT_ID": "o-id",
    "SSO_OKTA_CLIENT_SECRET": "o-secret",
    "SSO_OKTA_BASE_URL": "example.okta.com/",
}
KEYCLOAK = {
    "SSO_KEYCLOAK_CLIENT_ID": "k-id",
    "SSO_KEYCLOAK_CLIENT_SECRET": "k-secret",
    "SSO_KEYCLOAK_SERVER_URL": "https://sso.example.test/realms/staff",
}


def _by_id(apps):
    return {app["provider_id"]: app for app in apps}


def test_nothing_configured_means_no_identity_provider():
    assert configured_apps({}) == []


def test_each_configured_provider_becomes_an_openid_connect_app_with_pkce():
    apps = _by_id(configured_apps({**GOOGLE, **MICROSOFT, **OKTA, **KEYCLOAK}))

    assert {app_id: app["settings"]["server_url"] for app_id, app in apps.items()} == {
        "google": "https://accounts.google.com",
        "microsoft": "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
        "okta": "https://example.okta.com",
        "keycloak": "https://sso.example.test/realms/staff",
    }
    assert [app["name"] for app in apps.values()] == ["Google", "Microsoft", "Okta", "Keycloak"]
    assert (apps["okta"]["client_id"], apps["okta"]["secret"]) == ("o-id", "o-secret")
    assert all(app["settings"]["oauth_pkce_enabled"] for app in apps.values())


def test_only_the_configured_providers_are_there():
    assert list(_by_id(configured_apps({**GOOGLE, **OKTA}))) == ["google", "okta"]


def test_microsoft_addresses_count_as_verified_by_the_tenant_and_no_one_elses():
    apps = _by_id(configured_apps({**GOOGLE, **MICROSOFT}))

    assert apps["microsoft"]["settings"]["verified_email"] is True
    assert "verified_email" not in apps["google"]["settings"]


@pytest.mark.parametrize("tenant", ["common", "organizations", "Consumers"])
def test_microsoft_sign_in_must_name_one_directory(tenant):
    with pytest.raises(ImproperlyConfigured, match="SSO_MICROSOFT_TENANT"):
        configured_apps({**MICROSOFT, "SSO_MICROSOFT_TENANT": tenant})


def test_a_half_configured_provider_is_refused_naming_what_is_missing():
    with pytest.raises(ImproperlyConfigured, match="set SSO_OKTA_CLIENT_SECRET, SSO_OKTA_BASE_URL"):
        configured_apps({"SSO_OKTA_CLIENT_ID": "o-id"})


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("http://sso.example.test/realms/staff", False),
        ("ftp://sso.example.test", False),
        ("http://127.0.0.1:8080/realms/staff", True),
        ("http://localhost:8080/realms/staff", True),
    ],
)
def test_an_issuer_is_reached_over_https_unless_it_runs_on_this_machine(url, accepted):
    environ = {**KEYCLOAK, "SSO_KEYCLOAK_SERVER_URL": url}

    if accepted:
        assert configured_apps(environ)[0]["settings"]["server_url"] == url
    else:
        with pytest.raises(ImproperlyConfigured, match="https://"):
            configured_apps(environ)


@pytest.fixture
def three_providers(settings, db):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            **settings.SOCIALACCOUNT_PROVIDERS["openid_connect"],
            "APPS": configured_apps({**GOOGLE, **MICROSOFT, **OKTA}),
        }
    }


def test_the_sign_in_page_offers_the_configured_providers_to_staff(client, three_providers):
    page = client.get("/accounts/login/?next=/admin/").content.decode()

    for provider_id, name in [("google", "Google"), ("microsoft", "Microsoft"), ("okta", "Okta")]:
        href = f"/accounts/oidc/{provider_id}/login/?process=login&amp;next=%2Fadmin%2F"
        assert f'<a href="{href}">Sign in with {name}</a>' in page
    assert "Keycloak" not in page


def test_an_unconfigured_provider_cannot_be_reached(client, three_providers):
    assert client.get("/accounts/oidc/keycloak/login/").status_code == 404
    assert client.post("/accounts/oidc/keycloak/login/").status_code == 404
    assert client.get("/accounts/oidc/keycloak/login/callback/").status_code == 404


def test_a_configured_provider_asks_before_it_leaves_the_desk(client, three_providers):
    # Starting a sign-in takes a POST (with its CSRF token); a GET only shows a button, so a
    # link on another site cannot start one.
    page = client.get("/accounts/oidc/okta/login/")

    assert page.status_code == 200
    assert "Sign In Via Okta" in page.content.decode()


def test_sso_only_without_a_provider_stops_the_desk_at_startup(settings):
    settings.STAFF_SSO_ONLY = True
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": []}}

    with pytest.raises(SystemCheckError, match=r"accounts\.E003"):
        call_command("check")


def test_the_settings_read_the_providers_from_the_environment():
    script = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.SOCIALACCOUNT_PROVIDERS['openid_connect']))"
    )
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        script,
        env={**GOOGLE, **MICROSOFT, **OKTA},
        unset=("SSO_",),
        check=True,
    )

    config = json.loads(result.stdout.strip().splitlines()[-1])
    assert [app["provider_id"] for app in config["APPS"]] == ["google", "microsoft", "okta"]
    assert config["OAUTH_PKCE_ENABLED"] is True
    assert config["provider_class"] == "accounts.oidc.provider.StaffOpenIDConnectProvider"
