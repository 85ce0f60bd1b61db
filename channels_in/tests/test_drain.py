"""Draining pending inbound events in batches: each once, oldest first, nothing lost to a crash."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.db import connection
from django.utils import timezone

from channels_in import drain
from channels_in import inbound as inbound_module
from channels_in.api.tests.wire import payload
from channels_in.models import ChannelAccount, InboundEvent
from tickets.models import Message, Ticket, TicketEvent


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the worker gets to handle it."""


@pytest.fixture(autouse=True)
def _short_linger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(drain, "LINGER_SECONDS", 0.05)


def schedule(event_id: int) -> None:
    """What a recorded event's commit does, waited for: the drain requests reach Redis."""
    drain.ingest_schedule(event_id)
    assert drain.requests_flush(5)


def stored(account: ChannelAccount, message_id: str, customer: str = "cust-42") -> InboundEvent:
    """An event as recorded, without running its task."""
    body = payload(message_id, sender={"id": customer, "name": "Giulia Neri"}, text=message_id)
    return InboundEvent.objects.create(
        channel_account=account,
        provider_event_id=message_id,
        body=json.dumps(body).encode(),
        content_type="application/json",
    )


@pytest.mark.django_db
def test_a_drain_files_every_pending_event_in_the_order_received(api_channel: ChannelAccount) -> None:
    for number in range(6):
        stored(api_channel, f"m-{number}")

    assert drain.inbound_events_drain(slot=0) == 6

    ticket = Ticket.objects.get()
    texts = list(ticket.messages.order_by("pk").values_list("text", flat=True))
    assert texts == [f"m-{number}" for number in range(6)]
    seqs = list(TicketEvent.objects.filter(ticket=ticket).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 8))
    assert set(InboundEvent.objects.values_list("state", "attempts")) == {("done", 1)}


@pytest.mark.django_db
def test_a_drain_stops_at_its_limit_and_leaves_the_rest_pending(api_channel: ChannelAccount) -> None:
    events = [stored(api_channel, f"m-{number}") for number in range(5)]

    assert drain.inbound_events_drain(slot=0, limit=3) == 3

    states = dict(InboundEvent.objects.values_list("pk", "state"))
    assert [states[event.pk] for event in events] == ["done"] * 3 + ["pending"] * 2


@pytest.mark.django_db
def test_an_event_backing_off_is_left_to_its_retry(api_channel: ChannelAccount) -> None:
    event = stored(api_channel, "m-1")
    InboundEvent.objects.filter(pk=event.pk).update(
        attempts=1, enqueued_at=timezone.now() + timedelta(seconds=8)
    )

    assert drain.inbound_events_drain(slot=0) == 0
    assert Message.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_four_drains_at_once_file_each_event_once(api_channel: ChannelAccount) -> None:
    for number in range(24):
        stored(api_channel, f"m-{number}", customer=f"cust-{number % 3}")
    barrier = threading.Barrier(4)

    def run(slot: int) -> int:
        try:
            barrier.wait(timeout=10)
            return drain.inbound_events_drain(slot=slot)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        processed = list(pool.map(run, range(4)))

    assert sum(processed) == 24
    assert Message.objects.count() == 24
    assert set(InboundEvent.objects.values_list("state", "attempts")) == {("done", 1)}
    assert Ticket.objects.count() == 3
    for ticket in Ticket.objects.all():
        seqs = list(TicketEvent.objects.filter(ticket=ticket).order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.django_db
def test_a_drain_killed_mid_batch_loses_nothing(
    api_channel: ChannelAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(5):
        stored(api_channel, f"m-{number}")
    finish_all = inbound_module._finish_all
    batches: list[int] = []

    def killed_in_the_second_batch(finished: list[Any]) -> None:
        if batches:
            raise WorkerKilled
        batches.append(len(finished))
        finish_all(finished)

    monkeypatch.setattr(drain, "TRANSACTION_BATCH", 2)
    monkeypatch.setattr(inbound_module, "_finish_all", killed_in_the_second_batch)
    with pytest.raises(WorkerKilled):
        drain.inbound_events_drain(slot=0)

    # The first batch's two are filed; the second's work is gone with its transaction.
    assert batches == [2]
    assert Message.objects.count() == 2
    assert InboundEvent.objects.filter(state="pending", attempts=0, claimed_at=None).count() == 3
    monkeypatch.undo()
    assert drain.inbound_events_drain(slot=1) == 3
    assert Message.objects.count() == 5


@pytest.mark.django_db
def test_with_a_redis_broker_one_drain_is_queued_per_slot_until_it_starts(
    real_broker: str, api_channel: ChannelAccount, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.INGEST_DRAIN_SLOTS = 4
    broker = redis.Redis.from_url(real_broker)

    def queued() -> int:
        return int(broker.llen("ingest"))

    for event_id in (4, 8, 12):  # all slot 0
        schedule(event_id)
    assert queued() == 1
    schedule(5)  # slot 1
    assert queued() == 2

    # A drain that finds nothing gives its flag back: the next event queues another drain.
    assert drain.inbound_events_drain(slot=0) == 0
    schedule(16)
    assert queued() == 3


def after_first_batch(monkeypatch: pytest.MonkeyPatch, happen: Callable[[], None]) -> list[int]:
    """Make ``happen`` run once the drain's first claim is filed; returns the size of every claim."""
    process_batch = drain.inbound_events_process_batch
    sizes: list[int] = []

    def spied(*, limit: int) -> list[Any]:
        batch = process_batch(limit=limit)
        sizes.append(len(batch))
        if len(sizes) == 1:
            happen()
        return batch

    monkeypatch.setattr(drain, "inbound_events_process_batch", spied)
    return sizes


@pytest.mark.django_db
def test_a_running_drain_keeps_its_slot_and_files_what_arrives_meanwhile(
    real_broker: str, api_channel: ChannelAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = redis.Redis.from_url(real_broker)
    stored(api_channel, "m-0")
    schedule(2)  # the drain of slot 0 is queued

    def arrivals_while_filing() -> None:
        # Three events commit while the first batch is being filed: none queues a second drain.
        for number in (1, 2, 3):
            stored(api_channel, f"m-{number}")
            schedule(0)  # the slot of the drain under test

    sizes = after_first_batch(monkeypatch, arrivals_while_filing)
    assert drain.inbound_events_drain(slot=0) == 4

    assert broker.llen("ingest") == 1  # only the drain queued at the start
    assert sizes[:2] == [1, 3]  # the three waited for the running drain's next claim, as one batch
    assert Message.objects.count() == 4
    # Idle again, the drain gave its flag back.
    schedule(4)
    assert broker.llen("ingest") == 2


@pytest.mark.django_db
def test_an_event_committed_as_the_drain_goes_idle_is_filed_by_its_last_look(
    real_broker: str, api_channel: ChannelAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = redis.Redis.from_url(real_broker)
    schedule(2)

    def late_arrival() -> None:
        # Committed after the drain found nothing, while it still held the flag: its SET NX fails.
        stored(api_channel, "late")
        schedule(0)  # the slot of the drain under test

    calls = after_first_batch(monkeypatch, late_arrival)
    assert drain.inbound_events_drain(slot=0) == 1

    assert broker.llen("ingest") == 1  # no second drain was queued for it
    assert Message.objects.get().text == "late"
    # Found nothing, looked once more after giving the flag back (the late one), took the flag again
    # and went on until idle (after its linger): nothing, and one more look.
    assert calls[:2] == [0, 1]
    assert set(calls[2:]) == {0}


@pytest.mark.django_db
def test_a_drain_at_its_limit_hands_its_slot_to_a_new_task(
    real_broker: str, api_channel: ChannelAccount
) -> None:
    broker = redis.Redis.from_url(real_broker)
    for number in range(3):
        stored(api_channel, f"m-{number}")

    assert drain.inbound_events_drain(slot=0, limit=2) == 2

    assert broker.llen("ingest") == 1  # the successor, holding the flag
    schedule(2)
    assert broker.llen("ingest") == 1
    assert drain.inbound_events_drain(slot=0) == 1


@pytest.mark.django_db
def test_a_failed_drain_frees_its_slot(
    real_broker: str, api_channel: ChannelAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = redis.Redis.from_url(real_broker)
    schedule(2)

    def broken(*, limit: int) -> list[Any]:
        raise RuntimeError("database gone")

    monkeypatch.setattr(drain, "inbound_events_process_batch", broken)
    with pytest.raises(RuntimeError):
        drain.inbound_events_drain(slot=0)

    schedule(2)
    assert broker.llen("ingest") == 2


@pytest.mark.django_db
def test_a_burst_of_events_asks_redis_once_per_slot_and_queues_one_drain(
    real_broker: str, api_channel: ChannelAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = redis.Redis.from_url(real_broker)
    asked: list[int] = []
    drain_request = drain._drain_request
    gate = threading.Event()

    def slow_request(client: redis.Redis, slot: int) -> None:
        gate.wait(5)  # Redis is slow to answer the first ask: the others pile up meanwhile
        asked.append(slot)
        drain_request(client, slot)

    monkeypatch.setattr(drain, "_drain_request", slow_request)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(drain.ingest_schedule, range(0, 400, 2)))  # 200 events, one slot
    gate.set()
    assert drain.requests_flush(5)

    assert broker.llen("ingest") == 1
    assert 1 <= len(asked) <= 2  # the first ask, and at most one more for everything that came meanwhile


@pytest.mark.django_db
def test_a_failed_ask_is_logged_and_the_next_one_still_goes_through(
    real_broker: str, api_channel: ChannelAccount, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    broker = redis.Redis.from_url(real_broker)
    drain_request = drain._drain_request
    failures = [RuntimeError("broker gone")]

    def flaky(client: redis.Redis, slot: int) -> None:
        if failures:
            raise failures.pop()
        drain_request(client, slot)

    monkeypatch.setattr(drain, "_drain_request", flaky)
    schedule(2)
    assert "could not request an ingest drain" in caplog.text
    assert broker.llen("ingest") == 0

    schedule(2)
    assert broker.llen("ingest") == 1


@pytest.mark.django_db(transaction=True)
def test_a_drain_lingers_and_files_the_next_event_without_a_new_task(
    real_broker: str, api_channel: ChannelAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drain, "LINGER_SECONDS", 1.5)
    broker = redis.Redis.from_url(real_broker)
    stored(api_channel, "m-0")
    schedule(2)  # the drain of slot 0 is queued; this test runs it

    def run() -> int:
        try:
            return drain.inbound_events_drain(slot=0)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(run)
        wait_for(lambda: Message.objects.count() == 1)
        stored(api_channel, "m-1")
        started = time.monotonic()
        schedule(4)  # as the webhook does after the commit: the lingering drain wakes
        wait_for(lambda: Message.objects.count() == 2)
        woken_in = time.monotonic() - started
        assert running.result(timeout=10) == 2

    assert woken_in < 1.0  # woken by the token, not at the end of its linger
    assert broker.llen("ingest") == 1  # only the drain queued at the start
    schedule(6)  # idle again, the slot was given back
    assert broker.llen("ingest") == 2


@pytest.mark.django_db
def test_a_drain_that_found_nothing_does_not_linger(
    real_broker: str, api_channel: ChannelAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drain, "LINGER_SECONDS", 5.0)
    started = time.monotonic()
    assert drain.inbound_events_drain(slot=0) == 0
    assert time.monotonic() - started < 1.0


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
