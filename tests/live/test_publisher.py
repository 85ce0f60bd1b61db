"""The scaled publisher on real Redis: a batch arrives whole and in order, and a dead Redis raises nothing."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from realtime import publisher
from tests.fixtures.http_peer import free_port


def pubsub_layer(settings: Any, url: str) -> None:
    settings.EMBEDDED = False
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": f"test-publisher-{uuid.uuid4().hex[:8]}"},
        }
    }


def event(ticket_id: int, seq: int) -> dict[str, Any]:
    return {"type": "message.created", "ticket_id": ticket_id, "seq": seq, "at": "", "data": {"n": seq}}


def test_a_batch_reaches_each_group_once_per_event_in_order(settings: Any, redis_url: str) -> None:
    pubsub_layer(settings, redis_url)
    batch = [(["team.1", "supervisors"], event(7, seq), f"7:{seq}") for seq in range(1, 151)]
    batch.append((["team.2"], event(8, 1), "8:1"))
    batch.append(([], event(9, 1), "9:1"))  # no audience: nothing sent

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        layer = get_channel_layer()
        assert layer is not None
        inbox, other = await layer.new_channel(), await layer.new_channel()
        for group in ("team.1", "supervisors"):
            await layer.group_add(group, inbox)
        await layer.group_add("team.2", other)
        await sync_to_async(publisher.publish_many)(batch)
        assert await sync_to_async(publisher.flush)(10)
        got = [await asyncio.wait_for(layer.receive(inbox), 10) for _ in range(300)]
        elsewhere = [await asyncio.wait_for(layer.receive(other), 10)]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(other), 0.5)
        await layer.flush()
        return got, elsewhere

    got, elsewhere = asyncio.run(scenario())
    # Each event once per group, in publishing order; the JSON text is the event itself.
    assert [message["key"] for message in got] == [f"7:{seq}" for seq in range(1, 151) for _ in range(2)]
    assert [json.loads(message["text"])["seq"] for message in got[::2]] == list(range(1, 151))
    assert [message["key"] for message in elsewhere] == ["8:1"]
    # Each message names every group its event was addressed to, for the sockets' entitlement check.
    assert got[0]["to"] == ["team.1", "supervisors"] and elsewhere[0]["to"] == ["team.2"]


def test_an_unreachable_redis_is_logged_and_never_raised(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    pubsub_layer(settings, f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.ERROR, logger="realtime.publisher"):
        publisher.publish(["team.1"], event(1, 1), key="1:1")
        assert publisher.flush(15)
    assert any("live publish" in record.getMessage() for record in caplog.records)


def test_an_embedded_publish_from_another_loop_before_any_socket_is_quietly_dropped(
    settings: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sync code run under some other event loop (a test driver's, a notebook's) before any socket bound
    # the server's loop: nobody in this process can be listening yet, so there is nothing to deliver.
    settings.EMBEDDED = True
    monkeypatch.setattr(publisher, "_server_loop", None)

    async def publish_under_a_loop() -> None:
        publisher.publish(["team.1"], event(1, 1), key="1:1")

    with caplog.at_level(logging.ERROR, logger="realtime.publisher"):
        asyncio.run(publish_under_a_loop())
    assert [record.getMessage() for record in caplog.records] == []
