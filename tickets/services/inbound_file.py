"""The one entry through which channels file what their customers send (ARCHITECTURE §4).

``inbound_items_file`` takes a batch of typed items (``tickets.inbound``) in the order received and
says what became of each. Customer messages are filed by one of two strategies with the same result:

- set-based (``ingest_batch``): a handful of statements for the whole batch, for the common cases (a
  known customer's next message on their open ticket, a brand-new customer's first message);
- one by one (``ingest_inbound_message``): everything else, in order, after the set-based part.

Statuses, edits, deletions and reactions are about messages already filed and go one by one, after
the messages of the batch (so an edit of a message filed in the same batch finds it).

The caller's transaction holds it all: if anything fails, the caller rolls the batch back and may
file its items again one event at a time, where a failure is counted against the event that caused it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

from django.db import transaction

from tickets.channel_port import ChannelAccountLike
from tickets.inbound import (
    DeliveryStatus,
    Filed,
    InboundItem,
    InboundMessage,
    MessageDelete,
    MessageEdit,
    Reaction,
)
from tickets.services.inbound_updates import (
    delivery_status_file,
    message_delete_file,
    message_edit_file,
    reaction_file,
)
from tickets.services.ingest import ingest_inbound_message
from tickets.services.ingest_batch import ingest_batch

Strategy = Literal["auto", "set", "one"]


@dataclass
class Tally:
    """How many items each way filed, while a strategy is forced."""

    set_based: int = 0
    one_by_one: int = 0
    updates: int = 0


_forced: ContextVar[tuple[Strategy, Tally] | None] = ContextVar("inbound_file_strategy", default=None)


@contextmanager
def strategy_forced(strategy: Strategy) -> Iterator[Tally]:
    """File with one strategy whatever the batch (tests comparing the two), counting what went which way."""
    tally = Tally()
    token = _forced.set((strategy, tally))
    try:
        yield tally
    finally:
        _forced.reset(token)


def inbound_items_file(
    *, items: Sequence[tuple[InboundItem, ChannelAccountLike]], one_by_one: bool = False
) -> list[Filed]:
    """File each of ``items`` (an item and its channel account); what became of each, in order.

    ``one_by_one`` files every message on its own, each retried when a concurrent writer takes a
    unique key first: for the caller filing again, one event at a time, a batch that failed.
    """
    # Inside the caller's transaction (a drain's claim) this adds no statement; called on its own (the
    # demo, a script) the batch still files all or nothing, under the row locks it takes.
    with transaction.atomic(savepoint=False):
        return _items_file(items, one_by_one=one_by_one)


def _items_file(items: Sequence[tuple[InboundItem, ChannelAccountLike]], *, one_by_one: bool) -> list[Filed]:
    results: list[Filed | None] = [None] * len(items)
    messages = {
        index: (item, account)
        for index, (item, account) in enumerate(items)
        if isinstance(item, InboundMessage)
    }
    forced = _forced.get()
    strategy, tally = forced if forced is not None else ("one" if one_by_one else "auto", Tally())
    # Even a batch of one message goes set-based first: a known customer's next message costs fewer
    # statements there than one by one, and a drain woken for each message files batches of one.
    if strategy in ("set", "auto") and messages:
        for index, message in zip(messages, ingest_batch(list(messages.values())), strict=True):
            if message is not None:
                results[index] = Filed(message.pk, ticket_id=message.ticket_id)
                tally.set_based += 1
    for index, (inbound, account) in messages.items():
        if results[index] is None:
            filed = ingest_inbound_message(inbound=inbound, account=account).message
            results[index] = Filed(filed.pk, ticket_id=filed.ticket_id)
            tally.one_by_one += 1
    for index, (item, _account) in enumerate(items):
        if results[index] is None:
            results[index] = _update_file(item)
            tally.updates += 1
    return [result for result in results if result is not None]


def _update_file(item: InboundItem) -> Filed:
    if isinstance(item, DeliveryStatus):
        return delivery_status_file(status=item)
    if isinstance(item, MessageEdit):
        return message_edit_file(edit=item)
    if isinstance(item, MessageDelete):
        return message_delete_file(delete=item)
    if isinstance(item, Reaction):
        return reaction_file(reaction=item)
    raise TypeError(f"not an inbound item: {type(item).__name__}")


__all__ = ["Filed", "Tally", "inbound_items_file", "strategy_forced"]
