# allauth's admin registers its models on import: imported first, so two can be taken back below.
import allauth.socialaccount.admin  # noqa: F401
from allauth.socialaccount.models import SocialApp, SocialToken
from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from simple_history.admin import SimpleHistoryAdmin

from accounts import services
from accounts.models import User

# Identity providers come from the environment only (accounts.identity_providers), and tokens are
# not stored; allauth's admin pages for both would offer a second, unreviewed way in.
admin.site.unregister([SocialApp, SocialToken])


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin, SimpleHistoryAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    list_display = ("email", "full_name", "is_staff", "roles", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name",)}),
        (
            "Access",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
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

    @admin.display(description="Roles")
    def roles(self, obj):
        return ", ".join(group.name for group in obj.groups.all()) or "—"


@admin.register(AccessAttempt)
class FailedSignInAdmin(AccessAttemptAdmin):
    """django-axes' failed sign-ins, with the one way to lift a lockout: Unlock."""

    actions = [*AccessAttemptAdmin.actions, "unlock"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Deleting rows would unlock too, but without saying so; Unlock does it and logs it.
        actions.pop("delete_selected", None)
        return actions

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
