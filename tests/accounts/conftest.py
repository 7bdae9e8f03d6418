import pytest

from accounts.identity_providers import configured_apps
from tests.accounts.oidc_provider import LoopbackOIDCProvider
from tests.reports.portal import count_rate_limits_afresh

CLIENT_ID = "bounty-desk"
CLIENT_SECRET = "loopback-client-secret"
ROLE_MAP = (
    "group:bounty-triage=Triager,group:bounty-finance=Finance,"
    "group:bounty-admins=Program admin,domain:staff.example.test=Triager"
)


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(settings):
    # Sign-ins count toward allauth's per-address limits in the real cache (Redis where it runs).
    count_rate_limits_afresh(settings)


@pytest.fixture
def oidc_provider():
    provider = LoopbackOIDCProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET).start()
    yield provider
    provider.stop()


@pytest.fixture
def keycloak(settings, oidc_provider, db):
    """Configure the desk's Keycloak sign-in, from its variables, against the loopback provider."""
    apps = configured_apps(
        {
            "SSO_KEYCLOAK_CLIENT_ID": CLIENT_ID,
            "SSO_KEYCLOAK_CLIENT_SECRET": CLIENT_SECRET,
            "SSO_KEYCLOAK_SERVER_URL": oidc_provider.issuer,
        }
    )
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {**settings.SOCIALACCOUNT_PROVIDERS["openid_connect"], "APPS": apps}
    }
    settings.SSO_ROLE_MAP = ROLE_MAP
    oidc_provider.identity.groups = ["bounty-triage"]
    return oidc_provider
