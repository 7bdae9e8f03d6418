from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "intake"
    verbose_name = "Email intake"

    def ready(self):
        # Registers the system check of the intake settings.
        from intake import checks  # noqa: F401
