"""Recording raw inbound events (before acknowledging) and processing them (in the ingest task)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from channels_in.base import EventIgnored, PayloadError
from channels_in.models import ChannelAccount, InboundEvent
from channels_in.registry import adapter_for
from tickets.inbound import Filed, InboundItem
from tickets.services.bulk_sql import (
    concrete_field,
    field_column,
    row_values,
    rows_update,
    statement_run,
)
from tickets.services.inbound_file import inbound_items_file

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Headers worth keeping for audit and re-processing; credentials are never stored.
_KEPT_HEADERS = {"content-type", "user-agent", "x-sportello-signature", "x-forwarded-for", "date"}


def request_headers(request: HttpRequest) -> dict[str, str]:
    return {name: value for name, value in request.headers.items() if name.lower() in _KEPT_HEADERS}


@dataclass(frozen=True)
class Recorded:
    event: InboundEvent
    created: bool


def inbound_event_record(
    *,
    account: ChannelAccount,
    body: bytes,
    headers: dict[str, str],
    content_type: str,
    provider_event_id: str | None,
) -> Recorded:
    """Store the raw event durably and queue its processing; a re-delivery finds the first row."""
    from channels_in.drain import ingest_schedule

    # One statement, committed on its own outside a transaction: no BEGIN/COMMIT round trips, and
    # the ORM's insert machinery is most of a webhook's CPU. A re-delivery finds the unique key taken
    # (nothing is inserted) and only then is the first row read.
    now = timezone.now()
    event = InboundEvent(
        channel_account=account,
        provider_event_id=provider_event_id or None,
        body=body,
        headers=headers,
        content_type=content_type[:150],
        received_at=now,
        enqueued_at=now,
    )
    pk = _insert_unless_known(event)
    if pk is None:
        event = InboundEvent.objects.get(channel_account=account, provider_event_id=provider_event_id)
        return Recorded(event, created=False)
    event.pk = pk
    transaction.on_commit(partial(ingest_schedule, pk))
    return Recorded(event, created=True)


_INSERTED_FIELDS = (
    "channel_account",
    "provider_event_id",
    "content_type",
    "headers",
    "body",
    "state",
    "attempts",
    "error",
    "result",
    "received_at",
    "enqueued_at",
)


@cache
def _insert_statement(vendor: str) -> tuple[str, tuple[Field, ...]]:
    """The event INSERT for this database, built once per process rather than on every webhook."""
    fields = tuple(concrete_field(InboundEvent, name) for name in _INSERTED_FIELDS)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field_column(field)) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (
        f"INSERT INTO {quote(InboundEvent._meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608 - our names
        "ON CONFLICT DO NOTHING RETURNING id"
    )
    return sql, fields


def _insert_unless_known(event: InboundEvent) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: the new row's id, None when the event is known."""
    sql, fields = _insert_statement(connection.vendor)
    row = statement_run(sql, row_values(event, fields))
    return int(row[0]) if row is not None else None


@dataclass(frozen=True)
class ProcessOutcome:
    state: str
    retry_in: float | None = None


def inbound_event_process(*, event_id: int) -> ProcessOutcome:
    """Parse the event and file every message in it; safe to run twice, and never drops an event.

    Claim, filing and the event's new state are one transaction: the claim is the event's row lock,
    so two workers cannot both file it, and a worker that dies mid-way leaves the event exactly as it
    was, pending, for the stale-work sweep. One commit per event instead of three.
    """
    claimed = _process_first(_claimable().filter(pk=event_id))
    if claimed is not None:
        return claimed[1]
    state = InboundEvent.objects.filter(pk=event_id).values_list("state", flat=True).first()
    return ProcessOutcome(state=state or "missing")


def inbound_events_process_batch(*, limit: int) -> list[tuple[int, ProcessOutcome]]:
    """Claim up to ``limit`` of the oldest pending events and file them in one transaction.

    Every item of every event goes to ``tickets`` in one call (``inbound_items_file``), which files
    what it can set-based and the rest one by one; every event's new state is written in the same
    transaction. If anything
    fails, the whole batch is rolled back and its events are processed one transaction each, where a
    failure is counted against the one event that caused it.
    """
    now = timezone.now()
    claimed: list[int] = []
    try:
        with transaction.atomic():
            batch = list(_claimable().filter(enqueued_at__lte=now).order_by("received_at", "pk")[:limit])
            claimed = [event.pk for event in batch]
            if not batch:
                return []
            _accounts_attach(batch)
            return _process_batch(batch)
    except Exception:
        if not claimed:
            raise
        logger.warning(
            "batch of %d inbound events failed; filing them one by one", len(claimed), exc_info=True
        )
    done: list[tuple[int, ProcessOutcome]] = []
    for event_id in claimed:
        result = _process_first(_claimable().filter(pk=event_id))
        if result is not None:
            done.append(result)
    return done


def _accounts_attach(batch: list[InboundEvent]) -> None:
    """Each event's channel account, read once per account rather than joined into every row."""
    accounts = ChannelAccount.objects.in_bulk({event.channel_account_id for event in batch})
    for event in batch:
        event.channel_account = accounts[event.channel_account_id]


def _process_batch(batch: list[InboundEvent]) -> list[tuple[int, ProcessOutcome]]:
    parsed: list[tuple[InboundEvent, list[InboundItem] | PayloadError | EventIgnored]] = []
    for event in batch:
        try:
            parsed.append((event, adapter_for(event.channel_account.kind).parse(event)))
        except (PayloadError, EventIgnored) as error:
            parsed.append((event, error))
    filed = iter(
        inbound_items_file(
            items=[
                (item, event.channel_account)
                for event, items in parsed
                if isinstance(items, list)
                for item in items
            ]
        )
    )
    finished: list[_Finished] = []
    for event, items in parsed:
        if not isinstance(items, list):
            finished.append(_not_parsed(event, items))
            continue
        finished.append(_filed(event, [next(filed) for _item in items]))
    _finish_all(finished)
    return [(event.pk, ProcessOutcome(state=state)) for event, state, _error, _result in finished]


def _filed(event: InboundEvent, filings: list[Filed]) -> _Finished:
    """Done when anything was filed; else ignored, and every event set aside records why."""
    message_ids = [item.message_id for item in filings if item.message_id is not None]
    if message_ids:
        return (event, InboundEvent.State.DONE, "", {"message_ids": message_ids})
    reasons = [item for item in filings if item.reason] or [
        Filed(None, "no_message", "no_message: the event holds no message to file")
    ]
    error = "; ".join(item.reason for item in reasons)
    return (event, InboundEvent.State.IGNORED, error, {"message_ids": [], "reason": reasons[0].code})


def _not_parsed(event: InboundEvent, error: PayloadError | EventIgnored) -> _Finished:
    if isinstance(error, EventIgnored):
        return (event, InboundEvent.State.IGNORED, str(error), {"message_ids": [], "reason": error.code})
    # An empty message would leave a failed event without its reason.
    return (event, InboundEvent.State.FAILED, str(error) or type(error).__name__, {})


# An event, its new state, the error and the result to record.
_Finished = tuple[InboundEvent, str, str, dict[str, Any]]


def _finish_all(finished: list[_Finished]) -> None:
    """Each event's new state, in one statement; the events are locked by the claiming transaction."""
    now = timezone.now()
    for event, state, error, result in finished:
        event.state, event.error, event.result = state, error, result
        event.attempts += 1
        event.claimed_at = event.processed_at = now
    rows_update(
        InboundEvent,
        [event for event, *_rest in finished],
        ["state", "error", "result", "attempts", "claimed_at", "processed_at"],
    )


def _claimable() -> QuerySet[InboundEvent]:
    """Pending events no worker is on, row-locked by the transaction that reads them."""
    # A locked row is being filed right now and is skipped; a ``claimed_at`` younger than the stale
    # deadline is a claim by a worker of the previous release (which committed claims on their own).
    abandoned = timezone.now() - timedelta(seconds=settings.STALE_WORK_SECONDS)
    return (
        InboundEvent.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(state=InboundEvent.State.PENDING)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=abandoned))
    )


def _process_first(claimable: QuerySet[InboundEvent]) -> tuple[int, ProcessOutcome] | None:
    event_id: int | None = None
    try:
        with transaction.atomic():
            event = claimable.select_related("channel_account").first()
            if event is None:
                return None
            event_id = event.pk
            return event_id, _process(event)
    except Exception as error:
        if event_id is None:
            raise
        logger.exception("inbound event %s failed", event_id)
        return event_id, _attempt_failed(event_id, error)


def _process(event: InboundEvent) -> ProcessOutcome:
    try:
        items = adapter_for(event.channel_account.kind).parse(event)
    except (PayloadError, EventIgnored) as error:
        # Parsing writes nothing, so the transaction is still good for recording why.
        return _finish(_not_parsed(event, error))
    account = event.channel_account
    # One event in a transaction of its own is the careful path (an event on its own, or a failed
    # batch filed again): each message retries a race with a concurrent writer instead of failing.
    filings = inbound_items_file(items=[(item, account) for item in items], one_by_one=True)
    return _finish(_filed(event, filings))


def _finish(finished: _Finished) -> ProcessOutcome:
    _finish_all([finished])
    return ProcessOutcome(state=finished[1])


def _attempt_failed(event_id: int, error: Exception) -> ProcessOutcome:
    """Count a failed attempt (its work was rolled back): back off, or after the last one, fail."""
    reason = f"{type(error).__name__}: {error}"
    with transaction.atomic():
        # Waits for a worker that took the event over meanwhile, then sees what it did.
        event = InboundEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.state != InboundEvent.State.PENDING:
            return ProcessOutcome(state=event.state if event is not None else "missing")
        attempts = event.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            now = timezone.now()
            InboundEvent.objects.filter(pk=event_id).update(
                state=InboundEvent.State.FAILED, error=reason, attempts=attempts, processed_at=now
            )
            return ProcessOutcome(state=InboundEvent.State.FAILED)
        retry_in = min(2**attempts, 300)
        # The retry is due then: the stale-work sweep counts from there, not from the first receipt.
        InboundEvent.objects.filter(pk=event_id).update(
            attempts=attempts,
            claimed_at=None,
            error=reason,
            enqueued_at=timezone.now() + timedelta(seconds=retry_in),
        )
    return ProcessOutcome(state=InboundEvent.State.PENDING, retry_in=retry_in)


def inbound_event_replay(*, event: InboundEvent) -> None:
    """An admin asks to process a failed event again."""
    from channels_in import tasks

    with transaction.atomic():
        InboundEvent.objects.filter(pk=event.pk).update(
            state=InboundEvent.State.PENDING,
            attempts=0,
            claimed_at=None,
            error="",
            enqueued_at=timezone.now(),
        )
        tasks.ingest_event.delay_on_commit(event.pk)


def body_limit() -> int:
    return settings.INBOUND_MAX_BYTES
