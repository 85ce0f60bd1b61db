"""A web process that dies holding sockets: its agents turn offline when their leases run out.

A module of its own: the stacks of the other live tests share this database, each with its own lease
store, and a process that sweeps leases it never held would mark these agents offline first.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.live.conftest import open_socket, run, session_cookie, start_stack
from tickets.models import AgentProfile

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_crashed_web_process_leaves_no_ghost_presence(
    redis_url: str, alice: User, sam: User, tmp_path: Any
) -> None:
    stack = start_stack("scaled", redis_url=redis_url, log_dir=tmp_path, lease_seconds=3)
    cookies = session_cookie(alice), session_cookie(sam)
    try:

        async def scenario() -> tuple[dict[str, Any], float]:
            supervisor = await open_socket(stack, cookies[1], index=0)
            agent = await open_socket(stack, cookies[0], index=1)
            await supervisor.until(lambda f: f["type"] == "presence.changed" and f["agent_id"] == alice.pk)
            stack.processes[1].kill()
            killed_at = asyncio.get_running_loop().time()
            gone = await supervisor.until(
                lambda f: f["type"] == "presence.changed" and f["agent_id"] == alice.pk, timeout=20
            )
            waited = asyncio.get_running_loop().time() - killed_at
            await supervisor.close()
            del agent
            return gone, waited

        gone, waited = run(scenario())
        assert gone["presence"] == "offline"
        # The lease (3 s here, 45 s by default) plus a sweep period, with room for a loaded machine.
        # No surviving process ever held Alice's socket: without leases she would stay online.
        assert waited < 12
        deadline = time.monotonic() + 10
        while AgentProfile.objects.exclude(presence="offline").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert AgentProfile.objects.get(user=alice).presence == "offline"
    finally:
        stack.stop()
