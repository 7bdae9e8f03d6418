"""SSO_ROLE_MAP: the operator's rules from email domains and groups to staff roles."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from accounts import roles
from accounts.sso import RoleRule, parse_role_map, roles_for_identity

MAP = "domain:example.org=Triager, group:bounty-finance=finance ,group:/staff/admins=Program admin"


@pytest.fixture
def role_map(settings):
    settings.SSO_ROLE_MAP = MAP
    settings.SSO_GROUPS_CLAIM = "groups"
    return settings


def test_a_map_reads_as_rules_with_the_roles_canonical_names():
    assert parse_role_map(MAP) == (
        RoleRule("domain", "example.org", roles.TRIAGER),
        RoleRule("group", "bounty-finance", roles.FINANCE),
        RoleRule("group", "/staff/admins", roles.PROGRAM_ADMIN),
    )


def test_an_empty_map_has_no_rules():
    assert parse_role_map("") == ()
    assert parse_role_map(" , ") == ()


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("example.org=Triager", "is not domain:<email domain>=<role>"),
        ("email:dana@example.org=Triager", "is not domain:<email domain>=<role>"),
        ("group:bounty-finance", "is not domain:<email domain>=<role>"),
        ("group:=Finance", "is not domain:<email domain>=<role>"),
        ("group:staff=Superuser", "names no role"),
        ("domain:dana@example.org=Triager", "is not an email domain"),
        ("domain:localhost=Triager", "is not an email domain"),
    ],
)
def test_a_bad_rule_is_refused_naming_it(text, complaint):
    with pytest.raises(ImproperlyConfigured, match=complaint):
        parse_role_map(text)


def test_a_bad_map_stops_the_desk_at_startup(settings):
    settings.SSO_ROLE_MAP = "group:staff=Superuser"

    with pytest.raises(SystemCheckError, match=r"accounts\.E002"):
        call_command("check")


@pytest.mark.parametrize(
    ("email", "claims", "expected"),
    [
        ("dana@example.org", {}, {roles.TRIAGER}),
        ("Dana@EXAMPLE.org", {}, {roles.TRIAGER}),
        ("dana@mail.example.org", {}, set()),
        ("dana@example.org.evil.test", {}, set()),
        (None, {"groups": ["bounty-finance"]}, {roles.FINANCE}),
        (None, {"groups": "bounty-finance"}, {roles.FINANCE}),
        (None, {"groups": ["Bounty-Finance"]}, set()),
        (None, {"groups": ["/staff/admins", "other"]}, {roles.PROGRAM_ADMIN}),
        ("dana@example.org", {"groups": ["bounty-finance"]}, {roles.TRIAGER, roles.FINANCE}),
        (None, {"groups": [{"name": "bounty-finance"}]}, set()),
        (None, {"roles": ["bounty-finance"]}, set()),
        ("dana@elsewhere.test", {"groups": ["marketing"]}, set()),
    ],
)
def test_an_identity_gets_every_role_a_rule_names_and_only_those(role_map, email, claims, expected):
    assert roles_for_identity(email, claims) == expected


def test_the_groups_claim_is_the_operators_choice(role_map):
    role_map.SSO_GROUPS_CLAIM = "roles"

    assert roles_for_identity(None, {"roles": ["bounty-finance"]}) == {roles.FINANCE}
    assert roles_for_identity(None, {"groups": ["bounty-finance"]}) == set()


def test_without_a_map_no_identity_is_staff(settings):
    settings.SSO_ROLE_MAP = ""

    assert roles_for_identity("dana@example.org", {"groups": ["bounty-finance"]}) == set()
