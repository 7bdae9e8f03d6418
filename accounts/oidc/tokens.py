"""Verify an OpenID Connect ID token: signature (against the JWKS), issuer, audience, nonce, age."""

import hmac

import jwt
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.providers.oauth2.client import OAuth2Error

# Public-key algorithms only: "none" and the HMAC family would let whoever knows the client secret,
# or nobody at all, sign a token.
SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "nonce"]
# Clocks of the desk and the identity provider may disagree by this many seconds.
CLOCK_SKEW = 60


class IDTokenRefused(OAuth2Error):
    """The identity provider's ID token failed a check; allauth shows its sign-in error page."""


def verify_id_token(token: str, *, keys_url: str, issuer: str, client_id: str, nonce: str) -> dict:
    """Return the claims of ``token`` once every check of OpenID Connect Core 3.1.3.7 passed."""
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
        if algorithm not in SIGNING_ALGORITHMS:
            raise IDTokenRefused(f"ID token signed with {algorithm!r}, not a public-key algorithm")
        _, key = jwtkit.fetch_key(token, keys_url, jwtkit.lookup_kid_jwk)
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[algorithm],
            audience=client_id,
            issuer=issuer,
            leeway=CLOCK_SKEW,
            options={"require": REQUIRED_CLAIMS},
        )
    except (jwt.PyJWTError, KeyError) as error:
        raise IDTokenRefused(f"ID token refused: {error}") from error
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise IDTokenRefused("ID token issued to several clients, and not on behalf of this one")
    if not nonce or not hmac.compare_digest(str(claims["nonce"]), nonce):
        raise IDTokenRefused("ID token does not carry the nonce of this sign-in")
    return claims
