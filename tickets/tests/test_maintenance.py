from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.utils import timezone

from channels_in.models import ChannelAccount
from tests.fixtures.http_peer import HttpPeer, Reply
from tests.fixtures.personas import make_api_channel
from tickets import tasks
from tickets.models import Message
from tickets.services.maintenance import stale_messages_requeue
from tickets.tests.test_messages import customer_writes

STALE = 2


@pytest.fixture(autouse=True)
def _stale_after_two_seconds(settings) -> None:  # type: ignore[no-untyped-def]
    settings.STALE_WORK_SECONDS = STALE


def sweeps() -> dict[str, int]:
    """Both stale-work sweeps, in the order beat lists them: what each re-queued."""
    from channels_in.maintenance import stale_events_requeue

    return {"events": stale_events_requeue(), "messages": stale_messages_requeue()}


def ago(seconds: float) -> datetime:
    return timezone.now() - timedelta(seconds=seconds)


@pytest.fixture
def channel(http_peer: HttpPeer, billing) -> ChannelAccount:  # type: ignore[no-untyped-def]
    http_peer.script("/cb", then=Reply(200, b'{"id": "delivered"}'))
    return make_api_channel(team=billing, trust_identities=True, callback_url=http_peer.url("/cb"))


def reply(channel: ChannelAccount, author: User, number: int, **state: object) -> Message:
    from tickets.services.messages import message_send_reply

    ticket = customer_writes(channel, f"in-{number}", sender=f"cust-{number}", email=f"c{number}@example.com")
    message = message_send_reply(ticket=ticket, author=author, text=f"reply {number}")
    Message.objects.filter(pk=message.pk).update(**state)
    message.refresh_from_db()
    return message


@pytest.mark.django_db
def test_stuck_and_lost_replies_are_sent_the_others_left_alone(
    channel: ChannelAccount, alice: User, http_peer: HttpPeer
) -> None:
    # A worker died in the middle of the call: the message was left "sending".
    stuck = reply(channel, alice, 1, status="sending", attempts=1, status_changed_at=ago(STALE + 3))
    # The broker lost the task (or the worker holding its retry died).
    lost = reply(channel, alice, 2, status="queued", attempts=0, status_changed_at=ago(STALE + 1))
    fresh = reply(channel, alice, 3, status="queued", attempts=0)
    # Its own retry is due in 8 s: the sweep waits for it.
    backing_off = reply(channel, alice, 4, status="queued", attempts=3, status_changed_at=ago(STALE + 3))
    in_flight = reply(channel, alice, 5, status="sending", attempts=1, status_changed_at=ago(0.5))
    failed = reply(channel, alice, 6, status="failed", attempts=8, status_changed_at=ago(600))

    assert sweeps() == {"events": 0, "messages": 2}

    statuses = {m.pk: m.status for m in Message.objects.filter(direction=Message.Direction.OUTBOUND)}
    assert statuses == {
        stuck.pk: "sent",
        lost.pk: "sent",
        fresh.pk: "queued",
        backing_off.pk: "queued",
        in_flight.pk: "sending",
        failed.pk: "failed",
    }
    keys = sorted(request.header("Idempotency-Key") for request in http_peer.received("/cb"))
    assert keys == sorted(f"sportello-message-{m.pk}" for m in (stuck, lost))


@pytest.mark.django_db
def test_a_backing_off_reply_is_swept_once_its_retry_is_overdue(
    channel: ChannelAccount, alice: User, http_peer: HttpPeer
) -> None:
    overdue = reply(channel, alice, 1, status="queued", attempts=3, status_changed_at=ago(STALE + 8 + 1))

    assert sweeps()["messages"] == 1
    overdue.refresh_from_db()
    assert (overdue.status, overdue.attempts) == ("sent", 4)


@pytest.mark.django_db
def test_the_beat_task_runs_the_message_sweep(channel: ChannelAccount, alice: User) -> None:
    reply(channel, alice, 1, status="queued", attempts=0, status_changed_at=ago(STALE + 1))

    assert tasks.requeue_stale_messages.apply().get() == 1


def queued_task_args(broker: redis.Redis, queue: str, task: str) -> list[Any]:
    """The first argument of each ``task`` waiting in ``queue``, read from kombu's wire format."""
    found = []
    for raw in broker.lrange(queue, 0, -1):
        try:
            message = json.loads(raw)
        except ValueError:
            continue
        if message["headers"]["task"] == task:
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            found.append(args[0])
    return found


@pytest.mark.django_db
def test_with_an_outbound_backlog_queued_replies_get_a_grace_period(
    channel: ChannelAccount, alice: User, real_broker: str, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.EMBEDDED = False
    broker = redis.Redis.from_url(real_broker)
    broker.rpush("outbound", b"a send ahead in the queue")
    waiting = reply(channel, alice, 1, status="queued", attempts=0, status_changed_at=ago(60))
    stuck = reply(channel, alice, 2, status="sending", attempts=1, status_changed_at=ago(STALE + 3))
    forgotten = reply(channel, alice, 3, status="queued", attempts=0, status_changed_at=ago(6 * 60))

    assert sweeps() == {"events": 0, "messages": 2}

    assert sorted(queued_task_args(broker, "outbound", "tickets.tasks.deliver_message")) == sorted(
        [stuck.pk, forgotten.pk]
    )
    assert Message.objects.get(pk=stuck.pk).status == "queued"
    assert Message.objects.get(pk=waiting.pk).status_changed_at < ago(59)
