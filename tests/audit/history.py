"""Build and inspect audit history for the retention tests."""

from django.apps import apps
from simple_history.models import HistoricalChanges


def date_history(obj, when) -> set[int]:
    """Date every history row of ``obj`` at ``when``; return the ids of those rows."""
    obj.history.update(history_date=when)
    return set(obj.history.values_list("history_id", flat=True))


def history_models():
    """Every history model in the project, found through the app registry."""
    return [model for model in apps.get_models() if issubclass(model, HistoricalChanges)]


def all_history_rows() -> set[tuple[str, int]]:
    """Every history row there is, as (history model label, history id)."""
    return {
        (model._meta.label, history_id)
        for model in history_models()
        for history_id in model._default_manager.values_list("history_id", flat=True)
    }
