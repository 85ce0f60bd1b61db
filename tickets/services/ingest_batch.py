"""Filing many customer messages at once, for the common case: a known customer with an open ticket.

``ingest_inbound_message`` costs about a dozen statements per message. Under load most messages are the
next line of a conversation already open, and for those the work is the same for all of them: find the
sender's contact, lock its open ticket, append the message and its audit row, move the ticket's
timestamps. Done once per batch instead of once per message, that is a handful of statements in all.

Everything else — a new customer, a contact without an open ticket (reopen or follow-up), a bounce, an
identity to attach or verify, a re-delivered provider id — is left to ``ingest_inbound_message``: this
module says which messages it filed and the caller sends the rest down the one-by-one path, in order.
The guarantees are the same as that path's: the caller's transaction holds the tickets' row locks (so
``seq`` stays gap-free), the unique key on ``(channel_account, external_id)`` still refuses a second
copy (the caller then rolls the batch back and files its events one by one), and live events are
published only after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from channels_in.base import IdentityClaim, InboundMessage
from channels_in.models import ChannelAccount
from helpdesk.sql import rows_update
from tickets import events
from tickets.models import ContactIdentity, Message, Ticket, TicketEvent
from tickets.services.attachments import attachments_store
from tickets.services.identities import LAST_SEEN_GRANULARITY, normalized_claims
from tickets.services.ingest import inbound_message_row, ticket_takes_message
from tickets.services.serialize import message_data

# Row-value lists longer than this are sent as several statements (bind-parameter limits).
_CHUNK = 400


@dataclass(frozen=True)
class _Known:
    """A stored identity, with what the fast path needs of its contact."""

    id: int
    contact_id: int
    verified: bool
    last_seen_at: Any
    contact_merged: bool
    contact_named: bool
    kind: str
    value: str

    def identity(self) -> ContactIdentity:
        # Enough of the row for the live event's recipients, without reading it again.
        return ContactIdentity(id=self.id, contact_id=self.contact_id, kind=self.kind, value=self.value)


def ingest_batch(items: list[tuple[InboundMessage, ChannelAccount]]) -> list[Message | None]:
    """File the messages of ``items`` that join an open ticket; ``None`` for each one left to the caller.

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
    open_tickets = _open_tickets({pk for pk in contact_of if pk is not None})

    results: list[Message | None] = [None] * len(items)
    # What a message left to the caller touches: its identities and every contact they belong to.
    left_keys: set[tuple[str, str]] = set()
    left_contacts: set[int] = set()
    seen_ids: set[tuple[int, str]] = set()
    chosen: list[int] = []
    for index, ((inbound, account), contact_id) in enumerate(zip(items, contact_of, strict=True)):
        keys = {(claim.kind, claim.value) for claim in claims[index]}
        provider_id = (account.pk, inbound.external_id) if inbound.external_id else None
        fast = (
            contact_id is not None
            and contact_id in open_tickets
            and contact_id not in left_contacts
            and not keys & left_keys
            and (provider_id is None or provider_id not in seen_ids)
        )
        if provider_id is not None:
            seen_ids.add(provider_id)
        if fast:
            chosen.append(index)
            continue
        left_keys |= keys
        left_contacts |= {known[key].contact_id for key in keys if key in known}
    if not chosen:
        return results

    now = timezone.now()
    messages: list[Message] = []
    for index in chosen:
        inbound, account = items[index]
        sender = known[(claims[index][0].kind, claims[index][0].value)]
        messages.append(
            inbound_message_row(
                inbound, account, ticket=open_tickets[sender.contact_id], identity=sender.identity(), now=now
            )
        )
    Message.objects.bulk_create(messages)

    audit: list[TicketEvent] = []
    touched: dict[int, Ticket] = {}
    for index, message in zip(chosen, messages, strict=True):
        inbound, _account = items[index]
        results[index] = message
        if inbound.attachments:
            attachments_store(message=message, attachments=inbound.attachments)
            if any(att.url and att.content is None for att in inbound.attachments):
                from tickets import tasks

                tasks.fetch_attachments.delay_on_commit(message.pk)
        ticket = message.ticket
        ticket_takes_message(ticket, message, now)
        ticket.seq += 1
        audit.append(
            TicketEvent(
                ticket=ticket,
                seq=ticket.seq,
                type="message.created",
                payload=message_data(message),
                created_at=now,
            )
        )
        touched[ticket.pk] = ticket
    TicketEvent.objects.bulk_create(audit)
    rows_update(
        Ticket,
        list(touched.values()),
        ["last_customer_message_at", "awaiting_agent_since", "status", "updated_at", "seq"],
    )
    _last_seen_refresh([known[(claims[i][0].kind, claims[i][0].value)] for i in chosen], now)
    for row, message in zip(audit, messages, strict=True):
        events.message_event_published(row=row, ticket=message.ticket, message=message)
    return results


def _fast_contact(
    inbound: InboundMessage, claims: list[IdentityClaim], known: dict[tuple[str, str], _Known]
) -> int | None:
    """The contact this message files on without ``contact_resolve``'s writes; None when it has some."""
    if inbound.is_bounce or not claims:
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
                    last_seen_at=last_seen_at,
                    contact_merged=merged_into is not None,
                    contact_named=bool(name),
                    kind=kind,
                    value=value,
                )
    return found


def _open_tickets(contact_ids: set[int]) -> dict[int, Ticket]:
    """The contacts' open tickets, row-locked in id order: two batches never wait on each other in a cycle."""
    if not contact_ids:
        return {}
    tickets = (
        Ticket.objects.select_for_update(of=("self",))
        # A ticket an agent split off stays open beside the primary one; customer messages join the primary.
        .filter(contact_id__in=contact_ids, status__in=Ticket.OPEN_STATUSES, split_from__isnull=True)
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
        )
        .order_by("pk")
    )
    return {ticket.contact_id: ticket for ticket in tickets}


def _last_seen_refresh(senders: list[_Known], now: Any) -> None:
    stale = {s.id for s in senders if s.last_seen_at is None or now - s.last_seen_at >= LAST_SEEN_GRANULARITY}
    if stale:
        ContactIdentity.objects.filter(pk__in=stale).update(last_seen_at=now)


__all__ = ["ingest_batch"]
