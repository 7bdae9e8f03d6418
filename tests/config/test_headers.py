"""Security headers and cookies: a strict Content-Security-Policy and the browser protections.

Every HTML page the URL walk (tests/test_url_access.py) fetches is checked for the policy too.
"""

import json
import re

import pytest
from allauth.account.models import EmailAddress

from bounty.reference_program import load_reference_program
from tests.config.test_settings import MASTER_KEY, STRONG_KEY
from tests.processes import DEPLOYMENT_SETTINGS, run_manage
from tests.reports.portal import PASSWORD, count_rate_limits_afresh

pytestmark = pytest.mark.django_db

HTML_PAGES = ["/security/", "/accounts/login/", "/accounts/signup/"]
STRICT_POLICY = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'none'"],
}


@pytest.fixture(autouse=True)
def program(db):
    return load_reference_program()


def content_security_policy(response) -> dict[str, list[str]]:
    """Return a response's Content-Security-Policy as {directive: values}."""
    directives = [part.strip().split() for part in response["Content-Security-Policy"].split(";")]
    return {name: values for name, *values in directives}


@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_pages_send_a_strict_content_security_policy(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert content_security_policy(response) == STRICT_POLICY


def test_the_admin_sends_the_same_strict_policy(client, triager):
    client.force_login(triager)

    assert content_security_policy(client.get("/admin/")) == STRICT_POLICY


@pytest.mark.parametrize("path", HTML_PAGES)
def test_the_policy_allows_no_inline_code_and_no_eval(client, path):
    policy = client.get(path)["Content-Security-Policy"]

    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "unsafe-hashes" not in policy


@pytest.mark.parametrize("path", [*HTML_PAGES, "/.well-known/security.txt"])
def test_pages_refuse_framing_sniffing_and_cross_origin_referrers(client, path):
    response = client.get(path)

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    "path",
    ["/admin/", "/admin/reports/report/", "/admin/bounty/payout/", "/admin/accounts/user/add/"],
)
def test_admin_pages_have_no_inline_scripts_or_styles(client, superuser, path):
    client.force_login(superuser)
    page = client.get(path).content.decode()

    assert "<style" not in page
    assert "style=" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", page)
    assert not re.search(r"\son[a-z]+=", page)


def test_the_session_and_csrf_cookies_are_kept_from_scripts_and_other_sites(
    client, settings, researcher
):
    count_rate_limits_afresh(settings)
    EmailAddress.objects.create(user=researcher, email=researcher.email, verified=True)
    login_page = client.get("/accounts/login/")

    signed_in = client.post("/accounts/login/", {"login": researcher.email, "password": PASSWORD})

    session = signed_in.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"] == "Lax"
    csrf = login_page.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"


PRODUCTION_PROBE = """
import json
from django.conf import settings
from django.test import Client

response = Client(HTTP_HOST="desk.example.test").get("/no-such-page/", secure=True)
names = [
    "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE", "CSRF_COOKIE_HTTPONLY", "CSRF_COOKIE_SAMESITE", "SECURE_SSL_REDIRECT",
    "STAFF_REQUIRE_MFA", "MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN", "DEBUG",
]
print(json.dumps({
    "settings": {name: getattr(settings, name) for name in names},
    "headers": dict(response.headers),
}))
"""


@pytest.fixture(scope="module")
def production():
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        PRODUCTION_PROBE,
        env={
            "BOUNTY_ENV": "production",
            "SECRET_KEY": STRONG_KEY,
            "ALLOWED_HOSTS": "desk.example.test",
            "BOUNTY_MASTER_KEY": MASTER_KEY,
            "DATA_REGION": "eu",
        },
        unset=(*DEPLOYMENT_SETTINGS, "STAFF_", "SSO_"),
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_cookies_go_over_https_only_and_stay_on_this_site(production):
    assert {
        name: production["settings"][name]
        for name in production["settings"]
        if name.startswith(("SESSION_", "CSRF_", "SECURE_", "DEBUG"))
    } == {
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_SSL_REDIRECT": True,
        "DEBUG": False,
    }


def test_production_requires_staff_to_use_a_second_factor_over_https(production):
    assert production["settings"]["STAFF_REQUIRE_MFA"] is True
    assert production["settings"]["MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN"] is False


def test_production_responses_carry_hsts_and_the_browser_protections(production):
    headers = production["headers"]

    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
