from django.apps import AppConfig
from django.conf import settings


class RegionsConfig(AppConfig):
    name = "regions"
    verbose_name = "Data regions"

    def ready(self):
        from regions.checks import refuse_shared_resources

        # The system check reports a shared resource wherever checks run; production goes
        # further and refuses to start at all, as it does without a master key, because web,
        # worker and beat processes do not run the system checks.
        if settings.PRODUCTION:
            refuse_shared_resources()
