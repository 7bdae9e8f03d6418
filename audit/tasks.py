from celery import shared_task

from audit import services


@shared_task(name="audit.delete_expired_history", acks_late=True)
def delete_expired_history() -> dict[str, int]:
    """Delete audit history older than AUDIT_RETENTION_DAYS (run daily by beat)."""
    # A first run over years of history may hit the task time limit; every batch deleted so far
    # is committed, so the next run carries on from there.
    return services.delete_expired_history()
