from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    """django.contrib.admin, with a site that signs staff in through allauth."""

    # Kept apart from admin_site.py: app configs load before models may be imported.
    default_site = "accounts.admin_site.StaffAdminSite"
