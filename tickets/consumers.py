"""The agent websocket, ``/ws/agent/``: inbox and timeline events, typing, presence, collision.

The protocol (frames, close codes, catch-up) is described in ``docs/events.md``. The socket joins only
groups the agent may hear (its own, its teams', ``supervisors`` for supervisors) and a ticket's group only
after the visibility check; it delivers an event only if the agent is entitled to it at that moment
(``tickets.live_access``), whatever group brought it, and follows changes of the agent's teams and role
within ``ACCESS_SECONDS``. It never trusts a frame: anything malformed, unknown, oversized or too frequent
gets an error frame, and a sustained flood closes the socket.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from typing import Any, ClassVar

from channels.db import database_sync_to_async
from django.utils import timezone

from realtime import publisher
from realtime.frames import (
    CLOSE_FLOODING,
    FrameConsumer,
    FrameError,
    RecentKeys,
    bool_field,
    int_field,
)
from tickets import events
from tickets.jsonload import json_load
from tickets.live_access import AgentFacts, agent_facts, agents_facts, entitled, visible_seq
from tickets.ratelimit import TokenBucket
from tickets.selectors import ticket_events_after
from tickets.services import presence

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403

MAX_SUBSCRIPTIONS = 50
# Events remembered per socket to deliver an event that reaches it through several groups once.
RECENT_KEYS = 4096
# Seconds a frame may take to leave; longer means the socket is closing or its client stalled.
SEND_TIMEOUT = 2.0
# Ticket events re-read from the database in one go when closing a gap.
FILL_BATCH = 500
# Events whose ticket may have left the agent's sight.
_VISIBILITY_EVENTS = {"ticket.team_changed", "ticket.assigned", "ticket.merged"}
# Seconds within which a socket follows a change of its agent's teams, role or account: each web process
# reads the facts of all its sockets' agents in one go this often.
ACCESS_SECONDS = min(presence.RENEW_SECONDS, 2.0)


def _still_visible(user_id: int, ticket_id: int) -> bool:
    return visible_seq(user_id, ticket_id) is not None


def _events_between(ticket_id: int, after: int, upto: int) -> list[tuple[int, str, str]]:
    rows = ticket_events_after(ticket_id=ticket_id, after_seq=after, up_to_seq=upto)
    return [
        (
            row.seq,
            events.event_key(ticket_id, row.seq, row.type),
            json.dumps(events.event_envelope(row), separators=(",", ":")),
        )
        for row in rows[:FILL_BATCH]
    ]


class AgentConsumer(FrameConsumer):
    agent: AgentFacts | None = None
    max_frame_chars = 4096
    # A steady 10 frames a second, bursts of 30: far above what a person types.
    rate_per_second = 10.0
    rate_burst = 30.0
    flood_limit = 100
    handlers: ClassVar[dict[str, str]] = {
        "ping": "on_ping",
        "subscribe": "on_subscribe",
        "unsubscribe": "on_unsubscribe",
        "typing": "on_typing",
        "replying": "on_replying",
        "presence": "on_presence",
    }

    async def connect(self) -> None:
        publisher.bind_server_loop()
        self.frames_start(
            load=json_load,
            limiter=TokenBucket(rate=self.rate_per_second, burst=self.rate_burst),
        )
        self.joined: list[str] = []
        # The groups whose events this socket may deliver: ``joined`` as a set, for the delivery check.
        self.hears: frozenset[str] = frozenset()
        self.marks: dict[int, int] = {}
        self.replying: set[int] = set()
        self.recent = RecentKeys(RECENT_KEYS)
        user = self.scope.get("user")
        # Accept first: a close code can only be sent on an open socket, and clients need the code to
        # tell "log in again" (4401) from "not allowed" (4403).
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        agent = await database_sync_to_async(agent_facts)(user)
        if agent is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.agent = agent
        self.joined = agent.groups()
        self.hears = frozenset(self.joined)
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        _local_sockets(asyncio.get_running_loop()).add(self)
        state = await database_sync_to_async(presence.presence_connect)(
            user_id=agent.user_id, connection=self.channel_name
        )
        await self.send_frame(
            {
                "type": "hello",
                "agent_id": agent.user_id,
                "presence": state,
                "groups": self.joined,
                "heartbeat_seconds": presence.RENEW_SECONDS * 2,
            }
        )

    async def disconnect(self, code: int) -> None:
        await self._release()

    async def _release(self) -> None:
        """Leave every group and give up presence and collision leases; safe to call twice."""
        agent = self.agent
        if agent is None:
            return
        self.agent = None
        self.hears = frozenset()
        _local_sockets(asyncio.get_running_loop()).discard(self)
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        for ticket_id in list(self.marks):
            await self._leave(agent, ticket_id)
        await database_sync_to_async(presence.presence_disconnect)(
            user_id=agent.user_id, connection=self.channel_name
        )

    def lease(self) -> presence.SocketLease | None:
        if self.agent is None:
            return None
        return presence.SocketLease(
            user_id=self.agent.user_id,
            connection=self.channel_name,
            viewing=frozenset(self.marks),
            replying=frozenset(self.replying),
        )

    # --- frames from the client ------------------------------------------------------------------------

    def hearing(self) -> bool:
        return self.agent is not None

    def echo_of(self, frame: dict[str, Any]) -> dict[str, Any]:
        ref = frame.get("ref")
        return {"ref": ref} if isinstance(ref, str | int) and len(str(ref)) <= 64 else {}

    async def flooded(self) -> None:
        # Released now: frames still queued behind this one must not keep the agent present.
        await self._release()
        await self.close(code=CLOSE_FLOODING)

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await self.send_frame({"type": "pong", "at": timezone.now().isoformat()})

    async def on_subscribe(self, frame: dict[str, Any]) -> None:
        assert self.agent is not None
        ticket_id = int_field(frame, "ticket_id")
        after_seq = frame.get("after_seq")
        if after_seq is not None:
            after_seq = int_field(frame, "after_seq")
        if ticket_id not in self.marks and len(self.marks) >= MAX_SUBSCRIPTIONS:
            raise FrameError("too_many_subscriptions", f"At most {MAX_SUBSCRIPTIONS} tickets at once.")
        user_id = self.agent.user_id
        # Checked before joining: a socket never sits in the group of a ticket it may not see.
        if await database_sync_to_async(visible_seq)(user_id, ticket_id) is None:
            await self._subscription_refused(self.agent, ticket_id, joined=ticket_id in self.marks)
        # Then join, then read: an event committed meanwhile arrives after this handler and is either
        # a duplicate of what was read (dropped by seq) or the next one. Read with the check again, as
        # the ticket may have left the agent's sight in between.
        await self.channel_layer.group_add(events.ticket_group(ticket_id), self.channel_name)
        seq = await database_sync_to_async(visible_seq)(user_id, ticket_id)
        if seq is None:
            await self._subscription_refused(self.agent, ticket_id, joined=True)
        await database_sync_to_async(presence.collision_view)(
            ticket_id=ticket_id, user_id=self.agent.user_id, connection=self.channel_name, viewing=True
        )
        viewing, replying = await database_sync_to_async(presence.collision_state)(ticket_id=ticket_id)
        await self.send_frame(
            {
                "type": "subscribed",
                "ticket_id": ticket_id,
                "seq": seq,
                "viewing": viewing,
                "replying": replying,
            }
        )
        if after_seq is None or after_seq >= seq:
            self.marks[ticket_id] = max(seq, after_seq or 0)
            return
        self.marks[ticket_id] = after_seq
        await self._fill(ticket_id, upto=seq)

    async def on_unsubscribe(self, frame: dict[str, Any]) -> None:
        assert self.agent is not None
        ticket_id = int_field(frame, "ticket_id")
        if ticket_id in self.marks:
            await self._leave(self.agent, ticket_id)
        await self.send_frame({"type": "unsubscribed", "ticket_id": ticket_id, "reason": "asked"})

    async def on_typing(self, frame: dict[str, Any]) -> None:
        assert self.agent is not None
        ticket_id, state = self._subscribed(frame), bool_field(frame, "state")
        await database_sync_to_async(presence.typing_announce)(
            ticket_id=ticket_id, user_id=self.agent.user_id, state=state
        )

    async def on_replying(self, frame: dict[str, Any]) -> None:
        assert self.agent is not None
        ticket_id, state = self._subscribed(frame), bool_field(frame, "state")
        if state:
            self.replying.add(ticket_id)
        else:
            self.replying.discard(ticket_id)
        await database_sync_to_async(presence.collision_reply)(
            ticket_id=ticket_id, user_id=self.agent.user_id, connection=self.channel_name, replying=state
        )

    async def on_presence(self, frame: dict[str, Any]) -> None:
        assert self.agent is not None
        status = frame.get("status")
        if status not in {"online", "away", "offline", "auto"}:
            raise FrameError("bad_field", '"status" is one of online, away, offline, auto.')
        state = await database_sync_to_async(presence.presence_set)(user_id=self.agent.user_id, status=status)
        await self.send_frame(
            {"type": "presence", "presence": state, "manual": "" if status == "auto" else status}
        )

    async def _subscription_refused(self, agent: AgentFacts, ticket_id: int, *, joined: bool) -> None:
        """Refuse a subscription, leaving the ticket's group and dropping the ticket if subscribed before."""
        if ticket_id in self.marks:
            await self._leave(agent, ticket_id)
        elif joined:
            await self.channel_layer.group_discard(events.ticket_group(ticket_id), self.channel_name)
        raise FrameError("forbidden", f"Ticket {ticket_id} does not exist or is not yours to see.")

    def _subscribed(self, frame: dict[str, Any]) -> int:
        ticket_id = int_field(frame, "ticket_id")
        if ticket_id not in self.marks:
            raise FrameError("not_subscribed", f"Subscribe to ticket {ticket_id} first.")
        return ticket_id

    # --- events from the channel layer -----------------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        # The base dispatch hops to the database thread before every message to recycle connections;
        # a live event needs no database (a gap fill goes through database_sync_to_async, which
        # recycles them itself), and that hop, shared by every socket of the process, would cap
        # fan-out at a few hundred frames a second.
        if message["type"] == "live.event":
            await self.live_event(message)
        else:
            await super().dispatch(message)

    async def live_event(self, message: dict[str, Any]) -> None:
        if self.agent is None:
            return
        # Before anything else, whatever group brought it: being in a group proves nothing.
        if not entitled(message, hears=self.hears, subscribed=self.marks):
            return
        if not self.recent.first_time(message["key"]):
            return
        ticket_id, seq = message.get("ticket_id"), message.get("seq")
        if seq is not None and ticket_id in self.marks:
            mark = self.marks[ticket_id]
            if seq <= mark:
                return
            if seq > mark + 1:
                # Publishes from different processes can overtake each other, and a pub/sub message
                # can be lost; the database has every event, in order.
                await self._fill(ticket_id, upto=seq - 1)
                if ticket_id not in self.marks:
                    return  # released or unsubscribed while filling
            self.marks[ticket_id] = seq
        await self.write_text(message["text"])
        if self.agent is None:
            return  # the write found the socket gone
        if message["kind"] in _VISIBILITY_EVENTS and ticket_id in self.marks and not self.agent.sees_all:
            await self._recheck([ticket_id])

    async def access_changed(self, message: dict[str, Any]) -> None:
        """The agent's teams, role or account changed: join and leave groups, drop what it may not see."""
        if self.agent is None:
            return
        if message["agent"] is None:
            await self._release()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        agent = AgentFacts.from_message(message["agent"])
        if agent == self.agent:
            return
        before, self.agent = set(self.joined), agent
        self.joined = agent.groups()
        # The delivery check follows at once; the group moves below only save traffic.
        self.hears = frozenset(self.joined)
        for group in before - self.hears:
            await self.channel_layer.group_discard(group, self.channel_name)
        for group in self.hears - before:
            await self.channel_layer.group_add(group, self.channel_name)
        await self._recheck(list(self.marks))

    # --- helpers ---------------------------------------------------------------------------------------

    async def _recheck(self, ticket_ids: list[int]) -> None:
        """Unsubscribe from those of ``ticket_ids`` the agent may no longer see, and say so."""
        for ticket_id in ticket_ids:
            if self.agent is None:
                return
            if ticket_id in self.marks and not await database_sync_to_async(_still_visible)(
                self.agent.user_id, ticket_id
            ):
                await self._leave(self.agent, ticket_id)
                await self.send_frame({"type": "unsubscribed", "ticket_id": ticket_id, "reason": "forbidden"})

    async def _fill(self, ticket_id: int, *, upto: int) -> None:
        while ticket_id in self.marks and self.marks[ticket_id] < upto:
            rows = await database_sync_to_async(_events_between)(ticket_id, self.marks[ticket_id], upto)
            if not rows:
                return
            for _, key, text in rows:
                # Written even if an inbox group delivered it before the subscription: the client
                # asked for everything after ``after_seq`` and may not have applied that copy here.
                self.recent.first_time(key)
                await self.write_text(text)
            self.marks[ticket_id] = rows[-1][0]

    async def _leave(self, agent: AgentFacts, ticket_id: int) -> None:
        self.marks.pop(ticket_id, None)
        self.replying.discard(ticket_id)
        await self.channel_layer.group_discard(events.ticket_group(ticket_id), self.channel_name)
        await database_sync_to_async(presence.collision_view)(
            ticket_id=ticket_id, user_id=agent.user_id, connection=self.channel_name, viewing=False
        )

    async def write_text(self, text: str) -> None:
        """Send one frame; a socket that cannot take it (closed, closing, stalled) is let go at once.

        Otherwise the agent would look present, and still in the ticket, until the lease expired.
        """
        if self.agent is None:
            return
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                await self.send(text_data=text)
        except (TimeoutError, OSError) as error:
            # OSError: the server reports the client gone mid-send, and then never delivers the
            # disconnect to this consumer, so this is the last chance to release what it holds.
            logger.info("agent socket %s lost (%s); releasing it", self.channel_name, type(error).__name__)
            await self._release()


# --- per-process upkeep: renew this process's leases, expire everyone's dead ones -----------------------

_sockets: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, set[AgentConsumer]] = (
    weakref.WeakKeyDictionary()
)


_upkeep_tasks: set[asyncio.Task[None]] = set()


def _local_sockets(loop: asyncio.AbstractEventLoop) -> set[AgentConsumer]:
    if loop not in _sockets:
        _sockets[loop] = set()
        # The loop holds tasks only weakly: keep a reference so the upkeep cannot be collected.
        _upkeep_tasks.add(loop.create_task(_upkeep(loop), name="live-presence-upkeep"))
        _upkeep_tasks.add(loop.create_task(_access_upkeep(loop), name="live-access-upkeep"))
    return _sockets[loop]


async def _upkeep(loop: asyncio.AbstractEventLoop) -> None:
    while True:
        await asyncio.sleep(presence.RENEW_SECONDS)
        try:
            leases = [lease for sock in list(_sockets.get(loop, ())) if (lease := sock.lease())]
            await database_sync_to_async(presence.leases_renew)(leases)
            await database_sync_to_async(presence.leases_sweep)()
        except Exception:
            logger.exception("presence upkeep failed; retrying")


async def _access_upkeep(loop: asyncio.AbstractEventLoop) -> None:
    """Tell each socket whose agent's teams, role or account changed; one read for all of them.

    The news goes through the socket's own channel, so the socket handles it between two deliveries and
    never in the middle of one.
    """
    while True:
        await asyncio.sleep(ACCESS_SECONDS)
        try:
            held = {sock: sock.agent for sock in list(_sockets.get(loop, ())) if sock.agent is not None}
            now = await database_sync_to_async(agents_facts)({agent.user_id for agent in held.values()})
            for sock, agent in held.items():
                fresh = now.get(agent.user_id)
                if sock.agent is None or fresh == agent:
                    continue
                await sock.channel_layer.send(
                    sock.channel_name,
                    {"type": "access.changed", "agent": fresh.as_message() if fresh else None},
                )
        except Exception:
            logger.exception("access upkeep failed; retrying")
