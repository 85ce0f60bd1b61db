"""The claim of an inbound event is its row lock, held while it is filed: one worker, one transaction."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from channels_in import inbound as inbound_module
from channels_in.api.tests.wire import payload
from channels_in.inbound import ProcessOutcome, inbound_event_process
from channels_in.maintenance import stale_events_requeue
from channels_in.models import ChannelAccount, InboundEvent
from channels_in.tests.test_inbound import record
from tickets.models import Message, Ticket, TicketEvent


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the worker gets to handle it."""


def stored(account: ChannelAccount) -> InboundEvent:
    """An event as recorded, without running its (eager, in tests) task."""
    return InboundEvent.objects.create(
        channel_account=account,
        provider_event_id="msg-1",
        body=json.dumps(payload("msg-1")).encode(),
        content_type="application/json",
    )


def _in_parallel(count: int, event_id: int) -> list[ProcessOutcome]:
    barrier = threading.Barrier(count)

    def run(_: int) -> ProcessOutcome:
        try:
            barrier.wait(timeout=10)
            return inbound_event_process(event_id=event_id)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.mark.django_db(transaction=True)
def test_eight_workers_on_one_event_file_it_once(api_channel: ChannelAccount) -> None:
    event = stored(api_channel)

    outcomes = _in_parallel(8, event.pk)

    assert {outcome.state for outcome in outcomes} <= {"done", "pending"}
    assert "done" in {outcome.state for outcome in outcomes}
    assert Message.objects.count() == 1
    event.refresh_from_db()
    assert (event.state, event.attempts) == ("done", 1)


@pytest.mark.django_db(transaction=True)
def test_an_event_locked_by_a_worker_is_skipped_not_waited_for(api_channel: ChannelAccount) -> None:
    event = stored(api_channel)
    locked, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                InboundEvent.objects.select_for_update().get(pk=event.pk)
                locked.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    holder = threading.Thread(target=other_worker)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        assert inbound_event_process(event_id=event.pk).state == "pending"
        assert Message.objects.count() == 0
    finally:
        release.set()
        holder.join(timeout=10)

    assert inbound_event_process(event_id=event.pk).state == "done"
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_a_failure_after_writes_rolls_them_back_and_counts_the_attempt(
    api_channel: ChannelAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = record(api_channel)

    def broken(**_: Any) -> None:
        raise RuntimeError("disk on fire")

    # The message and ticket rows exist by the time the audit row is written.
    monkeypatch.setattr("tickets.services.ingest.events.message_event_record", broken)
    outcome = inbound_event_process(event_id=event.pk)

    assert (outcome.state, outcome.retry_in) == ("pending", 2)
    assert (Message.objects.count(), Ticket.objects.count(), TicketEvent.objects.count()) == (0, 0, 0)
    event.refresh_from_db()
    assert (event.state, event.attempts, event.error, event.claimed_at) == (
        "pending",
        1,
        "RuntimeError: disk on fire",
        None,
    )
    monkeypatch.undo()
    assert inbound_event_process(event_id=event.pk).state == "done"
    event.refresh_from_db()
    assert (event.attempts, event.error) == (2, "")
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_a_worker_killed_mid_event_leaves_it_pending_for_the_sweep(
    api_channel: ChannelAccount, monkeypatch: pytest.MonkeyPatch, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    settings.STALE_WORK_SECONDS = 30
    event = record(api_channel)

    def killed(*_: Any, **__: Any) -> None:
        raise WorkerKilled

    monkeypatch.setattr(inbound_module, "_finish", killed)
    with pytest.raises(WorkerKilled):
        inbound_event_process(event_id=event.pk)

    # Nothing of the attempt survives: not the message, not even the claim.
    assert Message.objects.count() == 0
    stored = InboundEvent.objects.get(pk=event.pk)
    assert (stored.state, stored.attempts, stored.claimed_at) == ("pending", 0, None)

    monkeypatch.undo()
    InboundEvent.objects.filter(pk=event.pk).update(enqueued_at=timezone.now() - timedelta(seconds=31))
    with django_capture_on_commit_callbacks(execute=True):
        assert stale_events_requeue() == 1
    stored.refresh_from_db()
    assert (stored.state, stored.attempts) == ("done", 1)
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_processing_an_event_that_joins_the_open_ticket_is_one_transaction(
    api_channel: ChannelAccount, django_assert_num_queries: Any
) -> None:
    inbound_event_process(event_id=record(api_channel, event_id="m-1").pk)
    event = record(api_channel, event_id="m-2")

    # Savepoint; claim with the account; savepoint; identities; open ticket (row lock); message;
    # message.created; ticket row; release; the event's new state; release. (In the test's own
    # transaction, BEGIN and COMMIT show up as a savepoint and its release.)
    with django_assert_num_queries(11) as captured:
        assert inbound_event_process(event_id=event.pk).state == "done"
    statements = [query["sql"].split()[0] for query in captured.captured_queries]
    assert statements.count("UPDATE") == 2
