"""The wire to the channel layer, callable from sync code in any thread of any process.

Embedded mode: the in-memory layer's queues belong to the server's event loop and are not
thread-safe, so a publish from a request or worker thread is handed to that loop. Scaled mode keeps one
loop thread per process, so channels_redis keeps its connections instead of opening one per publish.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Coroutine
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

logger = logging.getLogger(__name__)

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()
_server_loop: asyncio.AbstractEventLoop | None = None


def bind_server_loop() -> None:
    """Called from the server's loop (by each consumer): embedded publishes are delivered on it."""
    global _server_loop
    _server_loop = asyncio.get_running_loop()


def _publisher_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _loop_lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="live-publisher", daemon=True).start()
        return _loop


async def _send_all(groups: list[str], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        await layer.group_send(group, message)


def _run(coro: Coroutine[Any, Any, None], loop: asyncio.AbstractEventLoop) -> None:
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        # Already on that loop (sync code called from async code): waiting here would deadlock it.
        loop.create_task(coro)
        return
    asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=10)


def layer_message(event: dict[str, Any], *, key: str) -> dict[str, Any]:
    """The channel-layer message for ``event``.

    The JSON text is encoded once here rather than once per socket; ``key`` lets a socket that is in
    several of the target groups (a supervisor who is also in the ticket's team) deliver it once.
    """
    return {
        "type": "live.event",
        "key": key,
        "kind": event["type"],
        "ticket_id": event.get("ticket_id"),
        "seq": event.get("seq"),
        "text": json.dumps(event, separators=(",", ":")),
    }


def publish(groups: list[str], event: dict[str, Any], *, key: str) -> None:
    """Deliver ``event`` to every group; a failure is logged, never raised into the caller's work.

    A lost publish costs no data: every ticket event is recorded with its ``seq`` and clients catch up.
    """
    message = layer_message(event, key=key)
    try:
        if not settings.EMBEDDED:
            _run(_send_all(groups, message), _publisher_loop())
        elif _server_loop is not None and not _server_loop.is_closed():
            _run(_send_all(groups, message), _server_loop)
        else:
            async_to_sync(_send_all)(groups, message)
    except Exception:
        logger.exception("live publish of %s to %s failed", event.get("type"), groups)
