"""A real OpenID Connect provider on loopback, for testing staff single sign-on offline.

It serves discovery, a JWKS, an authorization endpoint that approves its configured user at
once, and a token endpoint that checks the client, the code, the redirect URI and the PKCE
verifier (S256) before it signs an ID token (RS256, with joserfc). Knobs make it misbehave the
ways a test needs: another audience, a signature by a key not in the JWKS, an expired token,
a different nonce, or a user the desk has no role for.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

KEY_ID = "loopback-signing-key"


@dataclass
class Identity:
    subject: str = "staff-0001"
    email: str = "dana@partner.example.test"
    email_verified: bool = True
    name: str = "Dana Triage"
    groups: list[str] = field(default_factory=list)


@dataclass
class Misbehaviour:
    audience: str | None = None
    signed_by_stranger: bool = False
    expired: bool = False
    nonce: str | None = None


@cache
def signing_keys() -> tuple[RSAKey, RSAKey]:
    """Return the provider's key and a stranger's with the same key id, made once per run."""
    return tuple(
        RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "alg": "RS256", "use": "sig"})
        for _ in range(2)
    )


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class LoopbackOIDCProvider:
    """Run the provider on 127.0.0.1 on a free port until ``stop()``."""

    def __init__(self, *, client_id: str, client_secret: str):
        self.client_id = client_id
        self.client_secret = client_secret
        self.identity = Identity()
        self.misbehaviour = Misbehaviour()
        # Same key id, different key: a token the stranger signs must fail the signature check.
        self.key, self.stranger_key = signing_keys()
        self.requests: list[str] = []
        self.token_requests: list[dict] = []
        self._codes: dict[str, dict] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> "LoopbackOIDCProvider":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # What the endpoints answer

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        }

    def jwks(self) -> dict:
        return {"keys": [self.key.as_dict(private=False)]}

    def authorize(self, query: dict[str, str]) -> tuple[int, dict]:
        """Approve the configured user: redirect back with a code, or say what was wrong."""
        problems = [
            name
            for name, ok in [
                ("client_id", query.get("client_id") == self.client_id),
                ("response_type", query.get("response_type") == "code"),
                ("scope", "openid" in query.get("scope", "").split()),
                ("code_challenge_method", query.get("code_challenge_method") == "S256"),
                ("code_challenge", bool(query.get("code_challenge"))),
                ("redirect_uri", bool(query.get("redirect_uri"))),
                ("state", bool(query.get("state"))),
            ]
            if not ok
        ]
        if problems:
            return 400, {"error": "invalid_request", "error_description": ", ".join(problems)}
        code = secrets.token_urlsafe(16)
        self._codes[code] = {
            "redirect_uri": query["redirect_uri"],
            "code_challenge": query["code_challenge"],
            "nonce": query.get("nonce"),
        }
        location = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return 302, {"Location": location}

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict]:
        """Exchange a code for tokens after checking the client, the code and its PKCE verifier."""
        self.token_requests.append(form)
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization.removeprefix("Basic ")).decode()
            client_id, _, client_secret = decoded.partition(":")
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return 401, {"error": "invalid_client"}
        grant = self._codes.pop(form.get("code", ""), None)
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or form.get("redirect_uri") != grant["redirect_uri"]
        ):
            return 400, {"error": "invalid_grant"}
        if _s256(form.get("code_verifier", "")) != grant["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        return 200, {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": self.id_token(nonce=grant["nonce"]),
        }

    def id_token(self, *, nonce: str | None) -> str:
        now = int(time.time())
        issued = now - 7200 if self.misbehaviour.expired else now
        identity = self.identity
        claims = {
            "iss": self.issuer,
            "sub": identity.subject,
            "aud": self.misbehaviour.audience or self.client_id,
            "iat": issued,
            "exp": issued + 600,
            "nonce": self.misbehaviour.nonce or nonce,
            "email": identity.email,
            "email_verified": identity.email_verified,
            "name": identity.name,
            "groups": identity.groups,
        }
        key = self.stranger_key if self.misbehaviour.signed_by_stranger else self.key
        return jwt.encode({"alg": "RS256", "kid": KEY_ID}, claims, key)

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def _answer(self, status: int, body: dict) -> None:
                if status == 302:
                    self.send_response(302)
                    self.send_header("Location", body["Location"])
                    self.end_headers()
                    return
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                url = urlsplit(self.path)
                provider.requests.append(f"GET {url.path}")
                query = {name: values[0] for name, values in parse_qs(url.query).items()}
                routes = {
                    "/.well-known/openid-configuration": lambda: (200, provider.discovery()),
                    "/jwks": lambda: (200, provider.jwks()),
                    "/authorize": lambda: provider.authorize(query),
                }
                route = routes.get(url.path)
                self._answer(*(route() if route else (404, {"error": "not_found"})))

            def do_POST(self):
                url = urlsplit(self.path)
                provider.requests.append(f"POST {url.path}")
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                form = {name: values[0] for name, values in parse_qs(body).items()}
                if url.path != "/token":
                    self._answer(404, {"error": "not_found"})
                    return
                self._answer(*provider.token(form, self.headers.get("Authorization", "")))

        return Handler
