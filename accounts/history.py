"""Name the acting user in audit history for work done outside a request (tasks, commands)."""

from contextlib import contextmanager
from functools import wraps
from types import SimpleNamespace

from django.db import transaction
from simple_history.models import HistoricalRecords


@contextmanager
def acting_user(user):
    """Attribute every history row written inside the block to ``user``.

    django-simple-history reads the user from the request its middleware stores in a
    thread-local; outside a request we store a stand-in that carries only the user.
    """
    context = HistoricalRecords.context
    previous = getattr(context, "request", None)
    context.request = SimpleNamespace(user=user)
    try:
        yield user
    finally:
        if previous is None:
            del context.request
        else:
            context.request = previous


def audited(service):
    """Run a service in one transaction, its history rows attributed to its ``acting_user``."""

    @wraps(service)
    def run(*args, **kwargs):
        user = kwargs.get("acting_user")
        with transaction.atomic():
            if user is None:
                return service(*args, **kwargs)
            with acting_user(user):
                return service(*args, **kwargs)

    return run


def history_user_of(instance):
    """Return the user the next history row of ``instance`` names, as simple-history picks it."""
    if hasattr(instance, "_history_user"):
        return instance._history_user
    user = getattr(getattr(HistoricalRecords.context, "request", None), "user", None)
    return user if user is not None and user.is_authenticated else None


SYSTEM_ACTOR = "system"
RESEARCHER_ACTOR = "researcher"


def actor_label(user) -> str:
    """Name who made a decision, to be kept after their account is gone.

    Staff by their address; a researcher only as such, since their report names them already
    and their address is kept encrypted; work without a person as the system.
    """
    if user is None:
        return SYSTEM_ACTOR
    return user.email if user.is_staff else RESEARCHER_ACTOR
