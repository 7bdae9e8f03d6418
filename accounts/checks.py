from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from accounts.network import staff_networks


@checks.register(checks.Tags.security)
def check_staff_networks(app_configs, **kwargs):
    """Refuse to start with an allowlist entry that is not a network."""
    try:
        staff_networks()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="accounts.E001")]
    return []
