"""Staff roles from single sign-on: the operator's map from email domains and groups to roles.

``SSO_ROLE_MAP`` lists rules, comma-separated, each ``domain:<email domain>=<role>`` or
``group:<group name>=<role>``; for example
``domain:example.org=Triager,group:bounty-finance=Finance,group:bounty-admins=Program admin``.
An identity gets every role one of its rules names. An identity no rule matches gets no staff
rights at all, whatever its provider says about it.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from accounts.roles import ROLE_PERMISSIONS

DOMAIN = "domain"
GROUP = "group"
_ROLES_BY_NAME = {role.casefold(): role for role in ROLE_PERMISSIONS}


@dataclass(frozen=True)
class RoleRule:
    kind: str
    value: str
    role: str

    def matches(self, email_domain: str | None, groups: frozenset[str]) -> bool:
        if self.kind == DOMAIN:
            return email_domain == self.value
        return self.value in groups


def _rule(entry: str) -> RoleRule:
    subject, has_role, role_name = entry.partition("=")
    kind, has_kind, value = subject.strip().partition(":")
    kind, value = kind.strip().lower(), value.strip()
    role = _ROLES_BY_NAME.get(role_name.strip().casefold())
    if not (has_role and has_kind and value) or kind not in (DOMAIN, GROUP):
        raise ImproperlyConfigured(
            f"SSO_ROLE_MAP: {entry!r} is not domain:<email domain>=<role> "
            "or group:<group name>=<role>."
        )
    if role is None:
        raise ImproperlyConfigured(
            f"SSO_ROLE_MAP: {entry!r} names no role; the roles are {', '.join(ROLE_PERMISSIONS)}."
        )
    if kind == DOMAIN:
        value = value.lower().removeprefix("@")
        if "@" in value or "." not in value:
            raise ImproperlyConfigured(f"SSO_ROLE_MAP: {value!r} is not an email domain.")
    return RoleRule(kind, value, role)


def parse_role_map(text: str) -> tuple[RoleRule, ...]:
    """Return the rules written in ``text``; raise ImproperlyConfigured naming a bad one."""
    return tuple(_rule(entry) for entry in text.split(",") if entry.strip())


@lru_cache(maxsize=4)
def _rules(text: str) -> tuple[RoleRule, ...]:
    return parse_role_map(text)


def role_rules() -> tuple[RoleRule, ...]:
    return _rules(settings.SSO_ROLE_MAP)


def _groups(claim) -> frozenset[str]:
    if isinstance(claim, str):
        return frozenset({claim})
    if isinstance(claim, list | tuple):
        return frozenset(group for group in claim if isinstance(group, str))
    return frozenset()


def roles_for_identity(email: str | None, claims: Mapping) -> set[str]:
    """Return the staff roles of an identity: its verified ``email`` and its ID token's claims.

    Pass ``email`` only when the identity provider vouches for it: a domain rule trusts the
    address to prove membership of the organisation.
    """
    domain = email.rpartition("@")[2].lower() if email and "@" in email else None
    groups = _groups(claims.get(settings.SSO_GROUPS_CLAIM))
    return {rule.role for rule in role_rules() if rule.matches(domain, groups)}
