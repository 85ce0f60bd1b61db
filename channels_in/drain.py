"""Filing inbound events in batches: a burst of events costs a few drain tasks, not a task each.

After an event commits, ``ingest_schedule`` makes sure a drain of the event's slot is queued or running:
the process's requester thread sets the slot's flag in the broker's Redis (``SET NX``), once for all
the events committed since it last did, and queues a drain only if the flag was not set. A slot's flag
is held by its drain for as long as that drain finds work, so one drain per slot runs at a time and
events arriving meanwhile wait for its next claim: under load each transaction files a full batch
(``TRANSACTION_BATCH``) instead of the few events that arrived since the last one, which is most of
what a filed message costs. A drain hands over to a new task, keeping the flag, after
``DRAIN_BATCH`` events.

A drain that has filed events and finds no more lingers for ``LINGER_SECONDS``, still holding its flag,
blocked on the slot's wake list, where each request pushes a token: the next event of a steady trickle
is filed by the same task. A drain that finds nothing (after its linger) gives its flag back and then
looks once more: an event whose ``SET NX`` found the flag committed before the flag was deleted, so
that last look sees it. If it finds work, the drain takes the flag again and carries on, or leaves if
another drain was queued meanwhile.

Nothing depends on the flags for safety: the database is still the record of pending work. A flag
outlives a lost drain by ``FLAG_SECONDS`` at most (a running drain renews it with every batch), and the
stale-work sweep re-queues any event left pending, as before. ``INGEST_DRAIN_SLOTS`` drains may run
at once; they split the work with ``SKIP LOCKED``. Without a Redis broker (embedded mode, eager tests)
every event gets its own task.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from celery import current_app
from django.conf import settings

from channels_in.inbound import ProcessOutcome, inbound_events_process_batch
from realtime.singleton import ProcessSingleton

logger = logging.getLogger(__name__)

# Events a drain files before it hands over to a fresh task, behind whatever else is queued.
DRAIN_BATCH = 1000
# Most events filed per transaction: set-based filing pays per batch, and a batch is only as large as
# the backlog (one event when idle). Its row locks are held until its commit, a fraction of a second
# for a full batch under load; a larger batch lets one drain keep up with a far higher rate
# (bench/ingest, docs/performance.md).
TRANSACTION_BATCH = 200
# Longer than a drain normally waits in the queue or takes for a batch; a lost drain's slot is free
# again after this.
FLAG_SECONDS = 10
_FLAG_KEY = "sportello:ingest-drain:{slot}"
_WAKE_KEY = "sportello:ingest-wake:{slot}"
# How long a drain that has filed events waits for the next one before it gives its slot back.
LINGER_SECONDS = 1.0
EXIT_FLUSH_SECONDS = 2
_clients: dict[str, redis.Redis] = {}


def _flags() -> redis.Redis | None:
    """The broker's Redis, where the flags live and die with the queued drains; None without one."""
    url = str(current_app.conf.broker_url or "")
    if current_app.conf.task_always_eager or not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url, socket_timeout=5)
    return client


def ingest_schedule(event_id: int) -> None:
    """Called once the event is committed: make sure a worker will file it.

    With a Redis broker the flag is set by this process's requester thread, right after and once for
    every event committed meanwhile: a Redis round trip in each webhook request was a large share of
    its CPU. The event is already stored, and a drain comes for it as soon as the requester has run; if
    the process dies first, the stale-work sweep queues one.
    """
    from channels_in import tasks

    client = _flags()
    if client is None:
        tasks.ingest_event.delay(event_id)
        return
    _requesters.get().request(client, event_id % settings.INGEST_DRAIN_SLOTS)


def requests_flush(timeout: float = 10.0) -> bool:
    """Wait until the drains asked for so far by this process have been requested from Redis."""
    requester = _requesters.current()
    return requester.flush(timeout) if requester is not None else True


class _Requester:
    """A thread that makes sure a drain is coming for each slot asked for, once per burst of asks."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.wanted: set[tuple[redis.Redis, int]] = set()
        self.wake = threading.Event()
        self.idle = threading.Event()
        self.idle.set()
        self.thread = threading.Thread(target=self._run, name="ingest-drain-requests", daemon=True)
        self.thread.start()

    def request(self, client: redis.Redis, slot: int) -> None:
        with self.lock:
            self.wanted.add((client, slot))
            self.idle.clear()
        self.wake.set()

    def flush(self, timeout: float) -> bool:
        return self.idle.wait(timeout)

    def _run(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            with self.lock:
                wanted, self.wanted = self.wanted, set()
            for client, slot in wanted:
                try:
                    _drain_request(client, slot)
                except Exception:
                    # The events are stored: the stale-work sweep queues a drain for them.
                    logger.exception("could not request an ingest drain for slot %s", slot)
            with self.lock:
                if not self.wanted:
                    self.idle.set()


# A forked child (a web or Celery pool process) inherits the parent's requester but not its thread; a
# process that exits cleanly (a recycled worker) asks for what it still holds.
_requesters: ProcessSingleton[_Requester] = ProcessSingleton(
    _Requester, at_exit=lambda requester: requester.flush(EXIT_FLUSH_SECONDS)
)


def _drain_request(client: redis.Redis, slot: int) -> None:
    key = _FLAG_KEY.format(slot=slot)
    try:
        # In the same round trip, a token that wakes the slot's drain if it is lingering.
        wake = _WAKE_KEY.format(slot=slot)
        pipe = client.pipeline(transaction=False)
        pipe.set(key, "1", nx=True, ex=FLAG_SECONDS)
        pipe.rpush(wake, "1")
        pipe.expire(wake, FLAG_SECONDS)
        queue_one = bool(pipe.execute()[0])
    except redis.RedisError:
        logger.warning("could not read the ingest drain flag; queueing a drain", exc_info=True)
        queue_one = True
    if queue_one:
        _drain_queue(client, key, slot)


def _drain_queue(client: redis.Redis, key: str, slot: int) -> None:
    from channels_in import tasks

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
    for slot in range(settings.INGEST_DRAIN_SLOTS):
        _drain_request(client, slot)
    return True


def inbound_events_drain(*, slot: int, limit: int = DRAIN_BATCH) -> int:
    """File pending events until none is left or ``limit`` are done; returns how many were processed."""
    client = _flags()
    key = _FLAG_KEY.format(slot=slot)
    try:
        return _drain(client, key, slot, limit)
    except BaseException:
        # A failed drain must not hold its slot until the flag runs out: the next event queues another.
        if client is not None:
            client.delete(key)
        raise


def _drain(client: redis.Redis | None, key: str, slot: int, limit: int) -> int:
    processed = 0
    wake = _WAKE_KEY.format(slot=slot)
    # A drain that filed something waits a moment for more before it gives its slot back: at a
    # steady trickle, the next event is filed by the same task instead of a new one.
    linger_until: float | None = None
    while processed < limit:
        if client is not None:
            # Tokens pushed so far are for events committed before this claim, which sees them.
            client.delete(wake)
        batch = _batch(limit - processed)
        if not batch and client is not None and linger_until is not None:
            remaining = linger_until - time.monotonic()
            if remaining > 0:
                client.blpop([wake], timeout=remaining)
                continue
        if not batch and client is not None:
            # Idle: from here on a newly committed event queues a new drain. One committed before
            # this point found the flag set and counts on this drain, so look once more.
            client.delete(key)
            batch = _batch(limit - processed)
            if batch and not client.set(key, "1", nx=True, ex=FLAG_SECONDS):
                return processed + len(batch)  # another drain is queued and carries on
        if not batch:
            return processed
        processed += len(batch)
        linger_until = time.monotonic() + LINGER_SECONDS
        if client is not None:
            client.set(key, "1", ex=FLAG_SECONDS)
    # More may be waiting: a fresh task goes to the back of the queue, behind anything else queued.
    # It inherits the flag, so nothing else queues a drain for this slot meanwhile.
    if client is not None:
        _drain_queue(client, key, slot)
    return processed


def _batch(limit: int) -> list[tuple[int, ProcessOutcome]]:
    from channels_in import tasks

    batch = inbound_events_process_batch(limit=min(TRANSACTION_BATCH, limit))
    for event_id, outcome in batch:
        if outcome.retry_in is not None:
            tasks.ingest_event.apply_async((event_id,), countdown=outcome.retry_in)
    return batch
