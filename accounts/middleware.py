import logging

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseForbidden
from django.shortcuts import redirect
from django.urls import reverse

from accounts.network import admits_every_address, client_ip, is_staff_network

logger = logging.getLogger(__name__)

# The admin and the staff single sign-on endpoints: allauth's OpenID Connect sign-in and callback
# URLs (every identity provider is an OpenID Connect app), and its third-party account pages with
# their legacy /social/ aliases. Researchers sign in with email and password, so these paths
# serve staff only.
STAFF_PATH_PREFIXES = (
    "/admin/",
    "/accounts/oidc/",
    "/accounts/3rdparty/",
    "/accounts/social/",
)
# A second factor is a code from an app or a security key; recovery codes only stand in for one.
SECOND_FACTORS = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]


class StaffNetworkMiddleware:
    """Refuse the staff side of the desk to clients outside ADMIN_ALLOWED_NETWORKS."""

    def __init__(self, get_response):
        self.get_response = get_response
        if admits_every_address():
            # Said once per process, so an open admin is visible in every deployment's log.
            logger.warning(
                "ADMIN_ALLOWED_NETWORKS=any: the staff side answers every address, by choice."
            )

    def __call__(self, request):
        if request.path.startswith(STAFF_PATH_PREFIXES) and not is_staff_network(
            client_ip(request)
        ):
            # A bare refusal: nothing in it tells a stranger that an admin lives here.
            return HttpResponseForbidden("Forbidden\n", content_type="text/plain")
        return self.get_response(request)


class StaffMFAMiddleware:
    """With STAFF_REQUIRE_MFA, send staff without a second factor to set one up first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            settings.STAFF_REQUIRE_MFA
            and request.path.startswith("/admin/")
            and request.path != reverse("admin:logout")
            and request.user.is_authenticated
            and request.user.is_staff
            and not is_mfa_enabled(request.user, SECOND_FACTORS)
        ):
            messages.warning(
                request,
                "Staff need two-factor authentication. Set up an authenticator app or a "
                "security key, then go back to the admin.",
            )
            return redirect("mfa_index")
        return self.get_response(request)
