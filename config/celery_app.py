"""The Celery app: configured from Django settings (the ``CELERY_`` names), tasks found per app."""

import os

from celery import Celery, Task
from django.db import DatabaseError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class DeskTask(Task):
    """Every task of the desk: idempotent, so safe to acknowledge late and to retry.

    A database that is briefly away (a failover, a restart) is retried with growing waits, a
    bounded number of times; after that the task fails loudly in the worker's log, and the
    periodic sweeps pick the work up again from the rows that still need it.
    """

    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = (DatabaseError,)
    max_retries = 5
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True


app = Celery("bounty_desk", task_cls=DeskTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
