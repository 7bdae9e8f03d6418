from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from accounts.network import staff_networks
from accounts.sso import role_rules


@checks.register(checks.Tags.security)
def check_staff_networks(app_configs, **kwargs):
    """Refuse to start with an allowlist entry that is not a network."""
    try:
        staff_networks()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="accounts.E001")]
    return []


@checks.register(checks.Tags.security)
def check_sso_role_map(app_configs, **kwargs):
    """Refuse to start with a role map rule that does not parse or names no role."""
    try:
        role_rules()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="accounts.E002")]
    return []


@checks.register(checks.Tags.security)
def check_staff_can_sign_in(app_configs, **kwargs):
    """Refuse STAFF_SSO_ONLY without an identity provider: no staff member could sign in."""
    providers = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", [])
    if settings.STAFF_SSO_ONLY and not providers:
        return [
            checks.Error(
                "STAFF_SSO_ONLY is on but no identity provider is configured (SSO_GOOGLE_*, "
                "SSO_MICROSOFT_*, SSO_OKTA_* or SSO_KEYCLOAK_*).",
                id="accounts.E003",
            )
        ]
    return []
