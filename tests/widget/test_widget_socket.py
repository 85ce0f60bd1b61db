"""The visitor socket against a real server: bad tokens, other origins, floods, exactly-once, isolation."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from channels_in.models import ChannelAccount, InboundEvent
from channels_in.webchat.tests.conftest import make_webchat_channel
from tests.widget.conftest import HelpDesk, wait_for
from tickets.models import Message, Team

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

SITE = "https://shop.example.com"


@pytest.fixture
def channel(db: None) -> ChannelAccount:
    return make_webchat_channel(team=Team.objects.create(name="Chat"), allowed_origins=[SITE])


def session(server: HelpDesk, account: ChannelAccount, **body: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/widget/{account.key}/session", json={"origin": SITE, **body}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


async def open_widget(
    server: HelpDesk, account: ChannelAccount, *, origin: str | None = None
) -> ClientConnection:
    return await connect(
        f"ws://127.0.0.1:{server.port}/ws/widget/{account.key}/",
        origin=origin or server.url,  # type: ignore[arg-type]
        open_timeout=10,
    )


async def frame_of(sock: ClientConnection, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    async def first() -> dict[str, Any]:
        while True:
            frame = json.loads(await sock.recv())
            if frame["type"] == kind:
                return frame

    return await asyncio.wait_for(first(), timeout)


async def authed(
    server: HelpDesk, account: ChannelAccount, token: str
) -> tuple[ClientConnection, dict[str, Any]]:
    sock = await open_widget(server, account)
    await sock.send(json.dumps({"type": "auth", "token": token}))
    return sock, await frame_of(sock, "hello")


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def test_a_tampered_token_gets_a_reason_and_a_4401_close(running: HelpDesk, channel: ChannelAccount) -> None:
    token = session(running, channel)["token"]

    async def story() -> tuple[dict[str, Any], int | None]:
        sock = await open_widget(running, channel)
        await sock.send(json.dumps({"type": "auth", "token": token[:-4] + "AAAA"}))
        error = await frame_of(sock, "error")
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(sock.recv(), 10)
        return error, sock.close_code

    error, code = run(story())
    assert error["code"] == "token_invalid"
    assert code == 4401


def test_nothing_is_heard_before_auth(running: HelpDesk, channel: ChannelAccount) -> None:
    async def story() -> dict[str, Any]:
        sock = await open_widget(running, channel)
        await sock.send(json.dumps({"type": "message", "client_id": "early-00001", "text": "hi"}))
        return await frame_of(sock, "error")

    assert run(story())["code"] == "unauthenticated"
    assert not InboundEvent.objects.exists()


def test_a_socket_from_another_origin_is_refused_at_the_handshake(
    running: HelpDesk, channel: ChannelAccount
) -> None:
    async def story() -> None:
        await open_widget(running, channel, origin="https://evil.example")

    with pytest.raises(InvalidStatus):
        run(story())


def test_a_site_removed_from_the_channel_loses_its_socket(running: HelpDesk, channel: ChannelAccount) -> None:
    token = session(running, channel)["token"]
    channel.config = {**channel.config, "allowed_origins": ["https://other.example"]}
    channel.save(update_fields=["config"])

    async def story() -> tuple[dict[str, Any], int | None]:
        sock = await open_widget(running, channel)
        await sock.send(json.dumps({"type": "auth", "token": token}))
        error = await frame_of(sock, "error")
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(sock.recv(), 10)
        return error, sock.close_code

    error, code = run(story())
    assert (error["code"], code) == ("origin_not_allowed", 4403)


def test_a_resent_message_is_acknowledged_twice_and_filed_once(
    running: HelpDesk, channel: ChannelAccount
) -> None:
    token = session(running, channel)["token"]

    async def story() -> list[dict[str, Any]]:
        sock, _hello = await authed(running, channel, token)
        frame = {"type": "message", "client_id": "resend-00001", "text": "only once please"}
        await sock.send(json.dumps(frame))
        first = await frame_of(sock, "ack")
        # The socket drops before the widget saw anything more; it reconnects and sends again.
        await sock.close()
        sock, _hello = await authed(running, channel, token)
        await sock.send(json.dumps(frame))
        second = await frame_of(sock, "ack")
        await sock.close()
        return [first, second]

    first, second = run(story())
    assert (first["status"], second["status"]) == ("accepted", "duplicate")
    wait_for(lambda: Message.objects.filter(text="only once please").exists(), what="the message filed")

    async def history() -> list[dict[str, Any]]:
        sock, hello = await authed(running, channel, token)
        await sock.close()
        return hello["messages"]

    assert [message["client_id"] for message in run(history())] == ["resend-00001"]
    assert Message.objects.filter(text="only once please").count() == 1
    assert InboundEvent.objects.count() == 1


def test_a_flood_is_rate_limited_with_a_reason_per_message(
    running: HelpDesk, channel: ChannelAccount
) -> None:
    token = session(running, channel)["token"]

    async def story() -> list[dict[str, Any]]:
        sock, _hello = await authed(running, channel, token)
        for number in range(25):
            await sock.send(
                json.dumps({"type": "message", "client_id": f"flood-{number:05d}", "text": "spam"})
            )
        answers: list[dict[str, Any]] = []
        while len(answers) < 25:
            frame = json.loads(await asyncio.wait_for(sock.recv(), 15))
            if frame["type"] in {"ack", "error"}:
                answers.append(frame)
        await sock.close()
        return answers

    answers = run(story())
    refused = [frame for frame in answers if frame["type"] == "error"]
    assert refused and all(frame["code"] == "rate_limited" and frame["client_id"] for frame in refused)
    accepted = [frame for frame in answers if frame["type"] == "ack"]
    assert 5 <= len(accepted) <= 12
    wait_for(lambda: Message.objects.count() == len(accepted), what="the accepted messages filed")


def test_two_visitors_never_hear_each_other(running: HelpDesk, channel: ChannelAccount) -> None:
    maria, luigi = session(running, channel)["token"], session(running, channel)["token"]

    async def story() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        maria_sock, _ = await authed(running, channel, maria)
        luigi_sock, _ = await authed(running, channel, luigi)
        await maria_sock.send(
            json.dumps({"type": "message", "client_id": "maria-00001", "text": "Maria's secret"})
        )
        await frame_of(maria_sock, "message")
        await luigi_sock.send(
            json.dumps({"type": "message", "client_id": "luigi-00001", "text": "Luigi here"})
        )
        await frame_of(luigi_sock, "message")
        heard_by_luigi: list[dict[str, Any]] = []
        try:
            while True:
                heard_by_luigi.append(json.loads(await asyncio.wait_for(luigi_sock.recv(), 2)))
        except TimeoutError:
            pass
        luigi_again, hello = await authed(running, channel, luigi)
        await maria_sock.close()
        await luigi_sock.close()
        await luigi_again.close()
        return heard_by_luigi, hello["messages"]

    heard, history = run(story())
    assert "Maria's secret" not in json.dumps(heard)
    assert [message["text"] for message in history] == ["Luigi here"]


def test_a_sync_asking_for_files_renews_their_short_lived_links(
    running: HelpDesk, channel: ChannelAccount
) -> None:
    token = session(running, channel)["token"]
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    sent = httpx.post(
        f"{running.url}/widget/{channel.key}/messages",
        data={"client_id": "upload-0001", "text": "foto"},
        files={"file": ("foto.png", png, "image/png")},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert sent.status_code == 202, sent.text

    async def story() -> tuple[list[Any], list[Any], list[Any]]:
        sock, hello = await authed(running, channel, token)
        while not hello["messages"]:  # filed by the server's worker, shortly after the 202
            await asyncio.sleep(0.2)
            await sock.send(json.dumps({"type": "sync", "marks": {}}))
            hello = await frame_of(sock, "synced")
        marks = hello["marks"]
        await sock.send(json.dumps({"type": "sync", "marks": marks}))
        plain = await frame_of(sock, "synced")
        await sock.send(json.dumps({"type": "sync", "marks": marks, "files": True}))
        renewed = await frame_of(sock, "synced")
        return hello["messages"], plain["messages"], renewed["messages"]

    _first, plain, renewed = run(story())
    assert plain == []
    assert [m["attachments"][0]["name"] for m in renewed] == ["foto.png"]
    link = renewed[0]["attachments"][0]["url"]
    assert link.startswith(f"/widget/{channel.key}/files/")
    assert httpx.get(f"{running.url}{link}", timeout=10).content == png
