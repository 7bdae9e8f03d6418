"""Every URL of the desk, walked: who reaches it, and who is refused.

The walk reads the URLconf itself, so a URL is covered the moment it exists. Admin model pages
(list, add, change, delete, history) are classified by the permissions their ModelAdmin asks
for; every other URL must be named in one of the tables below, and one that is not fails
``test_every_url_is_classified`` with a message saying so. Every HTML page fetched on the way
must carry the strict Content-Security-Policy.
"""

import re
from dataclasses import dataclass

import pytest
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import User
from accounts.services import why_not_manage
from bounty.services import export_payment_batches
from demo.world import seed_demo_world
from intake.blocklist import block_sender
from intake.pgp import generate_program_key
from reports.models import Report
from tests.config.test_headers import STRICT_POLICY, content_security_policy
from tests.factories import AttachmentFactory, StaffFactory

# Who may reach the pages that are not admin model pages, by URL name (or route, if unnamed).
PUBLIC = {"bounty:security_policy", "bounty:security_txt", "bounty:pgp_key", "healthz"}
# The researcher's portal: signed-in researchers, and only their own reports.
PORTAL_OWN_REPORT = {
    "portal:report_detail",
    "portal:reply_to_report",
    "portal:download_attachment",
}
PORTAL = {
    "portal:report_list",
    "portal:submit_report",
    "portal:payment_details",
    "portal:pgp_key",
}
# allauth's pages for signing in, up or back: open to anyone.
SIGN_IN = {
    "account_login",
    "account_signup",
    "account_inactive",
    "account_email_verification_sent",
    "account_reset_password",
    "account_reset_password_done",
    "account_reset_password_from_key",
    "account_reset_password_from_key_done",
    "account_confirm_email",
    "account_confirm_login_code",
    "mfa_authenticate",
}
# allauth's pages for a signed-in person's own account and second factors.
OWN_ACCOUNT = {
    "account_logout",
    "account_reauthenticate",
    "account_email",
    "account_change_password",
    "account_set_password",
    "mfa_index",
    "mfa_reauthenticate",
    "mfa_activate_totp",
    "mfa_deactivate_totp",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
    "mfa_list_webauthn",
    "mfa_add_webauthn",
    "mfa_reauthenticate_webauthn",
    "mfa_remove_webauthn",
    "mfa_edit_webauthn",
}
# Staff single sign-on: behind the network allowlist, like the admin.
STAFF_SIGN_ON = {
    "openid_connect_login",
    "openid_connect_callback",
    "socialaccount_login_cancelled",
    "socialaccount_login_error",
    "socialaccount_signup",
    "socialaccount_connections",
    "accounts/social/login/cancelled/",
    "accounts/social/login/error/",
    "accounts/social/signup/",
    "accounts/social/connections/",
}
# The admin site's own pages. Every one but login and logout is for staff only.
ADMIN_SIGN_IN = {"admin:login", "admin:logout"}
ADMIN_ANY_STAFF = {
    "admin:index",
    "admin:password_change",
    "admin:password_change_done",
    "admin:jsi18n",
    "admin:view_on_site",
}
# Staff, and only for apps they may see something of.
ADMIN_SITE_BY_PERMISSION = {"admin:app_list", "admin:autocomplete", "admin/(?P<url>.*)$"}
# Admin pages beyond a model's list/add/change/delete/history, with the permission each needs.
ADMIN_CUSTOM_VIEWS = {
    "admin:bounty_award_propose": "bounty.add_award",
    "admin:bounty_payout_totals": "bounty.view_payout",
    "admin:bounty_paymentbatch_export": "bounty.pay_payout",
    "admin:bounty_paymentbatch_download": "bounty.pay_payout",
    "admin:bounty_payout_settlement": "bounty.pay_payout",
    "admin:bounty_payout_mark_paid": "bounty.pay_payout",
    "admin:reports_report_move": "reports.change_report",
    "admin:reports_report_assign": "reports.change_report",
    "admin:reports_report_compose": "reports.change_report",
    "admin:reports_report_cvss_suggestion": "reports.view_report",
    "admin:reports_report_received_by_email": "reports.add_report",
    "admin:reports_attachment_download": "reports.view_attachment",
    "admin:auth_user_password_change": "accounts.change_user",
    "admin:accounts_user_roles": "accounts.change_user",
    "admin:reports_reporter_relink": "reports.relink_reporter",
    "admin:intake_intakemessage_raw_source": "intake.view_raw_source",
}
# Of those, the pages that take over or promote an account: also only for an account the user
# may manage (accounts.services.why_not_manage), never their own.
ADMIN_ACCOUNT_VIEWS = {"admin:auth_user_password_change", "admin:accounts_user_roles"}
# What finance does, which the reference program keeps from triagers.
FINANCE_VIEWS = {
    "admin:bounty_payoutawaitingmyapproval_changelist",
    "admin:bounty_paymentbatch_changelist",
    "admin:bounty_paymentbatch_export",
    "admin:bounty_paymentbatch_download",
    "admin:bounty_payout_settlement",
    "admin:bounty_payout_mark_paid",
    "admin:bounty_payoutapproval_changelist",
}
MODEL_VIEWS = ("changelist", "add", "change", "delete", "history", "simple_history", "redirect")

# A route's arguments: <converter:name> in a path, (?P<name>...) in a regular expression.
ARGUMENT = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


@dataclass(frozen=True)
class Endpoint:
    route: str
    name: str | None
    arguments: tuple[str, ...]
    model_admin: admin.ModelAdmin | None = None
    model_view: str | None = None

    @property
    def key(self) -> str:
        return self.name or self.route

    def __str__(self):
        return f"{self.key} (/{self.route})"


def _model_admin(route: str):
    for model, model_admin in admin.site._registry.items():
        if route == f"admin/{model._meta.app_label}/{model._meta.model_name}/":
            return model_admin
    return None


def _model_view(endpoint_name: str | None, route: str, model_admin) -> str | None:
    opts = model_admin.model._meta
    if endpoint_name is None:
        return "redirect" if route.endswith("<path:object_id>/") else None
    view = endpoint_name.removeprefix(f"admin:{opts.app_label}_{opts.model_name}_")
    return view if view in MODEL_VIEWS else None


def _walk(resolver, prefix="", namespace=None, model_admin=None):
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner_namespace = ":".join(filter(None, [namespace, pattern.namespace])) or None
            yield from _walk(pattern, route, inner_namespace, _model_admin(route) or model_admin)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            arguments = tuple(a or b for a, b in ARGUMENT.findall(route))
            model_view = model_admin and _model_view(name, route, model_admin)
            yield Endpoint(route, name, arguments, model_admin, model_view)


ENDPOINTS = list(_walk(get_resolver()))
CLASSIFIED = (
    PUBLIC
    | PORTAL
    | PORTAL_OWN_REPORT
    | SIGN_IN
    | OWN_ACCOUNT
    | STAFF_SIGN_ON
    | ADMIN_SIGN_IN
    | ADMIN_ANY_STAFF
    | ADMIN_SITE_BY_PERMISSION
    | ADMIN_CUSTOM_VIEWS.keys()
)


def test_every_url_is_classified():
    unclassified = [
        str(endpoint)
        for endpoint in ENDPOINTS
        if endpoint.model_view is None and endpoint.key not in CLASSIFIED
    ]

    assert not unclassified, (
        "These URLs are not classified, so nobody has said who may reach them. Add each to the "
        "table in tests/test_url_access.py that says who may: " + ", ".join(unclassified)
    )


def test_the_tables_name_only_urls_that_exist():
    keys = {endpoint.key for endpoint in ENDPOINTS}

    assert CLASSIFIED - keys == set()
    assert FINANCE_VIEWS - keys == set()


# The world the walk runs in


@dataclass
class World:
    researcher: object
    other_researcher: object
    values: dict

    def url(self, endpoint: Endpoint) -> str:
        if endpoint.model_view == "simple_history":
            # django-simple-history's route takes its two arguments by position.
            obj = endpoint.model_admin.model._default_manager.order_by("pk").first()
            return reverse(endpoint.name, args=[obj.pk, obj.history.first().history_id])
        kwargs = {name: self.argument(endpoint, name) for name in endpoint.arguments}
        if endpoint.name:
            return reverse(endpoint.name, kwargs=kwargs)
        path = ARGUMENT.sub(lambda match: str(kwargs[match[1] or match[2]]), endpoint.route)
        return "/" + path.replace("^", "").replace("$", "")

    def argument(self, endpoint: Endpoint, name: str):
        if name in ("object_id", "id") and endpoint.model_admin is not None:
            model = endpoint.model_admin.model
            obj = model._default_manager.order_by("pk").first()
            return obj.pk if obj is not None else 0
        return self.values[name]


@pytest.fixture
def world(db):
    demo = seed_demo_world()
    # The program's public key is served once it has one.
    generate_program_key("Security <security@demo.test>")
    researcher = demo.users["alice@demo.test"]
    report = Report.objects.filter(reporter__user=researcher).order_by("pk").first()
    attachment = AttachmentFactory(report=report, uploaded_by=researcher)
    staff = demo.users["triager@demo.test"]
    # A row for every admin page that lists one: locked sign-ins and linked identities.
    AccessAttempt.objects.create(
        username="alice@demo.test", ip_address="198.51.100.7", failures_since_start=5
    )
    AccessLog.objects.create(username=staff.email, ip_address="10.0.0.1")
    AccessFailureLog.objects.create(username=staff.email, ip_address="10.0.0.1")
    SocialAccount.objects.create(user=staff, provider="keycloak", uid="staff-0001")
    Authenticator.objects.create(user=researcher, type=Authenticator.Type.TOTP, data={})
    block_sender(entry="spam.example", reason="Spam.", acting_user=demo.users["admin@demo.test"])
    # The demo's instructed payout, exported: a payment batch to list, show and download.
    [batch] = export_payment_batches(acting_user=demo.users["finance@demo.test"])
    values = {
        "public_id": report.public_id,
        "object_id": report.pk,
        "attachment_id": attachment.pk,
        "report_id": Report.objects.filter(severity__isnull=False).order_by("pk").first().pk,
        "move": "acknowledge",
        "content_type_id": ContentType.objects.get_for_model(Report).pk,
        "app_label": "bounty",
        "url": "no-such-page/",
        "provider_id": "keycloak",
        "key": "not-a-key",
        "uidb36": "1",
        "pk": 999999,
        "number": batch.number,
    }
    return World(researcher, demo.users["bob@demo.test"], values)


class Walk:
    """Visit endpoints as one visitor, collecting every response that breaks a rule."""

    def __init__(self, world: World, client: Client, **request_extra):
        self.world = world
        self.client = client
        self.request_extra = request_extra
        self.problems: list[str] = []

    def get(self, endpoint: Endpoint):
        url = self.world.url(endpoint)
        response = self.client.get(url, **self.request_extra)
        if response.status_code == 405:
            # A view that only takes forms: what matters is who may post one.
            response = self.client.post(url, **self.request_extra)
        if response.status_code >= 500:
            self.problems.append(f"{url}: {response.status_code}")
        is_html = response.get("Content-Type", "").startswith("text/html")
        if is_html and content_security_policy(response) != STRICT_POLICY:
            self.problems.append(f"{url}: no strict Content-Security-Policy")
        return url, response

    def expect(self, endpoint: Endpoint, rule: str, ok: bool, response, url):
        if not ok:
            location = response.get("Location", "")
            self.problems.append(
                f"{url} [{endpoint.key}] should {rule}: {response.status_code} {location}"
            )

    def finish(self):
        assert not self.problems, "\n".join(self.problems)


def _redirects_to(response, prefix):
    return response.status_code == 302 and response["Location"].startswith(prefix)


def _refused(response):
    # 403; or, for an object the user's queryset does not even contain, Django's "does not
    # exist" redirect to the admin index, which tells nothing either.
    return response.status_code == 403 or (
        response.status_code == 302 and response["Location"] == "/admin/"
    )


def _is_admin(endpoint):
    return endpoint.route.startswith("admin/")


# Anonymous visitors


def test_an_anonymous_visitor_reaches_only_public_and_sign_in_pages(client, world):
    walk = Walk(world, client)
    for endpoint in ENDPOINTS:
        url, response = walk.get(endpoint)
        key = endpoint.key
        if key in PUBLIC:
            walk.expect(endpoint, "answer 200", response.status_code == 200, response, url)
        elif key in PORTAL | PORTAL_OWN_REPORT | OWN_ACCOUNT - {"account_logout"}:
            walk.expect(
                endpoint,
                "send to sign-in",
                _redirects_to(response, "/accounts/login/"),
                response,
                url,
            )
        elif key == "admin:login":
            walk.expect(
                endpoint,
                "send to allauth",
                _redirects_to(response, "/accounts/login/"),
                response,
                url,
            )
        elif _is_admin(endpoint) and key != "admin:logout":
            walk.expect(
                endpoint,
                "send to the admin sign-in",
                _redirects_to(response, "/admin/login/"),
                response,
                url,
            )
        elif key in SIGN_IN | STAFF_SIGN_ON | {"account_logout", "admin:logout"}:
            walk.expect(
                endpoint,
                "sign nobody in",
                response.status_code in (200, 301, 302, 401, 404, 405),
                response,
                url,
            )
    walk.finish()


# Researchers


def test_a_researcher_is_refused_the_admin_and_other_researchers_reports(client, world):
    client.force_login(world.other_researcher)
    walk = Walk(world, client)
    for endpoint in ENDPOINTS:
        url, response = walk.get(endpoint)
        key = endpoint.key
        if key in PORTAL_OWN_REPORT:
            walk.expect(endpoint, "answer 404", response.status_code == 404, response, url)
        elif key in PUBLIC:
            walk.expect(endpoint, "answer 200", response.status_code == 200, response, url)
        elif _is_admin(endpoint) and key not in ADMIN_SIGN_IN:
            walk.expect(
                endpoint,
                "send to the admin sign-in",
                _redirects_to(response, "/admin/login/"),
                response,
                url,
            )
    walk.finish()


def test_a_researcher_reaches_their_own_reports(client, world):
    client.force_login(world.researcher)
    walk = Walk(world, client)
    for endpoint in ENDPOINTS:
        if endpoint.key in PORTAL | {"portal:report_detail", "portal:download_attachment"}:
            url, response = walk.get(endpoint)
            walk.expect(endpoint, "answer", response.status_code in (200, 302), response, url)
            walk.expect(
                endpoint,
                "not send to sign-in",
                not _redirects_to(response, "/accounts/login/"),
                response,
                url,
            )
    walk.finish()


# Staff


def _request_as(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _may(endpoint: Endpoint, user) -> bool:
    """Say whether the endpoint's ModelAdmin, or its table, lets ``user`` in."""
    if endpoint.key in ADMIN_ACCOUNT_VIEWS:
        account = User.objects.order_by("pk").first()
        may_manage = why_not_manage(user, account) is None
        return user.has_perm(ADMIN_CUSTOM_VIEWS[endpoint.key]) and may_manage
    if endpoint.key in ADMIN_CUSTOM_VIEWS:
        return user.has_perm(ADMIN_CUSTOM_VIEWS[endpoint.key])
    model_admin, request = endpoint.model_admin, _request_as(user)
    if endpoint.model_view == "add":
        return model_admin.has_add_permission(request)
    if endpoint.model_view == "delete":
        return model_admin.has_delete_permission(request)
    if endpoint.model_view == "simple_history":
        return model_admin.has_view_history_or_change_history_permission(request)
    return model_admin.has_view_or_change_permission(request)


def _admin_pages_for(user, world, client):
    client.force_login(user)
    walk = Walk(world, client)
    for endpoint in ENDPOINTS:
        if endpoint.model_view in (None, "redirect") and endpoint.key not in ADMIN_CUSTOM_VIEWS:
            continue
        url, response = walk.get(endpoint)
        if _may(endpoint, user):
            walk.expect(endpoint, "let them in", response.status_code != 403, response, url)
        else:
            walk.expect(endpoint, "refuse", _refused(response), response, url)
    return walk


def test_staff_without_any_permission_are_refused_every_admin_page_but_their_own(client, world):
    bare = StaffFactory(email="bare-staff@example.test")
    client.force_login(bare)
    walk = Walk(world, client)
    for endpoint in ENDPOINTS:
        if not _is_admin(endpoint) or endpoint.key in ADMIN_SIGN_IN:
            continue
        url, response = walk.get(endpoint)
        if endpoint.key in ADMIN_ANY_STAFF:
            walk.expect(endpoint, "answer", response.status_code in (200, 302, 404), response, url)
        elif endpoint.key in ADMIN_SITE_BY_PERMISSION:
            walk.expect(endpoint, "refuse", response.status_code in (403, 404), response, url)
        elif endpoint.model_view == "redirect":
            walk.expect(
                endpoint, "redirect to the change page", response.status_code == 302, response, url
            )
        else:
            walk.expect(endpoint, "refuse", _refused(response), response, url)
    walk.finish()
    assert (
        "You don\N{RIGHT SINGLE QUOTATION MARK}t have permission to view or edit anything."
        in client.get("/admin/").content.decode()
    )


@pytest.mark.parametrize("role", ["triager", "finance_user", "program_admin"])
def test_each_role_reaches_exactly_the_admin_pages_its_permissions_allow(
    client, world, request, role
):
    _admin_pages_for(request.getfixturevalue(role), world, client).finish()


def test_triagers_are_refused_every_finance_page(client, world, triager):
    client.force_login(triager)
    walk = Walk(world, client)
    for endpoint in ENDPOINTS:
        if endpoint.key in FINANCE_VIEWS:
            url, response = walk.get(endpoint)
            walk.expect(endpoint, "answer 403", response.status_code == 403, response, url)
    walk.finish()


def test_the_admin_index_lists_only_the_apps_a_role_may_see(client, world, triager):
    client.force_login(triager)

    page = client.get("/admin/").content.decode()

    assert "/admin/reports/report/" in page
    assert "/admin/bounty/payoutawaitingmyapproval/" not in page
    assert "/admin/axes/" not in page
    assert "/admin/accounts/user/" not in page


# The network allowlist


def test_outside_the_allowed_networks_only_the_staff_side_is_refused(client, settings, world):
    settings.ADMIN_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    outside = Walk(world, client, REMOTE_ADDR="198.51.100.7")
    for endpoint in ENDPOINTS:
        url, response = outside.get(endpoint)
        staff_side = _is_admin(endpoint) or endpoint.key in STAFF_SIGN_ON
        if staff_side:
            outside.expect(
                endpoint,
                "answer a bare 403",
                response.status_code == 403 and response.content == b"Forbidden\n",
                response,
                url,
            )
        else:
            outside.expect(endpoint, "stay reachable", response.status_code != 403, response, url)
    outside.finish()
