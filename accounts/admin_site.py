"""The admin site, signing staff in and out through allauth rather than its own login form, and
opening on each person's work.

The admin's own form would skip SSO, two-factor authentication, the lockout and the rate
limits; allauth's sign-in page applies them all, so the admin sends its visitors there.
"""

from allauth.account.views import LogoutView
from django.contrib.admin import AdminSite
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.home import home_panels


class StaffAdminSite(AdminSite):
    # The sidebar repeats the first page's list of models beside every page, and takes a
    # quarter of a 1280 px screen from the lists; the breadcrumbs lead back to that page.
    enable_nav_sidebar = False

    def index(self, request, extra_context=None):
        """Show each person the work their roles hold above the models they may use."""
        extra_context = {**(extra_context or {}), "home_panels": home_panels(request.user)}
        return super().index(request, extra_context)

    def login(self, request, extra_context=None):
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = reverse("admin:index", current_app=self.name)
        if request.user.is_authenticated:
            if self.has_permission(request):
                return redirect(next_url)
            # Signed in, but not staff: allauth would send them straight back here, forever.
            raise PermissionDenied
        return redirect_to_login(next_url, reverse("account_login"))

    def logout(self, request, extra_context=None):
        return LogoutView.as_view()(request)


def render_form_page(
    model_admin,
    request,
    *,
    title,
    form,
    subject="",
    submit_label="",
    cancel_url="",
    secondary_submit: tuple[str, str] | None = None,
):
    """Render one form in the admin's frame: a move, a role change, a payment, a re-link.

    Its button says the title unless told otherwise. ``secondary_submit`` is (name, label) of a
    second button that posts the form without acting, such as a check that shows a hint.
    """
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "subject": subject,
        "form": form,
        "submit_label": submit_label or title,
        "cancel_url": cancel_url,
        "secondary_submit": secondary_submit,
    }
    return TemplateResponse(request, "admin/form_page.html", context)
