"""Staff roles as groups with permissions: the single definition of who may do what."""

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from accounts.models import User

TRIAGER = "Triager"
FINANCE = "Finance"
PROGRAM_ADMIN = "Program admin"

_VIEW_PROGRAM = [
    "bounty.view_program",
    "bounty.view_category",
    "bounty.view_severity",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    TRIAGER: [
        *_VIEW_PROGRAM,
        "reports.view_reporter",
        "reports.view_report",
        "reports.add_report",
        "reports.change_report",
        "reports.view_message",
        "reports.add_message",
        "reports.view_attachment",
        "reports.add_attachment",
        "reports.view_deadline",
        "bounty.view_award",
        "bounty.add_award",
        "bounty.view_payout",
    ],
    FINANCE: [
        *_VIEW_PROGRAM,
        "reports.view_reporter",
        "reports.view_payment_details",
        "reports.view_report",
        "bounty.view_award",
        "bounty.view_payout",
        "bounty.change_payout",
        "bounty.approve_payout",
        "bounty.pay_payout",
        "bounty.view_payoutapproval",
    ],
    PROGRAM_ADMIN: [
        "bounty.view_program",
        "bounty.change_program",
        *(
            f"bounty.{action}_{model}"
            for model in ("category", "severity")
            for action in ("view", "add", "change", "delete")
        ),
        "reports.view_reporter",
        "reports.relink_reporter",
        "reports.view_report",
        "reports.view_deadline",
        "bounty.view_award",
        "bounty.view_payout",
        "accounts.view_user",
        "accounts.add_user",
        "accounts.change_user",
        "auth.view_group",
        "socialaccount.view_socialaccount",
        # Failed sign-ins and lockouts (django-axes); deleting an attempt is unlocking it.
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "axes.view_accesslog",
        "axes.view_accessfailurelog",
    ],
}


def _permissions(codes: list[str]) -> list[Permission]:
    wanted = {tuple(code.split(".", 1)) for code in codes}
    found = [
        perm
        for perm in Permission.objects.select_related("content_type")
        if (perm.content_type.app_label, perm.codename) in wanted
    ]
    missing = wanted - {(p.content_type.app_label, p.codename) for p in found}
    if missing:
        raise LookupError(f"Role permissions that do not exist: {sorted(missing)}")
    return found


@transaction.atomic
def sync_roles() -> dict[str, Group]:
    """Create the role groups and set their permissions exactly as defined above."""
    groups = {}
    for name, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(_permissions(codes))
        groups[name] = group
    return groups


def sync_roles_after_migrate(sender, app_config=None, **kwargs):
    # post_migrate is sent once per app with models; after the last, every permission exists.
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if app_config is with_models[-1]:
        sync_roles()


def member_emails(*role_names: str) -> list[str]:
    """Return the addresses of the active people holding any of these roles, sorted, once each."""
    emails = User.objects.filter(groups__name__in=role_names, is_active=True).values_list(
        "email", flat=True
    )
    return sorted(set(emails))
