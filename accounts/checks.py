from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from accounts.network import ANY_ADDRESS, admits_every_address, staff_networks
from accounts.sso import role_rules


@checks.register(checks.Tags.security)
def check_staff_networks(app_configs, **kwargs):
    """Refuse to start with an allowlist entry that is not a network."""
    try:
        staff_networks()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="accounts.E001")]
    return []


@checks.register(checks.Tags.security, deploy=True)
def check_staff_networks_are_chosen(app_configs, **kwargs):
    """Refuse a production desk with no allowlist; note an allowlist open to every address."""
    try:
        networks = staff_networks()
    except ImproperlyConfigured:
        return []  # check_staff_networks reports it
    if settings.PRODUCTION and not networks:
        return [
            checks.Error(
                "ADMIN_ALLOWED_NETWORKS is empty, so in production the admin and every staff "
                "sign-in refuse every address.",
                hint=(
                    "List the networks staff work from (CIDRs, comma-separated), or set "
                    f"ADMIN_ALLOWED_NETWORKS={ANY_ADDRESS} to admit every address deliberately."
                ),
                id="accounts.E004",
            )
        ]
    if admits_every_address():
        return [
            checks.Info(
                f"ADMIN_ALLOWED_NETWORKS={ANY_ADDRESS}: the admin and every staff sign-in answer "
                "every address, as the operator chose.",
                id="accounts.I001",
            )
        ]
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
