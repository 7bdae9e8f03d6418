from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self):
        from accounts import checks  # noqa: F401 - registers the system checks
        from accounts.roles import sync_roles_after_migrate

        # Permissions only exist after migrate has run (Django creates them in post_migrate),
        # so the role groups are brought in line there too, the same way.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="accounts.sync_roles")
