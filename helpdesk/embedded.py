"""Embedded mode: the Celery worker and beat run as threads inside the server process.

Only ``manage.py serve`` starts them, on the in-process ``memory://`` broker, so tasks keep their
countdowns and retries with backoff and the beat schedule runs as it would in the scaled mode.
Every other process (management commands, a shell) runs tasks eagerly, as the settings say. The
memory broker dies with its process, which is safe because the database is the record of pending
work: at start-up the server re-queues what earlier processes left behind, and the periodic
``requeue_stale_events`` and ``requeue_stale_messages`` jobs keep doing so while it runs.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from celery import beat
from celery.worker import WorkController
from celery.worker import state as worker_state
from django.conf import settings

from helpdesk.celery import app

logger = logging.getLogger(__name__)

QUEUES = ("ingest", "outbound", "routing", "sla", "default")
# How often the idle in-process worker looks at the memory broker: the latency of every task.
_POLL_SECONDS = 0.1
_READY_TIMEOUT = 30.0
_CHATTY_LOGGERS = ("celery.worker.strategy", "celery.app.trace", "celery.beat")


class _ThreadWorker(WorkController):
    """A worker that says when its consumer is ready, so the server accepts requests only then."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.ready = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer: Any) -> None:
        self.ready.set()


@dataclass
class Running:
    worker: _ThreadWorker
    worker_thread: threading.Thread
    beat: Any


def start(*, threads: int | None = None) -> Running:
    """Start the worker and beat threads and re-queue the work earlier processes left pending."""
    if not settings.EMBEDDED:
        raise RuntimeError("the in-process worker is for embedded mode; run Celery workers with REDIS_URL")
    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://localhost/"
    app.conf.broker_transport_options = {"polling_interval": _POLL_SECONDS}
    app.finalize()
    app.set_current()
    app.set_default()
    worker_state.should_stop = None
    worker_state.should_terminate = None
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # A line per task and per beat tick would bury the server's own log.
        for name in _CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)

    worker = _ThreadWorker(
        app=app,
        hostname="embedded@sportello",
        pool="threads",
        concurrency=threads or settings.EMBEDDED_WORKER_THREADS,
        queues=list(QUEUES),
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        loglevel=logging.getLevelName(logging.getLogger().getEffectiveLevel()),
    )
    worker_thread = threading.Thread(target=worker.start, name="embedded-worker", daemon=True)
    worker_thread.start()
    if not worker.ready.wait(_READY_TIMEOUT):
        raise RuntimeError(f"the in-process worker did not start within {_READY_TIMEOUT:.0f}s")

    # The plain scheduler keeps its state in memory: nothing to write next to the database.
    clock = beat.EmbeddedService(app, thread=True, scheduler_cls="celery.beat:Scheduler")
    clock.start()

    from channels_in.tasks import requeue_stale_events
    from tickets.tasks import requeue_stale_messages, route_untriaged

    requeue_stale_events.delay()
    requeue_stale_messages.delay()
    route_untriaged.delay()
    logger.info("in-process worker (queues %s) and beat started", ", ".join(QUEUES))
    return Running(worker=worker, worker_thread=worker_thread, beat=clock)


def stop(running: Running, *, timeout: float = 15.0) -> None:
    """Stop beat, then let the worker finish the tasks it is running (a warm shutdown)."""
    running.beat.stop()
    running.worker.stop()
    running.worker_thread.join(timeout)
    if running.worker_thread.is_alive():
        logger.warning(
            "the in-process worker was still busy after %.0fs; leaving it to the database", timeout
        )
