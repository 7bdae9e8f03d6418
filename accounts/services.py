"""Changes to staff accounts: roles granted and revoked, from single sign-on, and unlocking."""

import logging

from axes.utils import reset as reset_failed_sign_ins
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

from accounts.history import audited
from accounts.models import User
from accounts.roles import PROGRAM_ADMIN, ROLE_PERMISSIONS, ROLES_GRANTED_BY, member_emails
from outbox.services import queue_mail

logger = logging.getLogger(__name__)

# Superuser status is granted and revoked like a role, by a superuser only, though it is a flag.
SUPERUSER_STATUS = "Superuser"


class RoleChangeRefused(PermissionDenied):
    """The acting user may not change this account's roles, or not this one."""


def held_roles(user: User) -> set[str]:
    """Return the roles ``user`` holds, superuser status among them."""
    held = set(user.groups.filter(name__in=ROLE_PERMISSIONS).values_list("name", flat=True))
    return held | {SUPERUSER_STATUS} if user.is_superuser else held


def roles_grantable_by(user: User) -> set[str]:
    """Return the roles ``user`` may grant to and revoke from others."""
    if not user.is_active:
        return set()
    if user.is_superuser:
        return {*ROLE_PERMISSIONS, SUPERUSER_STATUS}
    return {role for held in held_roles(user) for role in ROLES_GRANTED_BY.get(held, ())}


def why_not_manage(acting_user: User, account: User) -> str | None:
    """Say why ``acting_user`` may not change ``account``'s access or password; None if they may.

    Whoever could set an account's password or address could sign in as it: so a program admin
    manages only accounts holding no more than the roles they may grant, and no researcher's
    (who could be paid elsewhere), and nobody manages their own in the admin.
    """
    if account.pk == acting_user.pk:
        return (
            "Nobody changes their own roles, status or password here, superusers neither: "
            "ask another administrator (your password: on your account page)."
        )
    if acting_user.is_superuser and acting_user.is_active:
        return None
    if not acting_user.has_perm("accounts.change_user"):
        return "You may not change accounts."
    if account.is_superuser:
        return "Only a superuser changes a superuser's account."
    above = held_roles(account) - roles_grantable_by(acting_user)
    if above:
        return f"Only a superuser changes the account of a holder of {', '.join(sorted(above))}."
    if hasattr(account, "reporter"):
        return "Only a superuser changes a researcher's account."
    return None


def _check_role_change(account: User, role: str, acting_user: User) -> None:
    if role not in ROLE_PERMISSIONS and role != SUPERUSER_STATUS:
        raise ValueError(f"No such role: {role}")
    refusal = why_not_manage(acting_user, account)
    if refusal is None and role not in roles_grantable_by(acting_user):
        refusal = f"Only a superuser grants or revokes {role}."
    if refusal is not None:
        logger.warning(
            "Refused: %s changing %s of %s: %s", acting_user.email, role, account.email, refusal
        )
        raise RoleChangeRefused(refusal)


def _record_role_change(account: User, role: str, *, granted: bool, acting_user: User, told):
    roles = held_roles(account) - {SUPERUSER_STATUS}
    account.is_staff = bool(roles) or account.is_superuser
    verb = "granted" if granted else "revoked"
    account._change_reason = f"{role} {verb} by {acting_user.email}"
    account.save(update_fields=["is_superuser", "is_staff"])
    logger.info("%s: %s", account.email, account._change_reason)
    # Program admins watch who holds which role; one who just lost the role hears it too.
    for address in sorted(told | set(member_emails(PROGRAM_ADMIN))):
        queue_mail(
            to=address,
            template="role_changed",
            context={
                "account": account.email,
                "role": role,
                "verb": verb,
                "acting_user": acting_user.email,
                "roles": ", ".join(sorted(held_roles(account))) or "none",
            },
        )


@audited
def grant_role(account: User, role: str, *, acting_user: User) -> bool:
    """Give ``account`` a role (or superuser status), with staff status; say if it changed."""
    account = User.objects.select_for_update().get(pk=account.pk)
    _check_role_change(account, role, acting_user)
    if role in held_roles(account):
        return False
    told = set(member_emails(PROGRAM_ADMIN))
    if role == SUPERUSER_STATUS:
        account.is_superuser = True
    else:
        account.groups.add(Group.objects.get(name=role))
    _record_role_change(account, role, granted=True, acting_user=acting_user, told=told)
    return True


@audited
def revoke_role(account: User, role: str, *, acting_user: User) -> bool:
    """Take a role (or superuser status) from ``account``; staff status goes with the last one."""
    account = User.objects.select_for_update().get(pk=account.pk)
    _check_role_change(account, role, acting_user)
    if role not in held_roles(account):
        return False
    told = set(member_emails(PROGRAM_ADMIN))
    if role == SUPERUSER_STATUS:
        account.is_superuser = False
    else:
        account.groups.remove(Group.objects.get(name=role))
    _record_role_change(account, role, granted=False, acting_user=acting_user, told=told)
    return True


@audited
def set_roles(account: User, roles: set[str], *, acting_user: User) -> set[str]:
    """Give ``account`` exactly these roles, all or none of the changes; return those changed."""
    held = held_roles(account)
    for role in sorted(roles - held):
        grant_role(account, role, acting_user=acting_user)
    for role in sorted(held - roles):
        revoke_role(account, role, acting_user=acting_user)
    return roles ^ held


@audited
def apply_sso_roles(user: User, *, roles: set[str], provider: str, acting_user: User) -> bool:
    """Give ``user`` exactly the staff roles their identity provider maps to; say if any changed.

    Staff status follows the roles: no role, no admin. Groups that are not roles are left alone,
    and so is superuser status, which only an operator grants or takes away.
    """
    unknown = roles - ROLE_PERMISSIONS.keys()
    if unknown:
        raise ValueError(f"No such roles: {sorted(unknown)}")
    user = User.objects.select_for_update().get(pk=user.pk)
    held = set(user.groups.filter(name__in=ROLE_PERMISSIONS).values_list("name", flat=True))
    is_staff = bool(roles) or user.is_superuser
    if held == roles and user.is_staff == is_staff:
        return False
    user.groups.remove(*Group.objects.filter(name__in=held - roles))
    user.groups.add(*Group.objects.filter(name__in=roles - held))
    user.is_staff = is_staff
    user._change_reason = (
        f"Single sign-on through {provider}: roles {', '.join(sorted(roles)) or 'none'} "
        f"(were {', '.join(sorted(held)) or 'none'})"
    )
    user.save(update_fields=["is_staff"])
    logger.info("%s: %s", user.email, user._change_reason)
    return True


def unlock_sign_in(*, username: str, ip_address: str | None, acting_user: User) -> int:
    """Forget the failed sign-ins of ``username`` from ``ip_address``; return how many."""
    # The lockout counts per login and address together (AXES_LOCKOUT_PARAMETERS), so unlocking
    # clears that pair; django-axes' own reset keeps its handlers and caches consistent.
    count = reset_failed_sign_ins(ip=ip_address, username=username)
    logger.info(
        "%s unlocked sign-in of %r from %s (%d failed attempts forgotten)",
        acting_user.email,
        username,
        ip_address,
        count,
    )
    return count
