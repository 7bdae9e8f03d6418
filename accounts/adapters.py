"""How django-allauth signs people in here: researchers by password, staff by SSO and policy.

Researchers sign in with email and password. Staff sign in through their organisation's identity
provider, which decides their roles through SSO_ROLE_MAP on every sign-in; with STAFF_SSO_ONLY
on, staff passwords stop working (superusers excepted, as the way back in when the identity
provider fails). Every staff sign-in, however made, must come from ADMIN_ALLOWED_NETWORKS.
"""

import logging

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.base.constants import AuthProcess
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseForbidden
from django.shortcuts import render
from django.urls import reverse

from accounts import services
from accounts.models import User
from accounts.network import client_ip, is_staff_network
from accounts.sso import roles_for_identity

logger = logging.getLogger(__name__)


def _refuse_sso(request, sociallogin, reason: str):
    logger.warning(
        "Single sign-on through %s refused for %s: %s",
        sociallogin.provider.name,
        sociallogin.account.uid,
        reason,
    )
    context = {"provider": sociallogin.provider, "reason": reason}
    response = render(request, "socialaccount/staff_sign_in_refused.html", context, status=403)
    raise ImmediateHttpResponse(response)


def _verified_email(sociallogin) -> str | None:
    return next((a.email for a in sociallogin.email_addresses if a.verified), None)


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request):
        # allauth's rate limits count per address: the same address the allowlist and lockout see.
        address = client_ip(request)
        if not address:
            raise PermissionDenied("Unable to determine the client's address.")
        return address

    def get_login_stages(self):
        return [
            "accounts.stages.SelfMadeAccountEmailVerificationStage"
            if stage == "allauth.account.stages.EmailVerificationStage"
            else stage
            for stage in super().get_login_stages()
        ]

    def get_login_redirect_url(self, request):
        if request.user.is_staff:
            return reverse("admin:index")
        return super().get_login_redirect_url(request)

    def pre_login(self, request, user, **kwargs):
        response = super().pre_login(request, user, **kwargs)
        if response or not user.is_staff:
            return response
        if not is_staff_network(client_ip(request)):
            # The same bare refusal as StaffNetworkMiddleware's.
            return HttpResponseForbidden("Forbidden\n", content_type="text/plain")
        by_sso = "sociallogin" in (kwargs.get("signal_kwargs") or {})
        if by_sso or not settings.STAFF_SSO_ONLY:
            return None
        if user.is_superuser:
            logger.warning("Superuser %s signed in with a password (break-glass).", user.email)
            return None
        return render(request, "account/staff_sign_in_by_sso.html", status=403)


class StaffSocialAccountAdapter(DefaultSocialAccountAdapter):
    """Sign staff in through SSO with the roles their identity maps to, and nobody else."""

    def pre_social_login(self, request, sociallogin):
        if sociallogin.state.get("process") == AuthProcess.CONNECT:
            _refuse_sso(request, sociallogin, "identities are linked by signing in, not connected")
        email = _verified_email(sociallogin)
        roles = roles_for_identity(email, sociallogin.account.extra_data.get("id_token", {}))
        user = sociallogin.user
        linked_before = sociallogin.account.pk is not None
        if not roles:
            if linked_before:
                # Whoever this identity made staff loses it the moment the mapping drops them.
                services.apply_sso_roles(
                    user, roles=set(), provider=sociallogin.provider.name, acting_user=user
                )
            _refuse_sso(request, sociallogin, "no staff role is mapped to this identity")
        if sociallogin.is_existing:
            if not linked_before and user.is_superuser:
                # Linking would wipe the password of the way back in when SSO itself fails.
                _refuse_sso(request, sociallogin, "superusers are kept apart from single sign-on")
            if not linked_before and not user.is_staff:
                _refuse_sso(
                    request, sociallogin, "the address belongs to an account that is not staff"
                )
            services.apply_sso_roles(
                user, roles=roles, provider=sociallogin.provider.name, acting_user=user
            )
            return
        address = email or next((a.email for a in sociallogin.email_addresses), None)
        if not address:
            _refuse_sso(request, sociallogin, "the identity provider sent no email address")
        if User.objects.filter(email__iexact=address).exists():
            # Unverified, so not linked; allauth would otherwise offer a form to pick another.
            _refuse_sso(request, sociallogin, "an account with this unverified address exists")

    def on_authentication_error(self, request, provider, error=None, exception=None, **kwargs):
        # allauth shows the visitor a generic page; the operator needs to know which check failed.
        logger.warning("Single sign-on through %s failed: %s", provider.name, exception or error)

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.full_name = (
            data.get("name")
            or " ".join(filter(None, [data.get("first_name"), data.get("last_name")]))
        )[: User._meta.get_field("full_name").max_length]
        return user

    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form)
        roles = roles_for_identity(
            _verified_email(sociallogin), sociallogin.account.extra_data.get("id_token", {})
        )
        services.apply_sso_roles(
            user, roles=roles, provider=sociallogin.provider.name, acting_user=user
        )
        return user
