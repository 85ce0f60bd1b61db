"""The customer's typing in the web chat reaches the agents who have the ticket open, in both modes.

In the scaled mode the visitor's socket and the agents' sockets sit on different web processes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from websockets.asyncio.client import connect

from channels_in.models import ChannelAccount
from channels_in.webchat.tests.conftest import SHOP, make_webchat_channel
from channels_in.webchat.tokens import Visitor, visitor_token_issue
from tests.live.conftest import LiveStack, Socket, run, session_cookie
from tests.live.conftest import open_socket as open_agent_socket
from tickets import event_schema
from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
from tickets.models import AgentProfile, Team
from tickets.services.ingest import ingest_inbound_message

pytestmark = pytest.mark.django_db(transaction=True)


def agent_in(team: Team, username: str) -> User:
    user = User.objects.create_user(username, password="x")
    AgentProfile.objects.create(user=user).teams.add(team)
    return user


def chat_ticket(account: ChannelAccount, visitor_id: str) -> int:
    filed = ingest_inbound_message(
        inbound=InboundMessage(
            channel_account_id=account.pk,
            external_id=f"{visitor_id}-first",
            sender=IdentityClaim(IdentityKind.WEBCHAT, visitor_id),
            text="Buongiorno",
        )
    )
    return int(filed.ticket.pk)


async def open_visitor(stack: LiveStack, account: ChannelAccount, token: str, *, index: int) -> Socket:
    connection = await connect(
        f"ws://127.0.0.1:{stack.ports[index % len(stack.ports)]}/ws/widget/{account.key}/",
        # The handshake's origin is the help desk's own page; the token names the site it serves.
        origin=stack.http(index),  # type: ignore[arg-type]
        open_timeout=10,
    )
    sock = Socket(connection)
    await sock.send({"type": "auth", "token": token})
    await sock.until(lambda frame: frame["type"] == "hello")
    return sock


def typing_frames(frames: list[dict[str, Any]]) -> list[bool]:
    return [frame["state"] for frame in frames if frame["type"] == "customer.typing"]


def test_the_customer_typing_reaches_the_agent_viewing_the_ticket_throttled(live_stack: LiveStack) -> None:
    chat, other = Team.objects.create(name="Chat"), Team.objects.create(name="Other")
    account = make_webchat_channel(team=chat)
    anna, bruno = session_cookie(agent_in(chat, "anna")), session_cookie(agent_in(other, "bruno"))
    teammate = session_cookie(agent_in(chat, "carla"))
    ticket_id = chat_ticket(account, "v-typing-1")
    token = visitor_token_issue(account, Visitor(visitor_id="v-typing-1", account_id=account.pk, origin=SHOP))

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        viewer = await open_agent_socket(live_stack, anna, index=0)
        await viewer.send({"type": "subscribe", "ticket_id": ticket_id})
        await viewer.until(lambda frame: frame["type"] == "subscribed")
        stranger = await open_agent_socket(live_stack, bruno, index=0)
        inbox_only = await open_agent_socket(live_stack, teammate, index=0)
        visitor = await open_visitor(live_stack, account, token, index=1)

        await visitor.send({"type": "typing", "state": True})
        on = await viewer.until(lambda frame: frame["type"] == "customer.typing")
        # Said again at once: the server passes it on at most every couple of seconds.
        for _ in range(5):
            await visitor.send({"type": "typing", "state": True})
        assert typing_frames(await viewer.drain(0.8)) == []
        await visitor.send({"type": "typing", "state": False})
        off = await viewer.until(lambda frame: frame["type"] == "customer.typing")
        # Nothing changed: "stopped" is not repeated either.
        await visitor.send({"type": "typing", "state": False})
        await visitor.send({"type": "typing", "state": "yes"})
        error = await visitor.until(lambda frame: frame["type"] == "error")
        assert error["code"] == "bad_field"
        others = await stranger.drain(0.5) + await inbox_only.drain(0.1)
        viewer_rest = await viewer.drain(0.1)
        for sock in (viewer, stranger, inbox_only, visitor):
            await sock.close()
        return [on, off], others, viewer_rest

    seen, others, rest = run(scenario())
    assert [frame["state"] for frame in seen] == [True, False]
    for frame in seen:
        event_schema.check_event(frame)
        assert frame["ticket_id"] == ticket_id
    assert typing_frames(rest) == []
    # Another team's agent and a teammate without the ticket open hear nothing of it.
    assert typing_frames(others) == []


def test_typing_before_any_message_or_before_auth_goes_nowhere(live_stack: LiveStack) -> None:
    chat = Team.objects.create(name="Chat")
    account = make_webchat_channel(team=chat)
    anna = session_cookie(agent_in(chat, "anna"))
    token = visitor_token_issue(account, Visitor(visitor_id="v-typing-2", account_id=account.pk, origin=SHOP))

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        agent = await open_agent_socket(live_stack, anna, index=0)
        early = await connect(
            f"ws://127.0.0.1:{live_stack.ports[0]}/ws/widget/{account.key}/",
            origin=live_stack.http(0),  # type: ignore[arg-type]
            open_timeout=10,
        )
        await early.send(json.dumps({"type": "typing", "state": True}))
        refused = json.loads(await asyncio.wait_for(early.recv(), 10))
        await early.close()
        visitor = await open_visitor(live_stack, account, token, index=1)
        await visitor.send({"type": "typing", "state": True})
        await visitor.send({"type": "ping"})
        after = [await visitor.until(lambda frame: frame["type"] == "pong")]
        heard = await agent.drain(1.0)
        await agent.close()
        await visitor.close()
        return refused, heard, after

    refused, heard, after = run(scenario())
    assert refused["type"] == "error" and refused["code"] == "unauthenticated"
    # No ticket yet: nobody to tell, and no error for the widget either.
    assert typing_frames(heard) == []
    assert after[0]["type"] == "pong"
