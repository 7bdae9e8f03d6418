"""The staff side answers only from allowed networks; a forged X-Forwarded-For gets nobody in."""

import pytest
from allauth.account.adapter import get_adapter
from axes.helpers import get_client_ip_address
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import RequestFactory
from django_ratelimit.core import _get_ip as ratelimit_client_ip

from accounts.network import client_ip, is_staff_network

ALLOWED = ["10.20.0.0/16", "2001:db8:42::/48"]


@pytest.fixture
def allowlist(settings):
    settings.ADMIN_ALLOWED_NETWORKS = ALLOWED
    return settings


def _get(path, client, remote="198.51.100.7", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.get(path, **extra)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("10.20.3.4", True),
        ("10.21.0.1", False),
        ("2001:db8:42::1", True),
        ("2001:db8:43::1", False),
        ("::ffff:10.20.3.4", True),
        ("not-an-address", False),
        ("", False),
    ],
)
def test_staff_networks_in_ipv4_and_ipv6(allowlist, address, allowed):
    assert is_staff_network(address) is allowed


def test_in_development_with_no_networks_configured_any_address_is_allowed(settings):
    settings.ADMIN_ALLOWED_NETWORKS = []

    assert is_staff_network("203.0.113.9")


@pytest.mark.django_db
def test_in_production_a_forgotten_allowlist_keeps_everyone_out_of_the_admin(settings, client):
    settings.PRODUCTION = True
    settings.ADMIN_ALLOWED_NETWORKS = []

    assert _get("/admin/login/", client, remote="203.0.113.9").status_code == 403
    assert _get("/admin/login/", client, remote="10.20.9.9").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("spelling", ["any", " ANY "])
def test_in_production_an_allowlist_of_any_lets_every_address_reach_the_admin(
    settings, client, spelling
):
    settings.PRODUCTION = True
    settings.ADMIN_ALLOWED_NETWORKS = [spelling]

    for remote in ("203.0.113.9", "2001:db8:99::1", "10.20.9.9"):
        response = _get("/admin/login/", client, remote=remote)
        assert response.status_code == 302, remote
        assert response["Location"] == "/accounts/login/?next=/admin/"


@pytest.mark.django_db
def test_in_production_an_outside_address_is_refused_and_an_inside_one_answered(allowlist, client):
    allowlist.PRODUCTION = True

    assert _get("/admin/login/", client, remote="203.0.113.9").status_code == 403
    assert _get("/admin/login/", client, remote="10.20.9.9").status_code == 302


def test_any_address_cannot_be_mixed_with_networks(settings):
    settings.ADMIN_ALLOWED_NETWORKS = ["any", "10.20.0.0/16"]

    with pytest.raises(SystemCheckError, match="cannot be combined with networks"):
        call_command("check")


@pytest.mark.django_db
def test_the_admin_refuses_a_client_outside_the_networks_revealing_nothing(allowlist, client):
    response = _get("/admin/login/", client)

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")
    assert b"admin" not in response.content.lower()
    assert b"django" not in response.content.lower()


@pytest.mark.django_db
def test_the_admin_answers_a_client_inside_the_networks(allowlist, client):
    response = _get("/admin/login/", client, remote="10.20.9.9")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/accounts/oidc/keycloak/login/callback/",
        "/accounts/oidc/google/login/",
        "/accounts/oidc/microsoft/login/callback/",
        "/accounts/oidc/okta/login/callback/",
        "/accounts/3rdparty/login/error/",
        "/accounts/social/signup/",
    ],
)
def test_staff_sign_on_endpoints_are_refused_outside_the_networks(allowlist, client, path):
    assert _get(path, client).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/security/", "/.well-known/security.txt", "/healthz"])
def test_public_pages_stay_reachable_from_anywhere(allowlist, client, program, path):
    assert _get(path, client).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/accounts/2fa/"])
def test_the_researchers_account_pages_stay_reachable_from_anywhere(allowlist, client, path):
    assert _get(path, client).status_code in (200, 302)


@pytest.mark.django_db
def test_the_portal_stays_reachable_from_anywhere(allowlist, client, researcher):
    client.force_login(researcher)

    assert _get("/portal/", client).status_code == 200


@pytest.mark.django_db
def test_a_forged_forwarded_for_does_not_let_a_direct_client_in(allowlist, client):
    # No proxy is trusted: the header is the client's own claim.
    response = _get("/admin/login/", client, forwarded="10.20.3.4")

    assert response.status_code == 403


@pytest.mark.django_db
def test_behind_one_proxy_the_client_is_the_address_the_proxy_saw(allowlist, client):
    allowlist.TRUSTED_PROXY_COUNT = 1

    # The client prepended an allowed address; our proxy appended the real one.
    spoofed = _get("/admin/login/", client, remote="10.0.0.2", forwarded="10.20.3.4, 198.51.100.7")
    genuine = _get("/admin/login/", client, remote="10.0.0.2", forwarded="198.51.100.7, 10.20.3.4")

    assert spoofed.status_code == 403
    assert genuine.status_code == 302


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "192.0.2.1"),
        (1, "1.1.1.1, 2.2.2.2", "2.2.2.2"),
        (2, "1.1.1.1, 2.2.2.2, 3.3.3.3", "2.2.2.2"),
        (2, "3.3.3.3", "192.0.2.1"),
        (1, "", "192.0.2.1"),
    ],
)
def test_the_client_address_counts_trusted_proxies_from_the_right(
    settings, hops, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = hops
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


@pytest.mark.parametrize(
    "count_address",
    [
        get_client_ip_address,
        ratelimit_client_ip,
        lambda request: get_adapter().get_client_ip(request),
    ],
    ids=["lockout (django-axes)", "portal rate limits (django-ratelimit)", "allauth rate limits"],
)
def test_the_lockout_and_every_rate_limit_see_the_allowlists_client_address(
    settings, count_address
):
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().post(
        "/accounts/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="10.20.3.4, 198.51.100.7"
    )

    assert count_address(request) == client_ip(request) == "198.51.100.7"


def test_an_invalid_network_is_refused_at_startup(settings):
    settings.ADMIN_ALLOWED_NETWORKS = ["10.0.0.0/33"]

    with pytest.raises(SystemCheckError, match="ADMIN_ALLOWED_NETWORKS"):
        call_command("check")
