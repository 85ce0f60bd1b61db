"""The wire to the channel layer, callable from sync code in any thread of any process.

``publish(groups, event, *, key)`` sends one event to named groups; ``publish_many(items)`` sends a batch
of ``(groups, event, key)`` at once (an ingest transaction that files many messages hands its events
over together). Each event's JSON is encoded once, and each event is serialized for the channel layer
once, whatever the number of groups.

Scaled mode: one publisher per process, on its own loop thread (so channels_redis keeps its connections
instead of opening one per publish). ``publish`` only queues and returns: the caller, typically a
request or an ingest task right after its commit, does not wait for Redis. The publisher sends what is
queued in order, all of it in one pipelined round trip per Redis server, so a burst of events costs a
few round trips rather than one per group and event. ``flush()`` waits for the queue to empty (process
shutdown, tests). A publish lost to a crash costs no data: ticket events are recorded with their
``seq`` and clients catch up.

Embedded mode: the in-memory layer's queues belong to the server's event loop and are not thread-safe,
so a publish from a request or worker thread is handed to that loop, and waited for.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import defaultdict, deque
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

from realtime.singleton import ProcessSingleton

logger = logging.getLogger(__name__)

# Events waiting for Redis beyond which new ones are dropped (Redis unreachable): memory stays bounded
# and clients catch up by seq once it is back.
MAX_PENDING = 20_000
# Seconds the process waits at exit for queued events to leave.
EXIT_FLUSH_SECONDS = 2.0

Item = tuple[list[str], dict[str, Any], str]
_Message = tuple[tuple[str, ...], dict[str, Any]]

_server_loop: asyncio.AbstractEventLoop | None = None


def bind_server_loop() -> None:
    """Called from the server's loop (by each consumer): embedded publishes are delivered on it."""
    global _server_loop
    _server_loop = asyncio.get_running_loop()


def layer_message(event: dict[str, Any], *, key: str, groups: Iterable[str]) -> dict[str, Any]:
    """The channel-layer message for ``event``, addressed to ``groups``.

    The JSON text is encoded once here rather than once per socket; ``key`` lets a socket that is in
    several of the target groups (a supervisor who is also in the ticket's team) deliver it once. ``to``
    names every addressed group: a socket delivers the event only if it belongs to one of them now, not
    merely because the event reached it (the receiving socket's own entitlement check).
    """
    return {
        "type": "live.event",
        "key": key,
        "to": list(groups),
        "kind": event["type"],
        "ticket_id": event.get("ticket_id"),
        "seq": event.get("seq"),
        "text": json.dumps(event, separators=(",", ":")),
    }


async def _send_each(batch: list[_Message]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    if isinstance(layer, RedisPubSubChannelLayer):
        await _publish_pipelined(layer, batch)
        return
    for groups, message in batch:
        for group in groups:
            await layer.group_send(group, message)


async def _publish_pipelined(layer: RedisPubSubChannelLayer, batch: list[_Message]) -> None:
    """The pub/sub layer's ``group_send`` for a whole batch: one PUBLISH per group, one round trip.

    Uses the layer's own naming and connections (channels-redis is pinned), so what it publishes is
    exactly what its subscribers in every web process listen to.
    """
    loop_layer = layer._get_layer()
    by_shard: dict[Any, list[tuple[str, bytes]]] = defaultdict(list)
    for groups, message in batch:
        payload = layer.serialize(message)
        for group in groups:
            channel = loop_layer._get_group_channel_name(group)
            by_shard[loop_layer._get_shard(channel)].append((channel, payload))
    for shard, publishes in by_shard.items():
        async with shard._lock:
            shard._ensure_redis()
            pipe = shard._redis.pipeline(transaction=False)
            for channel, payload in publishes:
                pipe.publish(channel, payload)
            await pipe.execute()


class _Publisher:
    """A loop thread that sends queued events in order, as many per round trip as are waiting."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.pending: deque[_Message] = deque()
        self.lock = threading.Lock()
        self.idle = threading.Event()
        self.idle.set()
        self.draining = False
        self.task: asyncio.Task[None] | None = None
        threading.Thread(target=self.loop.run_forever, name="live-publisher", daemon=True).start()

    def submit(self, messages: list[_Message]) -> None:
        with self.lock:
            room = MAX_PENDING - len(self.pending)
            if room < len(messages):
                logger.error("live publisher backlog full; %d events dropped", len(messages) - max(room, 0))
                messages = messages[: max(room, 0)]
            if not messages:
                return
            self.pending.extend(messages)
            self.idle.clear()
            if self.draining:
                return
            self.draining = True
        self.loop.call_soon_threadsafe(self._start)

    def _start(self) -> None:
        self.task = self.loop.create_task(self._drain())

    async def _drain(self) -> None:
        while True:
            with self.lock:
                batch = list(self.pending)
                self.pending.clear()
                if not batch:
                    self.draining = False
                    self.idle.set()
                    return
            try:
                await _send_each(batch)
            except Exception:
                logger.exception("live publish of %d events failed", len(batch))

    def flush(self, timeout: float) -> bool:
        return self.idle.wait(timeout)


# A forked child (a Celery pool process) inherits the parent's publisher but not its thread.
_publishers: ProcessSingleton[_Publisher] = ProcessSingleton(
    _Publisher,
    usable=lambda publisher: not publisher.loop.is_closed(),
    at_exit=lambda publisher: publisher.flush(EXIT_FLUSH_SECONDS),
)


def flush(timeout: float = 10.0) -> bool:
    """Wait until every event published so far by this process has been handed to the channel layer."""
    publisher = _publishers.current()
    return publisher.flush(timeout) if publisher is not None else True


def _run_embedded(messages: list[_Message]) -> None:
    loop = _server_loop
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is None or loop.is_closed():
        if running is not None:
            # Some other loop runs this thread and no socket has bound the server's: in-process groups
            # have no members yet, and waiting on the loop from inside it would deadlock it.
            return
        async_to_sync(_send_each)(messages)
        return
    if running is loop:
        # Already on that loop (sync code called from async code): waiting here would deadlock it.
        loop.create_task(_send_each(messages))
        return
    asyncio.run_coroutine_threadsafe(_send_each(messages), loop).result(timeout=10)


def publish_many(items: Iterable[Item]) -> None:
    """Deliver each ``(groups, event, key)`` in order; failures are logged, never raised.

    Equivalent to calling ``publish`` for each item, but the batch leaves in as few Redis round trips
    as there are Redis servers.
    """
    messages = [
        (tuple(groups), layer_message(event, key=key, groups=groups))
        for groups, event, key in items
        if groups
    ]
    if not messages:
        return
    try:
        if not settings.EMBEDDED:
            _publishers.get().submit(messages)
        else:
            _run_embedded(messages)
    except Exception:
        logger.exception("live publish of %d events failed", len(messages))


def publish(groups: list[str], event: dict[str, Any], *, key: str) -> None:
    """Deliver ``event`` to every group; a failure is logged, never raised into the caller's work.

    A lost publish costs no data: every ticket event is recorded with its ``seq`` and clients catch up.
    """
    publish_many([(groups, event, key)])
