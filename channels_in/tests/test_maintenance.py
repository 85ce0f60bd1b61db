"""The inbound half of the stale-work sweep: events a dead worker held or the broker lost are filed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.utils import timezone

from channels_in import tasks as channel_tasks
from channels_in.api.tests.wire import payload
from channels_in.inbound import inbound_event_record
from channels_in.models import ChannelAccount, InboundEvent
from tickets import tasks
from tickets.models import Message
from tickets.tests.test_maintenance import STALE, ago, queued_task_args, sweeps
from tickets.tests.test_maintenance import _stale_after_two_seconds as _stale_after_two_seconds


def event(account: ChannelAccount, message_id: str, **state: object) -> InboundEvent:
    recorded = inbound_event_record(
        account=account,
        body=json.dumps(payload(message_id)).encode(),
        headers={},
        content_type="application/json",
        provider_event_id=message_id,
    ).event
    if state:
        InboundEvent.objects.filter(pk=recorded.pk).update(**state)
        recorded.refresh_from_db()
    return recorded


@pytest.mark.django_db
def test_lost_and_abandoned_events_are_processed_the_others_left_alone(api_channel: ChannelAccount) -> None:
    lost = event(api_channel, "lost", enqueued_at=ago(STALE + 1))
    abandoned = event(api_channel, "abandoned", enqueued_at=ago(60), claimed_at=ago(STALE + 1), attempts=1)
    fresh = event(api_channel, "fresh")
    working = event(api_channel, "working", enqueued_at=ago(60), claimed_at=ago(0.5), attempts=1)
    backing_off = event(api_channel, "backing-off", enqueued_at=timezone.now() + timedelta(seconds=8))
    failed = event(api_channel, "failed", enqueued_at=ago(60), state=InboundEvent.State.FAILED, error="boom")

    # Tasks run in-process in these tests, so a re-queued event is processed right here.
    assert sweeps() == {"events": 2, "messages": 0}

    states = dict(InboundEvent.objects.values_list("provider_event_id", "state"))
    assert states == {
        "lost": "done",
        "abandoned": "done",
        "fresh": "pending",
        "working": "pending",
        "backing-off": "pending",
        "failed": "failed",
    }
    assert set(Message.objects.values_list("external_id", flat=True)) == {"lost", "abandoned"}
    for untouched in (fresh, working, backing_off, failed):
        before = untouched.enqueued_at
        untouched.refresh_from_db()
        assert untouched.enqueued_at == before
    lost.refresh_from_db()
    abandoned.refresh_from_db()
    assert (lost.attempts, abandoned.attempts) == (1, 2)


@pytest.mark.django_db
def test_a_second_sweep_finds_nothing_left(api_channel: ChannelAccount) -> None:
    event(api_channel, "lost", enqueued_at=ago(STALE + 1))

    assert sweeps()["events"] == 1
    assert sweeps() == {"events": 0, "messages": 0}
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_the_beat_task_runs_the_sweep(api_channel: ChannelAccount) -> None:
    event(api_channel, "lost", enqueued_at=ago(STALE + 1))

    assert channel_tasks.requeue_stale_events.apply().get() == 1
    assert tasks.requeue_stale_messages.apply().get() == 0


@pytest.mark.django_db
def test_with_a_backlog_unclaimed_events_get_a_grace_period(
    api_channel: ChannelAccount, real_broker: str, settings
) -> None:  # type: ignore[no-untyped-def]
    """When the ingest queue is long, an unclaimed event is probably just waiting its turn."""
    settings.EMBEDDED = False
    settings.INGEST_DRAIN_SLOTS = 3
    broker = redis.Redis.from_url(real_broker)
    broker.rpush("ingest", b"a task ahead in the queue")
    waiting = event(api_channel, "waiting", enqueued_at=ago(60))
    abandoned = event(api_channel, "abandoned", enqueued_at=ago(60), claimed_at=ago(STALE + 1))
    forgotten = event(api_channel, "forgotten", enqueued_at=ago(6 * 60))  # past the grace period
    broker_before = broker.llen("ingest")

    assert sweeps() == {"events": 2, "messages": 0}

    # Tasks go to the real broker here: a drain per slot files whatever is pending, so the two lost
    # events (or two thousand) cost a task per slot, not a task each.
    slots = settings.INGEST_DRAIN_SLOTS
    assert broker.llen("ingest") == broker_before + slots
    assert sorted(queued_task_args(broker, "ingest", "channels_in.tasks.ingest_drain")) == list(range(slots))
    assert queued_task_args(broker, "ingest", "channels_in.tasks.ingest_event") == []
    # Until those drains start, another sweep queues nothing more.
    InboundEvent.objects.filter(pk=forgotten.pk).update(enqueued_at=ago(6 * 60))
    assert sweeps() == {"events": 1, "messages": 0}
    assert broker.llen("ingest") == broker_before + slots
    waiting.refresh_from_db()
    abandoned.refresh_from_db()
    assert abandoned.claimed_at is None
    assert waiting.enqueued_at < ago(59)


def test_beat_runs_each_sweep_as_often_as_configured() -> None:
    schedule = {entry["task"]: entry["schedule"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}

    interval = float(django_settings.REQUEUE_INTERVAL_SECONDS)
    assert schedule["channels_in.tasks.requeue_stale_events"] == interval
    assert schedule["tickets.tasks.requeue_stale_messages"] == interval
