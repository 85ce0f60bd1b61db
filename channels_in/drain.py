"""Filing inbound events in batches: a burst of events costs a few drain tasks, not a task each.

After an event commits, ``ingest_schedule`` makes sure a drain of the event's slot is queued: it sets
the slot's flag in the broker's Redis (``SET NX``) and queues a drain only if the flag was not set. A
drain clears its flag *before* it looks for work, so an event committed before a failed ``SET NX``
is seen by the drain that held the flag. A drain files pending events oldest first, up to
``TRANSACTION_BATCH`` per transaction (``inbound_events_process_batch``), and hands over to a new drain
after ``DRAIN_BATCH`` of them. Several slots let several
workers drain at once; they split the work with ``SKIP LOCKED``.

Nothing depends on the flags for safety: the database is still the record of pending work. A flag
outlives a lost drain by ``FLAG_SECONDS`` at most, and the stale-work sweep re-queues any event left
pending, as before. Without a Redis broker (embedded mode, eager tests) every event gets its own task.
"""

from __future__ import annotations

import logging

import redis

from channels_in.inbound import inbound_events_process_batch

logger = logging.getLogger(__name__)

DRAIN_BATCH = 200
# Events filed per transaction: set-based filing pays per batch, a row lock is held until its commit.
TRANSACTION_BATCH = 50
DRAIN_SLOTS = 4
# Longer than a drain normally waits in the queue; a lost drain's slot is free again after this.
FLAG_SECONDS = 10
_FLAG_KEY = "sportello:ingest-drain:{slot}"
_clients: dict[str, redis.Redis] = {}


def _flags() -> redis.Redis | None:
    """The broker's Redis, where the flags live and die with the queued drains; None without one."""
    from helpdesk.celery import app

    url = str(app.conf.broker_url or "")
    if app.conf.task_always_eager or not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url, socket_timeout=5)
    return client


def ingest_schedule(event_id: int) -> None:
    """Called once the event is committed: make sure a worker will file it."""
    from channels_in import tasks

    client = _flags()
    if client is None:
        tasks.ingest_event.delay(event_id)
        return
    _drain_request(client, event_id % DRAIN_SLOTS)


def _drain_request(client: redis.Redis, slot: int) -> None:
    from channels_in import tasks

    key = _FLAG_KEY.format(slot=slot)
    try:
        queue_one = bool(client.set(key, "1", nx=True, ex=FLAG_SECONDS))
    except redis.RedisError:
        logger.warning("could not read the ingest drain flag; queueing a drain", exc_info=True)
        queue_one = True
    if not queue_one:
        return
    try:
        tasks.ingest_drain.delay(slot)
    except Exception:
        # No drain is queued: the next event must not be told there is one.
        client.delete(key)
        raise


def drains_request() -> bool:
    """Make sure every slot has a drain queued (the stale-work sweep); False without a Redis broker.

    A drain files whatever is pending, so events left behind by a lost drain or a dead worker need
    one drain per slot, not a task each: a backlog of thousands stays a handful of tasks.
    """
    client = _flags()
    if client is None:
        return False
    for slot in range(DRAIN_SLOTS):
        _drain_request(client, slot)
    return True


def inbound_events_drain(*, slot: int, limit: int = DRAIN_BATCH) -> int:
    """File pending events until none is left or ``limit`` are done; returns how many were processed."""
    from channels_in import tasks

    client = _flags()
    if client is not None:
        # From here on, a newly committed event queues a new drain instead of counting on this one.
        client.delete(_FLAG_KEY.format(slot=slot))
    processed = 0
    while processed < limit:
        batch = inbound_events_process_batch(limit=min(TRANSACTION_BATCH, limit - processed))
        if not batch:
            return processed
        processed += len(batch)
        for event_id, outcome in batch:
            if outcome.retry_in is not None:
                tasks.ingest_event.apply_async((event_id,), countdown=outcome.retry_in)
    # More may be waiting: a fresh task goes to the back of the queue, behind anything else queued.
    if client is not None:
        _drain_request(client, slot)
    return processed
