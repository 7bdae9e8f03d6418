"""allauth's OpenID Connect sign-in and callback views, with the ID token verified strictly."""

from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.http import Http404

from accounts.oidc.tokens import IDTokenRefused, verify_id_token


class StaffOpenIDConnectAdapter(OpenIDConnectOAuth2Adapter):
    """Build the sign-in from the verified ID token alone."""

    # Set by the callback view from the state of this sign-in before complete_login runs.
    expected_nonce = ""

    def complete_login(self, request, app, token, **kwargs):
        id_token = kwargs["response"].get("id_token")
        if not id_token:
            raise IDTokenRefused("The identity provider answered without an ID token.")
        claims = verify_id_token(
            id_token,
            keys_url=self.openid_config["jwks_uri"],
            issuer=self.openid_config["issuer"],
            client_id=app.client_id,
            nonce=self.expected_nonce,
        )
        # Roles are read from these claims, so they come only from the signed token, never from
        # the unsigned userinfo answer.
        return self.get_provider().sociallogin_from_response(request, {"id_token": claims})


class StaffOpenIDConnectCallbackView(OAuth2CallbackView):
    def _get_state(self, request, provider):
        # allauth pops the state stashed at redirect (ours carries the nonce) here, and passes
        # it on only after complete_login; the adapter needs the nonce before.
        state, response = super()._get_state(request, provider)
        if state is not None:
            self.adapter.expected_nonce = state.get("nonce", "")
        return state, response


def login(request, provider_id):
    try:
        view = OAuth2LoginView.adapter_view(StaffOpenIDConnectAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist:
        # A provider the operator did not configure does not exist here.
        raise Http404 from None


def callback(request, provider_id):
    try:
        view = StaffOpenIDConnectCallbackView.adapter_view(
            StaffOpenIDConnectAdapter(request, provider_id)
        )
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None
