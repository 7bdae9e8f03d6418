"""The browser's part of a staff single sign-on, driven by Django's test client and requests."""

from urllib.parse import parse_qs, urlsplit

import requests
from django.contrib.auth import get_user

LOGIN_URL = "/accounts/oidc/keycloak/login/"
CALLBACK_URL = "/accounts/oidc/keycloak/login/callback/"


def authorization_request(response, provider) -> dict[str, str]:
    """Return the query the desk sent the browser to the provider's authorization endpoint with."""
    assert response.status_code == 302, response.content.decode()
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{provider.issuer}/authorize"
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def approve_at_provider(authorize_url: str) -> str:
    """Follow the desk's redirect to the provider; return the callback path it sends back to."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    callback = urlsplit(answer.headers["Location"])
    assert callback.path == CALLBACK_URL
    return f"{callback.path}?{callback.query}"


def sign_in_through_sso(client, provider, *, next_url="/admin/", **request_extra):
    """Sign in through the provider as its configured user; return the callback's response."""
    to_provider = client.post(f"{LOGIN_URL}?next={next_url}", **request_extra)
    authorization_request(to_provider, provider)
    return client.get(approve_at_provider(to_provider["Location"]), **request_extra)


def signed_in_user(client):
    """Return whom the client's session signs in (AnonymousUser for nobody)."""
    return get_user(client)
