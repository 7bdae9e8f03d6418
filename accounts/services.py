"""Changes to staff accounts: roles from single sign-on, and unlocking a locked-out sign-in."""

import logging

from axes.utils import reset as reset_failed_sign_ins
from django.contrib.auth.models import Group

from accounts.history import audited
from accounts.models import User
from accounts.roles import ROLE_PERMISSIONS

logger = logging.getLogger(__name__)


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
