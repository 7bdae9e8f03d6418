"""Keep audit history only as long as the program says: AUDIT_RETENTION_DAYS."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from simple_history.exceptions import NotHistoricalModelError
from simple_history.models import registered_models
from simple_history.utils import get_history_model_for_model

logger = logging.getLogger(__name__)


def delete_expired_history(
    *, now: datetime | None = None, batch_size: int = 1000
) -> dict[str, int]:
    """Delete history rows older than AUDIT_RETENTION_DAYS, ``batch_size`` rows per transaction.

    Return how many rows were deleted per history model label. A retention of 0 keeps every row.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1.")
    if not settings.AUDIT_RETENTION_DAYS:
        return {}
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    return {
        history_model._meta.label: _delete_older_than(history_model, cutoff, batch_size)
        for history_model in _history_models()
    }


def _history_models() -> list[type[models.Model]]:
    history_models = []
    for model in registered_models.values():
        try:
            history_models.append(get_history_model_for_model(model))
        except NotHistoricalModelError:
            # Through tables of history-tracked many-to-many fields (m2m_fields) are registered
            # too, without a history_date of their own. No model tracks one yet; the first that
            # does needs its through rows deleted here along with their history rows.
            continue
    return sorted(history_models, key=lambda history_model: history_model._meta.label)


def _delete_older_than(history_model: type[models.Model], cutoff: datetime, batch_size: int) -> int:
    # Not one DELETE of everything expired (simple_history's clean_old_history does that): on
    # years of history it holds its locks and grows the write-ahead log for as long as it runs.
    # Small batches, each committed on its own, keep every transaction short, and the work done
    # survives a run that is stopped halfway.
    expired = history_model._default_manager.filter(history_date__lt=cutoff).order_by("pk")
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(expired.values_list("pk", flat=True)[:batch_size])
            if batch:
                deleted += history_model._default_manager.filter(pk__in=batch).delete()[0]
        if len(batch) < batch_size:
            break
    if deleted:
        logger.info("Deleted %d %s rows older than %s", deleted, history_model._meta.label, cutoff)
    return deleted
