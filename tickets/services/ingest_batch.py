"""Filing many customer messages at once, for the common cases: known customers with an open ticket, new ones.

``ingest_inbound_message`` costs about a dozen statements per message. Under load most messages are the
next line of a conversation already open, and for those the work is the same for all of them: find the
sender's contact, lock its open ticket, append the message and its audit row, move the ticket's
timestamps. Done once per batch instead of once per message, that is a handful of statements in all.

The first message of a brand-new customer (none of their identities exists) is the other common case:
its contact, identities and ticket are created with the others', three multi-row inserts per batch.

Everything else — a customer known by some identity but not all, a contact without an open ticket
(reopen or follow-up), an identity to verify, a provider id twice in the batch, a second message of
a customer created in this batch — is left to ``ingest_inbound_message``: this module says which
messages it filed and ``inbound_items_file`` sends the rest down the one-by-one path, in order.
The guarantees are the same as that path's: the caller's transaction holds the tickets' row locks (so
``seq`` stays gap-free), the unique key on ``(channel_account, external_id)`` still refuses a second
copy — a message filed in an earlier batch and delivered again is skipped by its insert and answered
with the stored message, as the one-by-one path answers it (elsewhere than on PostgreSQL the insert
fails and the caller files the batch again one event at a time) — and live events are published only
after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, connection
from django.utils import timezone

from tickets import events
from tickets.channel_port import ChannelAccountLike
from tickets.inbound import IdentityClaim, InboundMessage
from tickets.models import Contact, ContactIdentity, Message, Ticket, TicketEvent
from tickets.services.attachments import attachments_store
from tickets.services.bulk_sql import rows_insert, rows_insert_new, rows_update
from tickets.services.identities import contact_row, identity_row, last_seen_due, normalized_claims
from tickets.services.ingest import (
    after_filing,
    inbound_message_row,
    ticket_row,
    ticket_takes_message,
)
from tickets.services.serialize import message_data, ticket_data

# Row-value lists longer than this are sent as several statements (bind-parameter limits).
_CHUNK = 400


@dataclass(frozen=True)
class _Known:
    """A stored identity, with what the fast path needs of its contact."""

    id: int
    contact_id: int
    verified: bool
    last_seen_at: datetime | None
    contact_merged: bool
    contact_named: bool
    kind: str
    value: str

    def identity(self) -> ContactIdentity:
        # Enough of the row for the live event's recipients, without reading it again.
        return ContactIdentity(id=self.id, contact_id=self.contact_id, kind=self.kind, value=self.value)


def ingest_batch(items: list[tuple[InboundMessage, ChannelAccountLike]]) -> list[Message | None]:
    """File the messages of ``items`` this path can; ``None`` for each one left to the caller.

    Filed here: a known customer's message joining their open ticket, and the first message of a
    customer none of whose identities exists yet (a new contact, its identities and a new ticket).
    Runs in the caller's transaction. Once a contact has a message this batch cannot file, its later
    messages are left too, so the caller files that customer's messages in the order received.
    """
    if not items:
        return []
    claims = [normalized_claims(inbound.identities) for inbound, _account in items]
    known = _identities([claim for item_claims in claims for claim in item_claims])
    contact_of: list[int | None] = [
        _fast_contact(inbound, item_claims, known)
        for (inbound, _a), item_claims in zip(items, claims, strict=True)
    ]
    # A reply may belong to a ticket split off the open one: ingest_inbound_message decides that.
    with_split = _with_open_split(
        {pk for (inbound, _a), pk in zip(items, contact_of, strict=True) if pk and _refers(inbound)}
    )
    contact_of = [
        None if pk in with_split and _refers(inbound) else pk
        for (inbound, _a), pk in zip(items, contact_of, strict=True)
    ]
    open_tickets = _open_tickets({pk for pk in contact_of if pk is not None})

    results: list[Message | None] = [None] * len(items)
    # What a message left to the caller touches: its identities and every contact they belong to.
    left_keys: set[tuple[str, str]] = set()
    left_contacts: set[int] = set()
    # Identities this batch creates: a second message of that customer is left to the caller, which
    # finds the new contact and ticket in this same transaction.
    new_keys: set[tuple[str, str]] = set()
    seen_ids: set[tuple[int, str]] = set()
    chosen: list[int] = []
    new_customers: list[int] = []
    for index, ((inbound, account), contact_id) in enumerate(zip(items, contact_of, strict=True)):
        keys = {(claim.kind, claim.value) for claim in claims[index]}
        provider_id = (account.pk, inbound.external_id) if inbound.external_id else None
        free = (
            not keys & left_keys
            and not keys & new_keys
            and (provider_id is None or provider_id not in seen_ids)
        )
        if provider_id is not None:
            seen_ids.add(provider_id)
        if free and contact_id is not None and contact_id in open_tickets and contact_id not in left_contacts:
            chosen.append(index)
            continue
        if free and contact_id is None and _brand_new(inbound, keys, known):
            chosen.append(index)
            new_customers.append(index)
            new_keys |= keys
            continue
        left_keys |= keys
        left_contacts |= {known[key].contact_id for key in keys if key in known}
    if not chosen:
        return results

    now = timezone.now()
    created = _customers_create({i: (items[i][0], items[i][1], claims[i]) for i in new_customers}, now)
    messages: list[Message] = []
    for index in chosen:
        inbound, account = items[index]
        if index in created:
            ticket, identity = created[index]
        else:
            sender = known[(claims[index][0].kind, claims[index][0].value)]
            ticket, identity = open_tickets[sender.contact_id], sender.identity()
        messages.append(inbound_message_row(inbound, account, ticket=ticket, identity=identity, now=now))
    # A provider delivering again a message filed in an earlier batch: its id is taken, and the
    # message is the one already stored (as ``ingest_inbound_message`` finds it).
    skipped = rows_insert_new(Message, messages, key=("channel_account", "external_id"))
    if skipped:
        chosen, messages = _copies_set_aside(items, results, chosen, messages, skipped, created)

    # Each audit row with the message it records (None for ``ticket.created``), in seq order.
    audit: list[tuple[TicketEvent, Message | None]] = []
    for index, message in zip(chosen, messages, strict=True):
        inbound, _account = items[index]
        results[index] = message
        if inbound.attachments:
            attachments_store(message=message, attachments=inbound.attachments)
        ticket = message.ticket
        ticket_takes_message(ticket, message, now)
        if index in created:
            created_row = events.ticket_event_next(
                ticket=ticket, type="ticket.created", data=ticket_data(ticket)
            )
            audit.append((created_row, None))
        row = events.ticket_event_next(ticket=ticket, type="message.created", data=message_data(message))
        audit.append((row, message))
    rows_insert(TicketEvent, [row for row, _message in audit])
    for index, message in zip(chosen, messages, strict=True):
        inbound, _account = items[index]
        after_filing(
            ticket=message.ticket,
            message=message,
            ticket_is_new=False,
            fetch_attachments=any(att.url and att.content is None for att in inbound.attachments),
        )
    # The new tickets are routed as any new ticket is, by one task for the batch.
    from tickets import tasks

    tasks.routing_request([ticket.pk for ticket, _identity in created.values()])
    # Customer messages on tickets with an SLA: their clocks move on in a task (no statement here).
    fresh = {ticket.pk for ticket, _identity in created.values()}
    tasks.sla_sync_request(
        sorted({m.ticket_id for m in messages if m.ticket.sla_policy_id and m.ticket_id not in fresh})
    )
    rows_update(
        Ticket,
        list({message.ticket_id: message.ticket for message in messages}.values()),
        ["last_customer_message_at", "awaiting_agent_since", "status", "updated_at", "seq"],
    )
    _last_seen_refresh(
        [known[(claims[i][0].kind, claims[i][0].value)] for i in chosen if i not in created], now
    )
    for row, recorded in audit:
        if recorded is None:
            events.ticket_event_publish(row=row, ticket=row.ticket)
        else:
            events.message_event_published(row=row, ticket=recorded.ticket, message=recorded)
    return results


def _copies_set_aside(
    items: list[tuple[InboundMessage, ChannelAccountLike]],
    results: list[Message | None],
    chosen: list[int],
    messages: list[Message],
    skipped: list[Message],
    created: dict[int, tuple[Ticket, ContactIdentity]],
) -> tuple[list[int], list[Message]]:
    """The batch without its copies of stored messages; each copy's result is the stored message."""
    copies = {id(message) for message in skipped}
    if any(
        id(message) in copies for index, message in zip(chosen, messages, strict=True) if index in created
    ):
        # A new customer's ticket would be left without its message: the caller files the batch again.
        raise IntegrityError("a new customer's message is a copy of a stored one")
    stored = {
        (row.channel_account_id, row.external_id): row
        for row in Message.objects.filter(
            channel_account_id__in={message.channel_account_id for message in skipped},
            external_id__in={message.external_id for message in skipped},
        )
    }
    kept: list[tuple[int, Message]] = []
    for index, message in zip(chosen, messages, strict=True):
        if id(message) in copies:
            results[index] = stored[(message.channel_account_id, message.external_id)]
        else:
            kept.append((index, message))
    return [index for index, _m in kept], [message for _i, message in kept]


def _refers(inbound: InboundMessage) -> bool:
    return bool(inbound.ticket_token or inbound.thread_refs)


def _with_open_split(contact_ids: set[int]) -> set[int]:
    """Those of the contacts with an open ticket split off another one."""
    if not contact_ids:
        return set()
    return set(
        Ticket.objects.filter(
            contact_id__in=contact_ids, status__in=Ticket.OPEN_STATUSES, split_from__isnull=False
        ).values_list("contact_id", flat=True)
    )


def _brand_new(
    inbound: InboundMessage, keys: set[tuple[str, str]], known: dict[tuple[str, str], _Known]
) -> bool:
    """A customer none of whose identities exists: a new contact with nothing to merge or suggest."""
    return bool(keys) and not keys & known.keys()


def _customers_create(
    new: dict[int, tuple[InboundMessage, ChannelAccountLike, list[IdentityClaim]]], now: Any
) -> dict[int, tuple[Ticket, ContactIdentity]]:
    """Contacts, identities and tickets for brand-new customers, three multi-row inserts in all.

    Keyed by the item's index in the batch; the identity is the sender's. What each row holds is what
    ``ingest_inbound_message`` writes for a new customer. A concurrent writer creating the same
    identity makes the insert fail (unique key), and the caller files the batch one event at a time.
    """
    if not new:
        return {}
    contacts = {index: contact_row(name=inbound.sender_name) for index, (inbound, _a, _c) in new.items()}
    rows_insert(Contact, list(contacts.values()))
    identities: list[ContactIdentity] = []
    senders: dict[int, ContactIdentity] = {}
    for index, (_inbound, _account, item_claims) in new.items():
        for position, claim in enumerate(item_claims):
            identity = identity_row(
                contact=contacts[index], claim=claim, seen_at=now if position == 0 else None
            )
            identities.append(identity)
            if position == 0:
                senders[index] = identity
    rows_insert(ContactIdentity, identities)
    tickets = {
        index: ticket_row(inbound, account, contacts[index], previous=None)
        for index, (inbound, account, _c) in new.items()
    }
    rows_insert(Ticket, list(tickets.values()))
    return {index: (tickets[index], senders[index]) for index in new}


def _fast_contact(
    inbound: InboundMessage, claims: list[IdentityClaim], known: dict[tuple[str, str], _Known]
) -> int | None:
    """The contact this message files on without ``contact_resolve``'s writes; None when it has some."""
    if not claims:
        return None
    sender = known.get((claims[0].kind, claims[0].value))
    if sender is None or sender.contact_merged:
        return None
    if inbound.sender_name and not sender.contact_named:
        return None
    for claim in claims:
        identity = known.get((claim.kind, claim.value))
        if (
            identity is None
            or identity.contact_id != sender.contact_id
            or (claim.verified and not identity.verified)
        ):
            return None
    return sender.contact_id


def _identities(claims: list[IdentityClaim]) -> dict[tuple[str, str], _Known]:
    pairs = list(dict.fromkeys((claim.kind, claim.value) for claim in claims))
    identity_table = ContactIdentity._meta.db_table
    contact_table = ContactIdentity._meta.get_field("contact").related_model._meta.db_table
    found: dict[tuple[str, str], _Known] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), _CHUNK):
            chunk = pairs[start : start + _CHUNK]
            rows = ", ".join(["(%s, %s)"] * len(chunk))
            cursor.execute(
                f"SELECT i.id, i.kind, i.value, i.contact_id, i.verified, i.last_seen_at, "  # noqa: S608 - our names
                f"c.merged_into_id, c.name FROM {identity_table} i "
                f"JOIN {contact_table} c ON c.id = i.contact_id WHERE (i.kind, i.value) IN (VALUES {rows})",
                [value for pair in chunk for value in pair],
            )
            for pk, kind, value, contact_id, verified, last_seen_at, merged_into, name in cursor:
                found[(kind, value)] = _Known(
                    id=pk,
                    contact_id=contact_id,
                    verified=bool(verified),
                    last_seen_at=_aware(last_seen_at),
                    contact_merged=merged_into is not None,
                    contact_named=bool(name),
                    kind=kind,
                    value=value,
                )
    return found


def _aware(value: datetime | None) -> datetime | None:
    # A raw cursor on a database without time zones (SQLite) returns the stored UTC time as naive.
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, UTC)
    return value


def _open_tickets(contact_ids: set[int]) -> dict[int, Ticket]:
    """The contacts' open tickets, row-locked in id order: two batches never wait on each other in a cycle."""
    if not contact_ids:
        return {}
    tickets = (
        Ticket.objects.select_for_update(of=("self",))
        .primary_open(contact_id__in=contact_ids)
        .only(
            "id",
            "contact_id",
            "status",
            "seq",
            "team_id",
            "assignee_id",
            "last_customer_message_at",
            "awaiting_agent_since",
            "updated_at",
            "sla_policy_id",  # whether the clocks move on after the filing (tasks.sla_sync_request)
        )
        .order_by("pk")
    )
    return {ticket.contact_id: ticket for ticket in tickets}


def _last_seen_refresh(senders: list[_Known], now: Any) -> None:
    stale = {sender.id for sender in senders if last_seen_due(sender.last_seen_at, now)}
    if stale:
        ContactIdentity.objects.filter(pk__in=stale).update(last_seen_at=now)


__all__ = ["ingest_batch"]
