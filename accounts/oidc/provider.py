from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from django.utils.crypto import get_random_string

from accounts.oidc.views import StaffOpenIDConnectAdapter

NONCE_LENGTH = 32


class StaffOpenIDConnectProvider(OpenIDConnectProvider):
    """allauth's OpenID Connect provider, sending a fresh nonce with every sign-in."""

    # allauth takes a provider's URLs from its package: ours, so the callback verifies strictly.
    package = "accounts.oidc"
    oauth2_adapter_class = StaffOpenIDConnectAdapter
    # Signing in by posting a token (allauth's headless API) would skip the nonce; not offered.
    supports_token_authentication = False

    def redirect(self, request, process, next_url=None, data=None, **kwargs):
        nonce = get_random_string(NONCE_LENGTH)
        auth_params = kwargs.pop("auth_params", None)
        if auth_params is None:
            auth_params = self.get_auth_params()
        # The nonce goes to the provider and into the stashed state, which the callback reads;
        # set last, so that no auth_params from the query string can replace it.
        return super().redirect(
            request,
            process,
            next_url,
            data,
            auth_params={**auth_params, "nonce": nonce},
            nonce=nonce,
            **kwargs,
        )
