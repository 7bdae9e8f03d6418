"""The role table as Markdown, for the README: what each role may do in the admin, and more."""

import textwrap

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import model_format_dict
from django.utils.text import capfirst

from accounts import roles

COLUMNS = [roles.TRIAGER, roles.FINANCE, roles.PROGRAM_ADMIN, "Superuser"]
YES = "yes"


def _may(column: str, permission: str | None) -> bool:
    if column == "Superuser":
        return permission is not None
    return roles.role_may(column, permission)


def _permission_name(permission: str) -> str:
    app_label, codename = permission.split(".")
    action, _, model_name = codename.partition("_")
    for model in apps.get_app_config(app_label).get_models():
        custom = dict(model._meta.permissions)
        if codename in custom:
            return custom[codename]
        if model._meta.model_name == model_name and action in model._meta.default_permissions:
            return f"Can {action} {model._meta.verbose_name}"
    raise LookupError(f"No such permission: {permission}")


def _row(label: str, cells: list[str]) -> str:
    return "| " + " | ".join([label, *cells]) + " |"


def _model_rows(model, model_admin, rights: roles.AdminRights) -> list[str]:
    page = f"{model._meta.app_config.verbose_name}: {capfirst(model._meta.verbose_name_plural)}"
    rows = [
        _row(
            page,
            [
                ", ".join(right for right, asked in rights.rights().items() if _may(column, asked))
                for column in COLUMNS
            ],
        )
    ]
    for name, asked in rights.actions.items():
        description = str(model_admin.get_action(name)[2]) % model_format_dict(model._meta)
        rows.append(
            _row(
                f"{page}, action “{description}”",
                [YES if _may(column, asked) else "" for column in COLUMNS],
            )
        )
    return rows


def _other_permissions() -> list[str]:
    """Return the permissions roles hold beyond a model's plain view/add/change/delete."""
    plain = {
        asked
        for label, rights in roles.ADMIN_RIGHTS.items()
        for right, asked in rights.rights().items()
        if asked == f"{label.split('.')[0]}.{right}_{label.split('.')[1]}"
    }
    held = {code for codes in roles.ROLE_PERMISSIONS.values() for code in codes}
    return sorted(held - plain)


def role_table_markdown() -> str:
    registry = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label_lower)
    lines = [
        textwrap.fill(
            "What each role may do in the admin, from `accounts/roles.py` (print it with "
            "`manage.py role_table`; a test fails when this table and the code differ). A right "
            "or action nobody has, superusers neither, is one whose records change only through "
            "their services.",
            width=100,
        ),
        "",
        _row("Admin page, action or permission", COLUMNS),
        _row("---", ["---"] * len(COLUMNS)),
    ]
    for model, model_admin in registry:
        lines += _model_rows(model, model_admin, roles.ADMIN_RIGHTS[model._meta.label_lower])
    for permission in _other_permissions():
        lines.append(
            _row(
                f"{_permission_name(permission)} (`{permission}`)",
                [YES if _may(column, permission) else "" for column in COLUMNS],
            )
        )
    granted_by = "; ".join(
        f"{granter} grants and revokes {', '.join(sorted(granted))}"
        for granter, granted in roles.ROLES_GRANTED_BY.items()
    )
    lines += [
        "",
        textwrap.fill(
            f"Roles are granted on a user's page, “Change roles…”: {granted_by}; a superuser "
            "grants and revokes every role and superuser status. Nobody changes their own roles, "
            "status or password there, superusers neither, and every change is kept in the "
            "user's history and mailed to every program admin. A program admin changes only "
            "accounts holding no more than the roles they may grant, and no researcher's.",
            width=100,
        ),
    ]
    return "\n".join(lines)
