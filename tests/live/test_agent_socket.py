"""The agent websocket against real servers, in both modes.

In the scaled mode the agents of one story sit on different web processes, so every delivery below
also crosses processes through Redis. Changes are made through HTTP, as a browser or integrator would.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from websockets.exceptions import ConnectionClosed, InvalidStatus

from channels_in.models import ChannelAccount
from tests.live.conftest import LiveStack, Socket, open_socket, run, session_cookie
from tickets.models import AgentProfile, Team, Ticket, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)


async def post_inbound(
    stack: LiveStack, account: ChannelAccount, message_id: str, text: str, **kw: Any
) -> None:
    body = {
        "message_id": message_id,
        "sender": {"id": kw.get("sender", "cust-1"), "name": "Maria"},
        "text": text,
    }
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{stack.http(kw.get('index', 0))}/api/v1/inbound/{account.key}/messages",
            content=json.dumps(body),
            headers={
                "Authorization": f"Bearer {account.config['token']}",
                "Content-Type": "application/json",
            },
        )
    assert response.status_code == 202, response.text


async def api(stack: LiveStack, token: str, method: str, path: str, body: Any = None, index: int = 0) -> Any:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.request(
            method, f"{stack.http(index)}{path}", json=body, headers={"Authorization": f"Token {token}"}
        )
    assert response.status_code < 300, response.text
    return response.json()


def token(user: User) -> str:
    return Token.objects.create(user=user).key


def is_event(kind: str, ticket_id: int | None = None) -> Any:
    return lambda frame: frame["type"] == kind and (ticket_id is None or frame.get("ticket_id") == ticket_id)


def ticket_events(frames: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(frame["type"], frame["seq"]) for frame in frames if "seq" in frame and "data" in frame]


def test_sockets_without_a_session_or_agent_are_closed_with_distinct_codes(live_stack: LiveStack) -> None:
    stranger = session_cookie(User.objects.create_user("mario", password="x"))

    async def scenario() -> tuple[int | None, int | None]:
        anonymous = await open_socket(live_stack, None, hello=False)
        with pytest.raises(ConnectionClosed):
            await anonymous.connection.recv()
        not_agent = await open_socket(live_stack, stranger, hello=False)
        with pytest.raises(ConnectionClosed):
            await not_agent.connection.recv()
        with pytest.raises(InvalidStatus) as refused:
            await open_socket(live_stack, stranger, origin="https://evil.example", hello=False)
        assert refused.value.response.status_code == 403
        return anonymous.connection.close_code, not_agent.connection.close_code

    assert run(scenario()) == (4401, 4403)


def test_inbound_message_reaches_its_team_and_supervisors_once_and_no_other_team(
    live_stack: LiveStack, api_channel: ChannelAccount, alice: User, carla: User, sam: User
) -> None:
    cookies = [session_cookie(user) for user in (alice, carla, sam)]

    async def scenario() -> list[Socket]:
        sockets = [
            await open_socket(live_stack, cookie, index=1 if n else 0) for n, cookie in enumerate(cookies)
        ]
        await post_inbound(live_stack, api_channel, "m-1", "Doppio addebito sulla carta", index=1)
        await sockets[0].until(is_event("message.created"))
        await sockets[2].until(is_event("message.created"))
        for sock in sockets:
            await sock.drain(0.7)
            await sock.close()
        return sockets

    alice_socket, carla_socket, sam_socket = run(scenario())
    expected = [("ticket.created", 1), ("message.created", 2)]
    assert ticket_events(alice_socket.seen) == expected
    # Sam is in ``supervisors``, Billing and Tech: the events reach him through three groups, once.
    assert ticket_events(sam_socket.seen) == expected
    assert ticket_events(carla_socket.seen) == []
    assert {frame["type"] for frame in carla_socket.seen} <= {"hello", "presence.changed"}


def test_each_event_exactly_once_in_order_with_catch_up_after_reconnect(
    live_stack: LiveStack, api_channel: ChannelAccount, alice: User, sam: User
) -> None:
    alice_cookie, sam_cookie, alice_token = session_cookie(alice), session_cookie(sam), token(alice)

    async def first_visit() -> Socket:
        sock = await open_socket(live_stack, sam_cookie, index=1)
        for number in range(1, 4):
            await post_inbound(live_stack, api_channel, f"m-{number}", f"messaggio {number}", index=number)
        await sock.until(lambda frame: frame.get("seq") == 4)
        await sock.drain(0.7)
        await sock.close()
        return sock

    sam_socket = run(first_visit())
    ticket = Ticket.objects.get()
    assert ticket_events(sam_socket.seen) == [
        ("ticket.created", 1),
        ("message.created", 2),
        ("message.created", 3),
        ("message.created", 4),
    ]

    async def second_visit() -> tuple[Socket, dict[str, Any], Any]:
        # Alice was asleep after seq 2: subscribing with after_seq replays 3 and 4, then live ones follow.
        sock = await open_socket(live_stack, alice_cookie, index=0)
        await sock.send({"type": "subscribe", "ticket_id": ticket.pk, "after_seq": 2})
        subscribed = await sock.until(is_event("subscribed"))
        await post_inbound(live_stack, api_channel, "m-4", "ancora io", index=1)
        await sock.until(lambda frame: frame.get("seq") == 5)
        await sock.drain(0.7)
        await sock.close()
        page = await api(live_stack, alice_token, "GET", f"/api/v1/tickets/{ticket.pk}/events?after_seq=3")
        return sock, subscribed, page

    alice_socket, subscribed, page = run(second_visit())
    assert subscribed["seq"] == 4
    assert [seq for _, seq in ticket_events(alice_socket.seen)] == [3, 4, 5]
    assert [event["seq"] for event in page["events"]] == [4, 5]
    assert page["seq"] == 5 and page["has_more"] is False


def test_a_subscription_replays_what_was_asked_then_each_live_event_once(
    live_stack: LiveStack, api_channel: ChannelAccount, alice: User
) -> None:
    cookie = session_cookie(alice)

    async def scenario() -> Socket:
        sock = await open_socket(live_stack, cookie, index=1)
        await post_inbound(live_stack, api_channel, "m-1", "primo", index=0)
        created = await sock.until(is_event("message.created"))
        await sock.send({"type": "subscribe", "ticket_id": created["ticket_id"], "after_seq": 0})
        await sock.until(is_event("subscribed"))
        await post_inbound(live_stack, api_channel, "m-2", "secondo", index=0)
        await sock.until(lambda frame: frame.get("seq") == 3 and "data" in frame)
        await sock.drain(0.7)
        await sock.close()
        return sock

    sock = run(scenario())
    # 1 and 2 came through the team group, then again because after_seq=0 asked for them; 3 came
    # through both the team and the ticket group, and is delivered once.
    assert ticket_events(sock.seen) == [
        ("ticket.created", 1),
        ("message.created", 2),
        ("ticket.created", 1),
        ("message.created", 2),
        ("message.created", 3),
    ]


def test_a_forbidden_subscription_is_refused_and_the_socket_lives_on(
    live_stack: LiveStack, api_channel: ChannelAccount, carla: User
) -> None:
    cookie = session_cookie(carla)
    run(post_inbound(live_stack, api_channel, "m-1", "riservato a Billing"))
    ticket_id = Ticket.objects.get().pk

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], Socket]:
        sock = await open_socket(live_stack, cookie, index=1)
        await sock.send({"type": "subscribe", "ticket_id": ticket_id, "after_seq": 0, "ref": "s1"})
        refused = await sock.until(is_event("error"))
        await sock.send({"type": "subscribe", "ticket_id": 999999})
        missing = await sock.until(is_event("error"))
        await post_inbound(live_stack, api_channel, "m-2", "ancora riservato")
        await sock.drain(0.7)
        await sock.send({"type": "ping"})
        await sock.until(is_event("pong"))
        await sock.close()
        return refused, missing, sock

    refused, missing, sock = run(scenario())
    assert refused["code"] == "forbidden" and refused["ref"] == "s1"
    # A missing ticket and a forbidden one look the same, so ids cannot be probed.
    assert missing["code"] == "forbidden"
    assert not [frame for frame in sock.seen if "seq" in frame or frame.get("ticket_id") == ticket_id]


def test_moving_a_ticket_to_another_team_cuts_the_old_team_off(
    live_stack: LiveStack, api_channel: ChannelAccount, alice: User, carla: User, sam: User, tech: Team
) -> None:
    cookies, sam_token = (session_cookie(alice), session_cookie(carla)), token(sam)
    run(post_inbound(live_stack, api_channel, "m-1", "problema tecnico"))
    ticket_id = Ticket.objects.get().pk

    async def scenario() -> Socket:
        alice_socket = await open_socket(live_stack, cookies[0], index=0)
        carla_socket = await open_socket(live_stack, cookies[1], index=1)
        await alice_socket.send({"type": "subscribe", "ticket_id": ticket_id})
        await alice_socket.until(is_event("subscribed"))
        await api(live_stack, sam_token, "PATCH", f"/api/v1/tickets/{ticket_id}", {"team": tech.pk}, index=1)
        await alice_socket.until(is_event("ticket.team_changed", ticket_id))
        await alice_socket.until(is_event("unsubscribed", ticket_id))
        await carla_socket.until(is_event("ticket.team_changed", ticket_id))
        await api(live_stack, sam_token, "PATCH", f"/api/v1/tickets/{ticket_id}", {"priority": 4}, index=0)
        await carla_socket.until(is_event("ticket.priority_changed", ticket_id))
        await alice_socket.drain(0.7)
        await alice_socket.close()
        await carla_socket.close()
        return alice_socket

    alice_socket = run(scenario())
    assert [kind for kind, _ in ticket_events(alice_socket.seen)] == ["ticket.team_changed"]


def test_internal_note_reaches_agents_viewing_the_ticket(
    live_stack: LiveStack, api_channel: ChannelAccount, alice: User, bob: User
) -> None:
    alice_cookie, bob_token = session_cookie(alice), token(bob)
    run(post_inbound(live_stack, api_channel, "m-1", "vorrei un rimborso"))
    ticket_id = Ticket.objects.get().pk

    async def scenario() -> dict[str, Any]:
        sock = await open_socket(live_stack, alice_cookie, index=1)
        await sock.send({"type": "subscribe", "ticket_id": ticket_id})
        await sock.until(is_event("subscribed"))
        await api(live_stack, bob_token, "POST", f"/api/v1/tickets/{ticket_id}/notes", {"text": "già fatto"})
        note = await sock.until(lambda f: f["type"] == "message.created" and f["data"]["direction"] == "note")
        await sock.close()
        return note

    note = run(scenario())
    assert note["data"]["text"] == "già fatto" and note["actor_id"] == bob.pk
    assert note["seq"] == TicketEvent.objects.get(type="message.created", payload__direction="note").seq


def test_presence_across_two_tabs_on_two_processes(live_stack: LiveStack, alice: User, sam: User) -> None:
    alice_cookie, sam_cookie = session_cookie(alice), session_cookie(sam)

    async def scenario() -> list[str]:
        supervisor = await open_socket(live_stack, sam_cookie, index=0)
        tab_one = await open_socket(live_stack, alice_cookie, index=0)
        tab_two = await open_socket(live_stack, alice_cookie, index=1)
        await supervisor.until(lambda f: f["type"] == "presence.changed" and f["agent_id"] == alice.pk)
        await tab_one.close()
        seen = await supervisor.drain(0.7)
        await tab_two.send({"type": "presence", "status": "away"})
        away = await supervisor.until(lambda f: f["type"] == "presence.changed" and f["agent_id"] == alice.pk)
        await tab_two.close()
        gone = await supervisor.until(
            lambda f: f["type"] == "presence.changed" and f["agent_id"] == alice.pk, timeout=10
        )
        await supervisor.close()
        return [f["presence"] for f in seen if f.get("agent_id") == alice.pk] + [
            away["presence"],
            gone["presence"],
        ]

    # Closing one of two tabs changes nothing; the manual "away" and the last tab closing do.
    assert run(scenario()) == ["away", "offline"]
    assert AgentProfile.objects.get(user=alice).presence == "offline"


def test_collision_and_typing_between_two_agents(
    live_stack: LiveStack, api_channel: ChannelAccount, alice: User, bob: User, carla: User
) -> None:
    cookies = session_cookie(alice), session_cookie(bob), session_cookie(carla)
    run(post_inbound(live_stack, api_channel, "m-1", "chi mi risponde?"))
    ticket_id = Ticket.objects.get().pk

    async def scenario() -> list[dict[str, Any]]:
        alice_socket = await open_socket(live_stack, cookies[0], index=0)
        bob_socket = await open_socket(live_stack, cookies[1], index=1)
        carla_socket = await open_socket(live_stack, cookies[2], index=1)
        seen = []
        for sock in (alice_socket, bob_socket):
            await sock.send({"type": "subscribe", "ticket_id": ticket_id})
            await sock.until(is_event("subscribed"))
        seen.append(
            await bob_socket.until(lambda f: f["type"] == "ticket.collision" and len(f["viewing"]) == 2)
        )
        await alice_socket.send({"type": "replying", "ticket_id": ticket_id, "state": True})
        seen.append(await bob_socket.until(lambda f: f["type"] == "ticket.collision" and f["replying"]))
        await alice_socket.send({"type": "typing", "ticket_id": ticket_id, "state": True})
        seen.append(await bob_socket.until(is_event("typing", ticket_id)))
        await alice_socket.close()
        seen.append(
            await bob_socket.until(lambda f: f["type"] == "ticket.collision" and len(f["viewing"]) == 1)
        )
        seen.append({"carla": await carla_socket.drain(0.5)})
        await bob_socket.close()
        await carla_socket.close()
        return seen

    both, replying, typing, after_leave, carla = run(scenario())
    assert both["viewing"] == sorted([alice.pk, bob.pk])
    assert replying["replying"] == [alice.pk]
    assert typing["agent_id"] == alice.pk and typing["state"] is True
    assert after_leave["viewing"] == [bob.pk] and after_leave["replying"] == []
    assert not [f for f in carla["carla"] if f["type"] in {"typing", "ticket.collision"}]


def test_bad_frames_get_errors_and_a_flood_is_cut_off(live_stack: LiveStack, alice: User) -> None:
    cookie = session_cookie(alice)

    async def scenario() -> tuple[list[str], int | None]:
        sock = await open_socket(live_stack, cookie)
        codes = []
        for bad in ["{not json", "[1, 2]", json.dumps({"type": "launch"}), "x" * 10_000,
                    json.dumps({"type": "subscribe", "ticket_id": "1; DROP"}),
                    json.dumps({"type": "typing", "ticket_id": 1, "state": True}),
                    '{"type": "ping", "x": ' + "[" * 1500 + "]" * 1500 + "}"]:  # fmt: skip
            await sock.send(bad)
            codes.append((await sock.until(is_event("error")))["code"])
        await sock.connection.send(b"\x00\x01")
        codes.append((await sock.until(is_event("error")))["code"])
        await sock.send({"type": "ping"})
        await sock.until(is_event("pong"))
        try:
            for _ in range(400):
                await sock.send({"type": "ping"})
            await sock.drain(3)
        except ConnectionClosed:
            pass
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(sock.connection.recv(), 5)
        return codes, sock.connection.close_code

    codes, close_code = run(scenario())
    assert codes == [
        "bad_frame",
        "bad_frame",
        "unknown_type",
        "frame_too_large",
        "bad_field",
        "not_subscribed",
        "bad_frame",
        "bad_frame",
    ]
    assert close_code == 4429
