# allauth's admin registers its models on import: imported first, so two can be taken back below.
import allauth.socialaccount.admin  # noqa: F401
from allauth.account.admin import EmailAddressAdmin as AllauthEmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialApp, SocialToken
from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from accounts import services
from accounts.admin_site import render_form_page
from accounts.models import User
from accounts.roles import ROLE_PERMISSIONS
from audit.admin import ReadableHistoryMixin

# Identity providers come from the environment only (accounts.identity_providers), and tokens are
# not stored; allauth's admin pages for both would offer a second, unreviewed way in.
admin.site.unregister([SocialApp, SocialToken, EmailAddress])


@admin.register(EmailAddress)
class EmailAddressAdmin(AllauthEmailAddressAdmin):
    # A verified address claims the researcher who wrote in from it (link_reporter_to_user):
    # verifying one by hand is a change, not something any viewer of the list may do.
    @admin.action(description="Mark selected email addresses as verified", permissions=["change"])
    def make_verified(self, request, queryset):
        return super().make_verified(request, queryset)


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        choices=[(role, role) for role in [*ROLE_PERMISSIONS, services.SUPERUSER_STATUS]],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Program admins grant and revoke Triager; only a superuser grants or revokes "
        "Finance, Program admin or superuser status. Every program admin is told by mail.",
    )


@admin.register(User)
class UserAdmin(DjangoUserAdmin, ReadableHistoryMixin, SimpleHistoryAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    list_display = ("email", "full_name", "is_staff", "roles", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    # Roles and the flags that follow them change on the roles page, through the service that
    # checks who may grant what, keeps the history and tells the program admins; permissions
    # come from roles only (accounts/roles.py), never one by one.
    readonly_fields = (
        "last_login",
        "date_joined",
        "is_staff",
        "is_superuser",
        "roles_and_link",
        "user_permissions",
    )
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name",)}),
        (
            "Access",
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "roles_and_link",
                    "user_permissions",
                )
            },
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_readonly_fields(self, request, obj=None):
        readonly = self.readonly_fields
        if obj is not None and services.why_not_manage(request.user, obj):
            readonly = (*readonly, "is_active")
        return readonly

    def has_change_permission(self, request, obj=None):
        # An account above the program admin's (or a researcher's) could be taken over through
        # its address; their own account they may edit, its access and password aside.
        allowed = super().has_change_permission(request, obj)
        if not allowed or obj is None or obj.pk == request.user.pk:
            return allowed
        return services.why_not_manage(request.user, obj) is None

    def get_urls(self):
        return [
            path(
                "<path:object_id>/roles/",
                self.admin_site.admin_view(self.roles_view),
                name="accounts_user_roles",
            ),
            *super().get_urls(),
        ]

    def _account_they_may_manage(self, request, object_id):
        account = self.get_object(request, unquote(object_id))
        if account is None:
            raise Http404("No such account.")
        refusal = services.why_not_manage(request.user, account)
        if refusal is not None:
            raise PermissionDenied(refusal)
        return account

    def user_change_password(self, request, id, form_url=""):
        # Setting another's password is taking over their account: only one they may manage.
        self._account_they_may_manage(request, id)
        return super().user_change_password(request, id, form_url)

    def roles_view(self, request, object_id):
        account = self._account_they_may_manage(request, object_id)
        change_page = reverse("admin:accounts_user_change", args=[account.pk])
        form = RolesForm(request.POST or None, initial={"roles": services.held_roles(account)})
        if request.method == "POST" and form.is_valid():
            try:
                changed = services.set_roles(
                    account, set(form.cleaned_data["roles"]), acting_user=request.user
                )
            except services.RoleChangeRefused as refusal:
                form.add_error("roles", str(refusal))
            else:
                self.message_user(
                    request,
                    f"Roles of {account.email} changed: {', '.join(sorted(changed))}."
                    if changed
                    else "Nothing changed.",
                    messages.SUCCESS,
                )
                return redirect(change_page)
        return render_form_page(
            self,
            request,
            title=f"Roles of {account.email}",
            subject="You may grant: "
            + (", ".join(sorted(services.roles_grantable_by(request.user))) or "nothing"),
            form=form,
            submit_label="Save roles",
            cancel_url=change_page,
        )

    @admin.display(description="Roles")
    def roles(self, obj):
        return ", ".join(group.name for group in obj.groups.all()) or "—"

    @admin.display(description="Roles")
    def roles_and_link(self, obj):
        if obj.pk is None:
            return "—"
        url = reverse("admin:accounts_user_roles", args=[obj.pk])
        return format_html('{} <a href="{}">Change roles…</a>', self.roles(obj), url)


@admin.register(AccessAttempt)
class FailedSignInAdmin(AccessAttemptAdmin):
    """django-axes' failed sign-ins, with the one way to lift a lockout: Unlock."""

    actions = ["cleanup_expired_attempts", "unlock"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Deleting rows would unlock too, but without saying so; Unlock does it and logs it.
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset):
        # django-axes offers it to anyone who may see the list; it deletes attempts, so no.
        return super().cleanup_expired_attempts(request, queryset)

    @admin.action(description="Unlock the selected sign-ins", permissions=["delete"])
    def unlock(self, request, queryset):
        attempts = list(queryset)
        self.log_deletions(request, attempts)
        for attempt in attempts:
            services.unlock_sign_in(
                username=attempt.username, ip_address=attempt.ip_address, acting_user=request.user
            )
        self.message_user(
            request,
            f"Unlocked {len(attempts)} sign-in{'s' if len(attempts) != 1 else ''}; "
            "they may try again now.",
            messages.SUCCESS,
        )


admin.site.register(AccessLog, AccessLogAdmin)
admin.site.register(AccessFailureLog, AccessFailureLogAdmin)
