"""The inbox's pages: keyset ("cursor") pages of a view, in queue order or by SLA due time.

Queue order is one keyset over ``TICKET_QUEUE_KEYS``. Due order is two stretches: the tickets with a
running clock, soonest due first (a walk of the partial index ``ticket_sla_due``), then the others (no
policy, waiting on the customer, closed) in queue order. A cursor names its stretch, so every page is
still one seek, whatever its depth, and a ticket arriving meanwhile shifts nothing.
"""

from __future__ import annotations

import binascii
from typing import Any, Literal

from django.db.models import QuerySet

from tickets.keyset import (
    TICKET_DUE_KEYS,
    TICKET_QUEUE_KEYS,
    Key,
    cursor_decode,
    cursor_encode,
    keyset_after,
    keyset_decode,
    keyset_values,
)
from tickets.models import Ticket
from tickets.selectors import tickets_due_first, tickets_without_due
from tickets.views.rows import ROW_FIELDS

PAGE_SIZE = 50
Order = Literal["queue", "due"]
_DUE, _REST = "due", "rest"


def _decoded(keys: tuple[Key, ...], raw: Any) -> list[Any] | None:
    try:
        return keyset_decode(keys, raw)
    except (ValueError, TypeError):
        return None


def _payload(cursor: str) -> Any:
    try:
        return cursor_decode(cursor)
    except (ValueError, TypeError, UnicodeError, binascii.Error):
        return None


def decode_cursor(cursor: str) -> list[Any] | None:
    """A queue-order cursor's position; ``None`` for anything that is not one."""
    return _decoded(TICKET_QUEUE_KEYS, _payload(cursor))


def _due_position(cursor: str) -> tuple[str, list[Any]] | None:
    payload = _payload(cursor)
    if not isinstance(payload, dict) or len(payload) != 1:
        return None
    [(stretch, raw)] = payload.items()
    keys = {_DUE: TICKET_DUE_KEYS, _REST: TICKET_QUEUE_KEYS}.get(stretch)
    position = _decoded(keys, raw) if keys is not None else None
    return (stretch, position) if position is not None else None


def _cursor_of(ticket: Ticket, order: Order) -> str:
    if order == "queue":
        return cursor_encode(keyset_values(TICKET_QUEUE_KEYS, ticket))
    if ticket.sla_due_at is not None and ticket.is_open:
        return cursor_encode({_DUE: keyset_values(TICKET_DUE_KEYS, ticket)})
    return cursor_encode({_REST: keyset_values(TICKET_QUEUE_KEYS, ticket)})


def _ids(tickets: QuerySet[Ticket], limit: int) -> list[int]:
    return list(tickets.values_list("pk", flat=True)[:limit])


def _queue_ids(tickets: QuerySet[Ticket], cursor: str) -> list[int]:
    position = decode_cursor(cursor) if cursor else None
    if position is not None:
        tickets = tickets.filter(keyset_after(TICKET_QUEUE_KEYS, position))
    return _ids(tickets, PAGE_SIZE + 1)


def _due_ids(tickets: QuerySet[Ticket], cursor: str, *, with_rest: bool) -> list[int]:
    position = _due_position(cursor) if cursor else None
    rest = tickets_without_due(tickets)
    if position is not None and position[0] == _REST:
        return _ids(rest.filter(keyset_after(TICKET_QUEUE_KEYS, position[1])), PAGE_SIZE + 1)
    due = tickets_due_first(tickets)
    if position is not None:
        due = due.filter(keyset_after(TICKET_DUE_KEYS, position[1]))
    ids = _ids(due, PAGE_SIZE + 1)
    if with_rest and len(ids) <= PAGE_SIZE:
        ids += _ids(rest, PAGE_SIZE + 1 - len(ids))
    return ids


def ticket_page(
    tickets: QuerySet[Ticket], *, order: Order, cursor: str = "", with_rest: bool = True
) -> tuple[list[Ticket], str | None]:
    """A page of ``tickets`` after ``cursor``, and the cursor of the next page (``None`` on the last).

    The ids are picked on the ticket table alone, then only those rows are loaded with what they show:
    joining contacts, teams and agents for the whole matching set before the sort and limit is what
    would make a deep queue slow. ``with_rest=False`` stops a due-ordered list after the tickets with a
    running clock (the "breaching soon" view holds no others).
    """
    ids = _due_ids(tickets, cursor, with_rest=with_rest) if order == "due" else _queue_ids(tickets, cursor)
    # The rows read their tags themselves (``ticket_rows``), as names rather than objects.
    chosen = tickets.filter(pk__in=ids).prefetch_related(None).only(*ROW_FIELDS)
    by_id = {ticket.pk: ticket for ticket in chosen}
    rows = [by_id[pk] for pk in ids if pk in by_id]
    if len(rows) <= PAGE_SIZE:
        return rows, None
    rows = rows[:PAGE_SIZE]
    return rows, _cursor_of(rows[-1], order)
