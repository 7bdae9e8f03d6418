"""The staff identity providers the operator configured, as django-allauth OpenID Connect apps.

Google, Microsoft Entra ID, Okta and Keycloak all speak OpenID Connect, so each is one app of
allauth's OpenID Connect provider, found through its issuer's discovery document and checked
the same strict way (accounts.oidc). A provider whose variables are not set is not configured:
it is offered nowhere and its URLs answer 404. Imported by the settings, so no models here.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
# Microsoft's shared authorities let in accounts of any organisation (or any personal account),
# and their ID tokens name each user's own tenant as issuer; staff sign-in names one directory.
MICROSOFT_SHARED_TENANTS = frozenset({"common", "organizations", "consumers"})
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class IdentityProvider:
    id: str
    name: str
    # The variable naming the issuer, the Okta base URL or the Microsoft tenant; none for Google.
    location_variable: str | None

    @property
    def prefix(self) -> str:
        return f"SSO_{self.id.upper()}_"


GOOGLE = IdentityProvider("google", "Google", None)
MICROSOFT = IdentityProvider("microsoft", "Microsoft", "SSO_MICROSOFT_TENANT")
OKTA = IdentityProvider("okta", "Okta", "SSO_OKTA_BASE_URL")
KEYCLOAK = IdentityProvider("keycloak", "Keycloak", "SSO_KEYCLOAK_SERVER_URL")
IDENTITY_PROVIDERS = (GOOGLE, MICROSOFT, OKTA, KEYCLOAK)


def _https_url(variable: str, value: str) -> str:
    url = value if "://" in value else f"https://{value}"
    parts = urlsplit(url)
    if not parts.hostname or (parts.scheme != "https" and parts.hostname not in LOOPBACK_HOSTS):
        raise ImproperlyConfigured(f"{variable} must be an https:// URL, not {value!r}.")
    return url.rstrip("/")


def _issuer(provider: IdentityProvider, location: str) -> str:
    if provider is GOOGLE:
        return "https://accounts.google.com"
    if provider is MICROSOFT:
        if location.lower() in MICROSOFT_SHARED_TENANTS or "/" in location:
            raise ImproperlyConfigured(
                "SSO_MICROSOFT_TENANT must be your directory's tenant id or domain; "
                f"{location!r} would let in accounts of other organisations."
            )
        return f"{MICROSOFT_AUTHORITY}/{location}/v2.0"
    return _https_url(provider.location_variable, location)


def _app(provider: IdentityProvider, environ: Mapping[str, str]) -> dict | None:
    variables = [f"{provider.prefix}CLIENT_ID", f"{provider.prefix}CLIENT_SECRET"]
    if provider.location_variable:
        variables.append(provider.location_variable)
    values = {name: environ.get(name, "").strip() for name in variables}
    if not any(values.values()):
        return None
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ImproperlyConfigured(
            f"{provider.name} sign-in is half configured: set {', '.join(missing)} as well."
        )
    app_settings = {
        "server_url": _issuer(provider, values.get(provider.location_variable, "")),
        "oauth_pkce_enabled": True,
    }
    if provider is MICROSOFT:
        # Entra ID sends no email_verified claim. The tenant is the operator's own directory,
        # whose addresses its administrators assign, so they count as verified.
        app_settings["verified_email"] = True
    return {
        "provider_id": provider.id,
        "name": provider.name,
        "client_id": values[f"{provider.prefix}CLIENT_ID"],
        "secret": values[f"{provider.prefix}CLIENT_SECRET"],
        "settings": app_settings,
    }


def configured_apps(environ: Mapping[str, str]) -> list[dict]:
    """Return an allauth app for each identity provider whose variables are set."""
    apps = (_app(provider, environ) for provider in IDENTITY_PROVIDERS)
    return [app for app in apps if app is not None]
