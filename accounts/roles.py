"""Staff roles as groups with permissions: the single definition of who may do what.

``ROLE_PERMISSIONS`` is what each role holds; ``ADMIN_RIGHTS`` what every admin page and action
asks for; ``ROLES_GRANTED_BY`` who may hand a role to someone else. Together they say, for every
role, what it may do in the admin: ``tests/accounts/test_roles.py`` holds the admin to them, and
``manage.py role_table`` prints them for the README.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

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
        "reports.view_savedreply",
        "bounty.view_award",
        "bounty.add_award",
        "bounty.view_payout",
        "intake.view_intakemessage",
        "intake.view_raw_source",
        # Triagers see who is blocked (ignored mail names the entry); program admins keep it.
        "intake.view_blockedsender",
        "intake.view_heldmail",
        "intake.review_heldmail",
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
        # Saved replies are program text: the program admin writes them, triagers use them.
        *(f"reports.{action}_savedreply" for action in ("view", "add", "change", "delete")),
        "bounty.view_award",
        "bounty.view_payout",
        # What reached the intake mailbox and what became of it, not the mail itself.
        "intake.view_intakemessage",
        *(f"intake.{action}_blockedsender" for action in ("view", "add", "change", "delete")),
        # The mailbox status counts held mail; reviewing it is the triagers' work.
        "intake.view_heldmail",
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
        # Failed mail is counted on their first page; sending it again stays a superuser's.
        "outbox.view_outgoingmail",
    ],
}


# Who may give a role to someone else (and take it away). Superusers give every role and superuser
# status itself; nobody changes their own roles (accounts.services.grant_role).
ROLES_GRANTED_BY: dict[str, set[str]] = {
    PROGRAM_ADMIN: {TRIAGER},
}

# Asked for by admin rights that only a superuser has, whatever permissions a role is given.
SUPERUSER = "superuser"


@dataclass(frozen=True)
class AdminRights:
    """The permission each right on one admin model, and each of its actions, asks for.

    ``None`` is nobody, superusers included: those records change only through their services.
    """

    view: str | None = None
    add: str | None = None
    change: str | None = None
    delete: str | None = None
    actions: Mapping[str, str] = field(default_factory=dict)

    def rights(self) -> dict[str, str | None]:
        return {"view": self.view, "add": self.add, "change": self.change, "delete": self.delete}


def _every_right(model: str, **actions: str) -> AdminRights:
    """Ask the model's own view/add/change/delete permissions, as a plain ModelAdmin does."""
    app_label, model_name = model.split(".")
    return AdminRights(
        **{right: f"{app_label}.{right}_{model_name}" for right in ("view", "add", "change")},
        delete=f"{app_label}.delete_{model_name}",
        actions={"delete_selected": f"{app_label}.delete_{model_name}", **actions},
    )


# Every model in the admin, by its label. A model or action missing here fails the role test.
ADMIN_RIGHTS: dict[str, AdminRights] = {
    "account.emailaddress": _every_right(
        "account.emailaddress", make_verified="account.change_emailaddress"
    ),
    "accounts.user": _every_right("accounts.user"),
    "auth.group": _every_right("auth.group"),
    "axes.accessattempt": AdminRights(
        view="axes.view_accessattempt",
        change="axes.change_accessattempt",
        delete="axes.delete_accessattempt",
        actions={
            "unlock": "axes.delete_accessattempt",
            "cleanup_expired_attempts": "axes.delete_accessattempt",
        },
    ),
    "axes.accessfailurelog": AdminRights(
        view="axes.view_accessfailurelog",
        change="axes.change_accessfailurelog",
        delete="axes.delete_accessfailurelog",
        actions={"delete_selected": "axes.delete_accessfailurelog"},
    ),
    "axes.accesslog": AdminRights(
        view="axes.view_accesslog",
        change="axes.change_accesslog",
        delete="axes.delete_accesslog",
        actions={"delete_selected": "axes.delete_accesslog"},
    ),
    "bounty.award": AdminRights(view="bounty.view_award"),
    "bounty.category": _every_right("bounty.category"),
    # Exports are made by the batch page's button (bounty.pay_payout), never added or edited.
    "bounty.paymentbatch": AdminRights(view="bounty.pay_payout"),
    "bounty.payout": AdminRights(view="bounty.view_payout"),
    "bounty.payoutapproval": AdminRights(view="bounty.view_payoutapproval"),
    "bounty.payoutawaitingmyapproval": AdminRights(
        view="bounty.approve_payout",
        actions={"approve": "bounty.approve_payout", "reject": "bounty.approve_payout"},
    ),
    # Adding is offered only while there is no program: one program per deployment.
    "bounty.program": AdminRights(
        view="bounty.view_program", add="bounty.add_program", change="bounty.change_program"
    ),
    "bounty.severity": _every_right("bounty.severity"),
    "intake.blockedsender": _every_right("intake.blockedsender"),
    # Intake mail is a record: the services alone write it; its raw source has its own right.
    "intake.intakemessage": AdminRights(view="intake.view_intakemessage"),
    # Held mail changes only by staff's decision, through its services, never by editing it.
    "intake.heldmail": AdminRights(view="intake.view_heldmail", change="intake.review_heldmail"),
    "mfa.authenticator": _every_right("mfa.authenticator"),
    "outbox.outgoingmail": AdminRights(
        view="outbox.view_outgoingmail",
        change="outbox.change_outgoingmail",
        actions={"retry_now": "outbox.change_outgoingmail"},
    ),
    "reports.attachment": AdminRights(
        view="reports.view_attachment",
        change="reports.change_attachment",
        delete="reports.delete_attachment",
        actions={"delete_selected": "reports.delete_attachment"},
    ),
    "reports.deadline": AdminRights(
        view="reports.view_deadline",
        change="reports.change_deadline",
        delete="reports.delete_deadline",
        actions={"delete_selected": "reports.delete_deadline"},
    ),
    # The thread is the record: a correction or removal is a superuser's, and audited.
    "reports.message": AdminRights(
        view="reports.view_message",
        change=SUPERUSER,
        delete=SUPERUSER,
        actions={"delete_selected": SUPERUSER},
    ),
    "reports.report": AdminRights(
        view="reports.view_report",
        change="reports.change_report",
        delete="reports.delete_report",
        actions={
            "delete_selected": "reports.delete_report",
            "assign_to_me": "reports.change_report",
            "acknowledge": "reports.change_report",
            "close_as_spam": "reports.change_report",
        },
    ),
    # Who a researcher is changes only by a program admin's re-link, with a reason.
    "reports.reporter": AdminRights(
        view="reports.view_reporter",
        delete="reports.delete_reporter",
        actions={"delete_selected": "reports.delete_reporter"},
    ),
    "reports.savedreply": _every_right("reports.savedreply"),
    "socialaccount.socialaccount": _every_right("socialaccount.socialaccount"),
}


def role_may(role: str, permission: str | None) -> bool:
    """Say whether holding ``role`` alone satisfies what an admin right asks for."""
    return permission is not None and permission in ROLE_PERMISSIONS[role]


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
