"""The admin grants each role exactly what the role table in accounts/roles.py says, no more.

The walk reads ``admin.site._registry``, so a model or action added to the admin without a row
in ``ADMIN_RIGHTS`` fails here until someone has said who may use it.
"""

import re
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.test import RequestFactory

from accounts import roles

pytestmark = pytest.mark.django_db

REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label_lower)
ROLES = [roles.TRIAGER, roles.FINANCE, roles.PROGRAM_ADMIN]
RIGHTS = ("view", "add", "change", "delete")


def _request_as(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _granted(model_admin, user) -> dict:
    """Return what the admin lets ``user`` do: each right, and the actions it offers."""
    request = _request_as(user)
    granted = {right: getattr(model_admin, f"has_{right}_permission")(request) for right in RIGHTS}
    granted["actions"] = set(model_admin.get_actions(request))
    return granted


def _expected(rights: roles.AdminRights, may) -> dict:
    expected = {right: may(permission) for right, permission in rights.rights().items()}
    expected["actions"] = {name for name, permission in rights.actions.items() if may(permission)}
    return expected


@pytest.fixture
def people(triager, finance_user, program_admin, superuser, researcher):
    return {
        roles.TRIAGER: triager,
        roles.FINANCE: finance_user,
        roles.PROGRAM_ADMIN: program_admin,
        "superuser": superuser,
        "researcher": researcher,
        "anonymous": AnonymousUser(),
    }


def test_every_admin_model_has_a_row_in_the_role_table():
    registered = {model._meta.label_lower for model, _ in REGISTRY}

    assert registered - roles.ADMIN_RIGHTS.keys() == set(), "add these to ADMIN_RIGHTS"
    assert roles.ADMIN_RIGHTS.keys() - registered == set(), "no longer in the admin"


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTRY, ids=[model._meta.label_lower for model, _ in REGISTRY]
)
def test_each_role_gets_exactly_the_rights_and_actions_the_table_gives_it(
    people, model, model_admin
):
    rights = roles.ADMIN_RIGHTS[model._meta.label_lower]
    expected = {
        role: _expected(rights, lambda permission, role=role: roles.role_may(role, permission))
        for role in ROLES
    }
    # A superuser may do whatever anybody may; nobody may do what the table gives nobody.
    expected["superuser"] = _expected(rights, lambda permission: permission is not None)
    expected["researcher"] = expected["anonymous"] = _expected(rights, lambda permission: False)

    granted = {who: _granted(model_admin, user) for who, user in people.items()}

    differences = [
        f"{who} {what}: the admin says {granted[who][what]}, the table {expected[who][what]}"
        for who in people
        for what in (*RIGHTS, "actions")
        if granted[who][what] != expected[who][what]
    ]
    assert not differences, "\n".join(differences)


def test_the_table_names_only_permissions_that_exist():
    from django.contrib.auth.models import Permission

    existing = {
        f"{app_label}.{codename}"
        for app_label, codename in Permission.objects.values_list(
            "content_type__app_label", "codename"
        )
    }
    asked = {
        permission
        for rights in roles.ADMIN_RIGHTS.values()
        for permission in [*rights.rights().values(), *rights.actions.values()]
        if permission not in (None, roles.SUPERUSER)
    }

    assert asked - existing == set()


def test_the_readme_shows_the_role_table_as_the_code_has_it(capsys):
    call_command("role_table")
    printed = capsys.readouterr().out.strip()
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = re.search(r"### Who may do what\n\n(.*?)\n## How it is built", readme, re.S)

    assert section, "README.md needs a '### Who may do what' section before '## How it is built'"
    assert section[1].strip() == printed, (
        "README.md's role table differs from accounts/roles.py: paste `manage.py role_table`"
    )
