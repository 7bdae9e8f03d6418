"""Security headers: a strict Content-Security-Policy and the usual browser protections."""

import pytest

from bounty.reference_program import load_reference_program

pytestmark = pytest.mark.django_db

HTML_PAGES = ["/security/", "/admin/login/"]


@pytest.fixture(autouse=True)
def program(db):
    return load_reference_program()


def _policy(response):
    directives = [part.strip().split() for part in response["Content-Security-Policy"].split(";")]
    return {name: values for name, *values in directives}


@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_pages_send_a_strict_content_security_policy(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert _policy(response) == {
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


def test_the_admin_login_page_has_no_inline_scripts_or_styles(client):
    page = client.get("/admin/login/").content.decode()

    assert "<style" not in page
    assert "style=" not in page
    assert "<script>" not in page
