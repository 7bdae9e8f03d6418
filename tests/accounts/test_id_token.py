"""The ID token checks themselves, against the loopback provider's real JWKS."""

import base64
import time

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from accounts.oidc.tokens import IDTokenRefused, verify_id_token
from tests.accounts.conftest import CLIENT_ID
from tests.accounts.oidc_provider import KEY_ID

NONCE = "n" * 32


def _claims(provider, **overrides):
    now = int(time.time())
    claims = {
        "iss": provider.issuer,
        "sub": "staff-0001",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 600,
        "nonce": NONCE,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _signed(provider, **overrides):
    return jwt.encode({"alg": "RS256", "kid": KEY_ID}, _claims(provider, **overrides), provider.key)


def _verify(provider, token, nonce=NONCE):
    return verify_id_token(
        token,
        keys_url=f"{provider.issuer}/jwks",
        issuer=provider.issuer,
        client_id=CLIENT_ID,
        nonce=nonce,
    )


def test_a_well_formed_token_gives_its_claims(oidc_provider):
    claims = _verify(oidc_provider, _signed(oidc_provider))

    assert claims["sub"] == "staff-0001"


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({"iss": "http://127.0.0.1:1"}, "Invalid issuer"),
        ({"aud": "someone-else"}, "Audience doesn't match"),
        ({"exp": int(time.time()) - 120}, "Signature has expired"),
        ({"nonce": None}, 'Token is missing the "nonce" claim'),
        ({"exp": None}, 'Token is missing the "exp" claim'),
        ({"iat": None}, 'Token is missing the "iat" claim'),
        ({"aud": [CLIENT_ID, "someone-else"]}, "several clients"),
    ],
)
def test_a_token_failing_a_check_is_refused(oidc_provider, overrides, refusal):
    with pytest.raises(IDTokenRefused, match=refusal):
        _verify(oidc_provider, _signed(oidc_provider, **overrides))


def test_a_token_for_several_clients_passes_when_issued_on_behalf_of_this_one(oidc_provider):
    token = _signed(oidc_provider, aud=[CLIENT_ID, "someone-else"], azp=CLIENT_ID)

    assert _verify(oidc_provider, token)["azp"] == CLIENT_ID


def test_a_token_with_another_nonce_is_refused(oidc_provider):
    with pytest.raises(IDTokenRefused, match="nonce"):
        _verify(oidc_provider, _signed(oidc_provider), nonce="m" * 32)


def test_a_sign_in_without_a_nonce_of_its_own_accepts_no_token(oidc_provider):
    with pytest.raises(IDTokenRefused, match="nonce"):
        _verify(oidc_provider, _signed(oidc_provider, nonce=""), nonce="")


def test_a_token_signed_by_a_key_not_in_the_jwks_is_refused(oidc_provider):
    token = jwt.encode(
        {"alg": "RS256", "kid": KEY_ID}, _claims(oidc_provider), oidc_provider.stranger_key
    )

    with pytest.raises(IDTokenRefused, match="Signature verification failed"):
        _verify(oidc_provider, token)


def test_a_token_signed_with_the_client_secret_is_refused(oidc_provider):
    # An HMAC token proves only knowledge of a shared secret, which the desk itself holds.
    secret = OctKey.import_key(b"loopback-client-secret-long-enough-for-hs256")
    token = jwt.encode({"alg": "HS256", "kid": KEY_ID}, _claims(oidc_provider), secret)

    with pytest.raises(IDTokenRefused, match="not a public-key algorithm"):
        _verify(oidc_provider, token)
    assert "GET /jwks" not in oidc_provider.requests


def test_an_unsigned_token_is_refused(oidc_provider):
    header = base64.urlsafe_b64encode(b'{"alg":"none","kid":"%s"}' % KEY_ID.encode())
    payload = _signed(oidc_provider).split(".")[1]
    token = f"{header.rstrip(b'=').decode()}.{payload}."

    with pytest.raises(IDTokenRefused, match="'none'"):
        _verify(oidc_provider, token)
