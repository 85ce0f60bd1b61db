"""The wire to the channel layer, callable from sync code in any process.

Embedded mode shares the server's event loop with the in-memory layer, so it goes through
``async_to_sync``. Scaled mode keeps one loop thread per process, so channels_redis keeps its
connections instead of opening one per publish.
"""

from __future__ import annotations

import asyncio
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


def _run(coro: Coroutine[Any, Any, None]) -> None:
    future = asyncio.run_coroutine_threadsafe(coro, _publisher_loop())
    future.result(timeout=10)


def publish(groups: list[str], event: dict[str, Any]) -> None:
    """Deliver ``event`` to every group; a failure is logged, never raised into the caller's work."""
    message = {"type": "live.event", "event": event}
    try:
        if settings.EMBEDDED:
            async_to_sync(_send_all)(groups, message)
        else:
            _run(_send_all(groups, message))
    except Exception:
        logger.exception("live publish of %s to %s failed", event.get("type"), groups)
