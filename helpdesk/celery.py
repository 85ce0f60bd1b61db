from __future__ import annotations

import os
from typing import Any

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _database_connections_between_tasks(sender: Task | None = None, **kwargs: Any) -> None:
    """Keep a worker's database connection across tasks by Django's own rule, as requests do.

    Celery's Django fix-up would close it around every task (``CELERY_DB_REUSE_MAX`` turns that off),
    so each task paid for a new PostgreSQL connection. ``close_old_connections`` still drops one that
    is broken or older than ``CONN_MAX_AGE``. Eager tasks run inside the caller's transaction: never
    touch their connection.
    """
    if sender is None or getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
