"""Loaded into a test worker with ``--include``: holds chosen tasks at their start while a flag file exists.

A test uses it to have a worker take a task and then die holding it, at a moment the test controls.
``HOLD_FLAG`` names the flag file, ``HOLD_TASKS`` the task names (comma-separated). While a task is
held, ``<flag>.held`` contains its id, so the test knows the worker has it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from celery.signals import task_prerun

_FLAG = os.environ.get("HOLD_FLAG", "")
_TASKS = {name.strip() for name in os.environ.get("HOLD_TASKS", "").split(",") if name.strip()}


@task_prerun.connect
def _hold(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if not _FLAG or task is None or task.name not in _TASKS:
        return
    flag = Path(_FLAG)
    if not flag.exists():
        return
    flag.with_suffix(".held").write_text(str(task_id))
    while flag.exists():
        time.sleep(0.05)
