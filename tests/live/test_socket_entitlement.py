"""Who a socket delivers a ticket's events to, tested as an attacker would: real servers, real sockets.

A socket receives a ticket's events only while its agent may see the ticket, checked before it joins the
ticket's group and again at delivery, whatever group an event arrives through. The attacks below are an
agent hammering ``subscribe`` on another team's ticket while notes are written to it, and events pushed
straight into a group the socket is in (the test process publishes on the servers' Redis).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.contrib.auth.models import User
from django.db import connection
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from channels_in.models import ChannelAccount
from channels_in.webchat.tests.conftest import SHOP, make_webchat_channel
from realtime import publisher
from tests.fixtures.personas import make_api_channel
from tests.live.conftest import LiveStack, Socket, open_socket, run, session_cookie, start_stack
from tests.live.test_agent_socket import api, is_event, post_inbound, token
from tests.widget.test_widget_socket import frame_of
from tickets import events
from tickets.models import AgentProfile, Message, Team, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

ATTACKERS = 20
WRITES = 8
SECRET = "nota-riservata"


async def _collect(sock: Socket, into: list[dict[str, Any]]) -> None:
    try:
        while True:
            into.append(json.loads(await sock.connection.recv()))
    except ConnectionClosed:
        return


async def _hammer(sock: Socket, ticket_id: int, stop: asyncio.Event) -> None:
    # At the socket's frame rate (10/s), so the attack is never cut off as a flood.
    while not stop.is_set():
        await sock.send({"type": "subscribe", "ticket_id": ticket_id, "after_seq": 0})
        await asyncio.sleep(0.1)
        await sock.send({"type": "unsubscribe", "ticket_id": ticket_id})
        await asyncio.sleep(0.1)


async def _write(stack: LiveStack, account: ChannelAccount, bob_token: str, ticket_id: int) -> None:
    for number in range(WRITES):
        note = {"text": f"{SECRET} {number}"}
        await api(stack, bob_token, "POST", f"/api/v1/tickets/{ticket_id}/notes", note, index=number)
        await post_inbound(stack, account, f"m-{number + 2}", f"cliente {number}", index=number + 1)


def _about(frame: dict[str, Any], ticket_id: int) -> bool:
    """Whether ``frame`` tells anything of the ticket beyond the answer to an unsubscribe."""
    if frame.get("type") == "unsubscribed" and frame.get("reason") == "asked":
        return False
    return frame.get("ticket_id") == ticket_id or SECRET in json.dumps(frame)


def test_hammering_subscribe_on_another_teams_ticket_leaks_nothing(
    live_stack: LiveStack, api_channel: ChannelAccount, carla: User, bob: User
) -> None:
    cookie, bob_token = session_cookie(carla), token(bob)
    run(post_inbound(live_stack, api_channel, "m-1", "fattura contestata"))
    ticket_id = Ticket.objects.get().pk

    async def scenario() -> list[dict[str, Any]]:
        sockets = [await open_socket(live_stack, cookie, index=n) for n in range(ATTACKERS)]
        frames: list[dict[str, Any]] = []
        readers = [asyncio.create_task(_collect(sock, frames)) for sock in sockets]
        stop = asyncio.Event()
        attacks = [asyncio.create_task(_hammer(sock, ticket_id, stop)) for sock in sockets]
        await asyncio.sleep(0.5)
        await _write(live_stack, api_channel, bob_token, ticket_id)
        stop.set()
        await asyncio.gather(*attacks)
        await asyncio.sleep(1.5)  # whatever was queued for the sockets arrives
        for sock in sockets:
            await sock.close()
        await asyncio.gather(*readers)
        return frames

    frames = asyncio.run(asyncio.wait_for(scenario(), 120))
    assert Message.objects.filter(ticket_id=ticket_id, direction=Message.Direction.NOTE).count() == WRITES
    refusals = [frame for frame in frames if frame.get("code") == "forbidden"]
    assert len(refusals) >= ATTACKERS  # every socket tried, and was refused
    leaked = [frame for frame in frames if _about(frame, ticket_id)]
    assert leaked == []


# --- events pushed straight into a group the socket is in ---------------------------------------------------


@pytest.fixture(scope="module")
def scaled(
    django_db_setup: None, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveStack]:
    stack = start_stack("scaled", redis_url=redis_url, log_dir=tmp_path_factory.mktemp("entitlement"))
    yield stack
    stack.stop()


def _event(kind: str, ticket_id: int, **fields: Any) -> dict[str, Any]:
    if kind in {"typing", "ticket.collision", "customer.typing"}:
        return events.ephemeral_event(kind, ticket_id=ticket_id, **fields)
    body = {"text": f"{SECRET} {uuid.uuid4().hex[:6]}", "direction": "note"}
    return {"type": kind, "ticket_id": ticket_id, "seq": 1000, "at": "", "actor_id": None, "data": body}


async def push(stack: LiveStack, group: str, event: dict[str, Any], *, named: list[str]) -> None:
    """Send ``event`` into ``group`` as the publisher would had it been addressed to ``named``."""
    layer = RedisPubSubChannelLayer(hosts=[stack.env["REDIS_URL"]], prefix=stack.env["CHANNEL_LAYER_PREFIX"])
    try:
        await layer.group_send(group, publisher.layer_message(event, key=uuid.uuid4().hex, groups=named))
    finally:
        await layer.flush()


def _tickets(api_channel: ChannelAccount, tech: Team, stack: LiveStack) -> tuple[Ticket, Ticket]:
    run(post_inbound(stack, api_channel, "b-1", "fattura"))
    run(
        post_inbound(stack, make_api_channel(team=tech, trust_identities=True), "t-1", "router", sender="c-2")
    )
    return Ticket.objects.get(team__name="Billing"), Ticket.objects.get(team=tech)


def test_a_ticket_event_pushed_into_the_sockets_own_groups_is_delivered_only_if_it_may_see_it(
    scaled: LiveStack, api_channel: ChannelAccount, carla: User, tech: Team
) -> None:
    cookie = session_cookie(carla)
    billing_ticket, tech_ticket = _tickets(api_channel, tech, scaled)
    foreign = events.ticket_staff_groups(billing_ticket)
    own = events.ticket_staff_groups(tech_ticket)

    async def scenario() -> list[dict[str, Any]]:
        sock = await open_socket(scaled, cookie, index=1)
        await sock.send({"type": "subscribe", "ticket_id": tech_ticket.pk})
        await sock.until(is_event("subscribed"))
        await sock.drain(0.3)
        # Through the team group, the agent's own group and the subscribed ticket's group: another
        # team's ticket, then a live-only event of a ticket the socket is not subscribed to.
        for group in (
            events.team_group(tech.pk),
            events.agent_group(carla.pk),
            events.ticket_group(tech_ticket.pk),
        ):
            await push(scaled, group, _event("message.created", billing_ticket.pk), named=foreign)
            await push(
                scaled,
                group,
                _event("typing", billing_ticket.pk, agent_id=1, state=True),
                named=[events.ticket_group(billing_ticket.pk)],
            )
        # The control: its own team's ticket, through the same group, arrives.
        await push(scaled, events.team_group(tech.pk), _event("message.created", tech_ticket.pk), named=own)
        await sock.until(is_event("message.created", tech_ticket.pk))
        await sock.drain(0.7)
        await sock.close()
        return sock.seen

    seen = run(scenario())
    assert not [frame for frame in seen if frame.get("ticket_id") == billing_ticket.pk]


def test_a_live_only_event_reaches_only_sockets_subscribed_to_its_ticket(
    scaled: LiveStack, api_channel: ChannelAccount, carla: User, tech: Team
) -> None:
    cookie = session_cookie(carla)
    _billing_ticket, tech_ticket = _tickets(api_channel, tech, scaled)
    typing = [events.ticket_group(tech_ticket.pk)]

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        sock = await open_socket(scaled, cookie)
        # Not subscribed: pushed through the team group, it is dropped.
        await push(
            scaled,
            events.team_group(tech.pk),
            _event("typing", tech_ticket.pk, agent_id=1, state=True),
            named=typing,
        )
        before = await sock.drain(0.7)
        await sock.send({"type": "subscribe", "ticket_id": tech_ticket.pk})
        await sock.until(is_event("subscribed"))
        await push(
            scaled,
            events.team_group(tech.pk),
            _event("typing", tech_ticket.pk, agent_id=2, state=True),
            named=typing,
        )
        after = await sock.until(is_event("typing", tech_ticket.pk))
        await sock.close()
        return before, after

    before, after = run(scenario())
    assert not [frame for frame in before if frame["type"] == "typing"]
    assert after["agent_id"] == 2


def test_due_times_moving_reach_the_lists_of_the_tickets_staff_only(
    scaled: LiveStack, api_channel: ChannelAccount, alice: User, carla: User, tech: Team
) -> None:
    from tickets import event_schema
    from tickets.tests.sla_support import due_in, sla_policy

    carlas, alices, carla_token = session_cookie(carla), session_cookie(alice), token(carla)
    _billing_ticket, tech_ticket = _tickets(api_channel, tech, scaled)
    due_in(tech_ticket, sla_policy(resolution_minutes=480), timedelta(minutes=30))

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        # Inbox sockets, on two processes, neither subscribed to the ticket.
        tech_inbox = await open_socket(scaled, carlas, index=0)
        billing_inbox = await open_socket(scaled, alices, index=1)
        await api(
            scaled, carla_token, "PATCH", f"/api/v1/tickets/{tech_ticket.pk}", {"status": "pending"}, index=1
        )
        changed = await tech_inbox.until(is_event("ticket.sla_changed", tech_ticket.pk))
        others = await billing_inbox.drain(0.7)
        await tech_inbox.close()
        await billing_inbox.close()
        return changed, others

    changed, others = run(scenario())
    event_schema.check_event(changed)
    assert changed["sla_paused"] is True and changed["sla_due_at"] is None
    assert not [frame for frame in others if frame.get("ticket_id") == tech_ticket.pk]


def test_an_agent_taken_out_of_a_team_stops_hearing_it(
    scaled: LiveStack, api_channel: ChannelAccount, carla: User, tech: Team
) -> None:
    cookie = session_cookie(carla)
    _billing_ticket, tech_ticket = _tickets(api_channel, tech, scaled)
    own = events.ticket_staff_groups(tech_ticket)

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        sock = await open_socket(scaled, cookie)
        await sock.send({"type": "subscribe", "ticket_id": tech_ticket.pk})
        await sock.until(is_event("subscribed"))
        await sock.drain(0.5)  # presence and collision of the socket's own arrival
        await sync(lambda: AgentProfile.objects.get(user=carla).teams.clear())
        # The socket notices within a few seconds and drops the ticket it may no longer see.
        gone = await sock.until(is_event("unsubscribed", tech_ticket.pk), timeout=15)
        # Through the team's group, which it has left, and through its own group, which it has not.
        for group in (events.team_group(tech.pk), events.agent_group(carla.pk)):
            await push(scaled, group, _event("message.created", tech_ticket.pk), named=own)
        await push(
            scaled,
            events.agent_group(carla.pk),
            events.ephemeral_event("presence.changed", agent_id=1, presence="online", manual=""),
            named=events.agent_audience_groups(team_ids=[tech.pk]),
        )
        after = await sock.drain(1.0)
        await sock.close()
        return gone, after

    gone, after = run(scenario())
    assert gone["reason"] == "forbidden"
    assert after == []


async def sync(work: Any) -> Any:
    """Run database work from the test's event loop, on a connection closed afterwards."""

    def once() -> Any:
        try:
            return work()
        finally:
            connection.close()

    return await sync_to_async(once, thread_sensitive=False)()


# --- the visitor's socket ------------------------------------------------------------------------------


async def _visitor(stack: LiveStack, account: ChannelAccount, text: str) -> tuple[ClientConnection, str]:
    """A visitor with a session, an authenticated socket and one message filed; returns its socket and id."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(f"{stack.http()}/widget/{account.key}/session", json={"origin": SHOP})
    session = response.json()
    sock = await connect(
        f"ws://127.0.0.1:{stack.ports[0]}/ws/widget/{account.key}/", origin=stack.http(), open_timeout=10
    )  # type: ignore[arg-type]
    await sock.send(json.dumps({"type": "auth", "token": session["token"]}))
    await frame_of(sock, "hello")
    await sock.send(json.dumps({"type": "message", "client_id": uuid.uuid4().hex, "text": text}))
    await frame_of(sock, "message")
    return sock, session["visitor_id"]


def test_a_visitor_socket_gets_only_its_own_messages_whatever_is_pushed_into_its_group(
    scaled: LiveStack, billing: Team, bob: User
) -> None:
    account = make_webchat_channel(team=billing)
    bob_token = token(bob)

    async def scenario() -> list[dict[str, Any]]:
        maria, maria_id = await _visitor(scaled, account, "sono Maria")
        luca, _luca_id = await _visitor(scaled, account, "sono Luca")
        ticket_id = await sync(lambda: Message.objects.get(text="sono Maria").ticket_id)
        await api(
            scaled, bob_token, "POST", f"/api/v1/tickets/{ticket_id}/notes", {"text": f"{SECRET} Maria"}
        )
        note, own, other = await sync(
            lambda: [
                Message.objects.get(text=text) for text in (f"{SECRET} Maria", "sono Maria", "sono Luca")
            ]
        )
        group, ticket = events.visitor_group(maria_id), await sync(lambda: Ticket.objects.get(pk=ticket_id))
        staff = events.ticket_staff_groups(ticket)
        for message_id, named in [(note.pk, staff), (note.pk, [group]), (other.pk, [group]), (own.pk, staff)]:
            event = {"type": "message.created", "ticket_id": ticket_id, "seq": 99, "data": {"id": message_id}}
            await push(scaled, group, event, named=named)
        # The control: its own message, addressed to it, comes through (again).
        control = {"type": "message.created", "ticket_id": ticket_id, "seq": 99, "data": {"id": own.pk}}
        await push(scaled, group, control, named=[group])
        frames = []
        while (frame := json.loads(await asyncio.wait_for(maria.recv(), 10)))["type"] != "message":
            frames.append(frame)
        frames.append(frame)
        with contextlib.suppress(TimeoutError):
            while True:
                frames.append(json.loads(await asyncio.wait_for(maria.recv(), 1.0)))
        await maria.close()
        await luca.close()
        return frames

    frames = run(scenario())
    assert [frame["message"]["text"] for frame in frames if frame["type"] == "message"] == ["sono Maria"]
    assert SECRET not in json.dumps(frames) and "sono Luca" not in json.dumps(frames)
