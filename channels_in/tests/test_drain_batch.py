"""Set-based filing of a batch of events: same outcome as one by one, far fewer statements."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_in import drain
from channels_in.api.tests.wire import payload
from channels_in.inbound import inbound_events_process_batch
from channels_in.models import ChannelAccount, InboundEvent
from tickets.models import AgentProfile, Contact, ContactIdentity, Message, Team, Ticket, TicketEvent
from tickets.tests.test_maintenance import queued_task_args


def stored(
    account: ChannelAccount,
    message_id: str,
    customer: str = "cust-42",
    *,
    event_id: str | None = None,
    **extra: object,
) -> InboundEvent:
    fields: dict[str, object] = {
        "sender": {"id": customer, "name": f"Cliente {customer}", "email": f"{customer}@example.com"},
        "text": f"testo {message_id}",
        **extra,
    }
    body = payload(message_id, **fields)
    return InboundEvent.objects.create(
        channel_account=account,
        provider_event_id=event_id or message_id,
        body=json.dumps(body).encode(),
        content_type="application/json",
    )


def seqs_of(ticket: Ticket) -> list[int]:
    return list(TicketEvent.objects.filter(ticket=ticket).order_by("seq").values_list("seq", flat=True))


@pytest.mark.django_db
def test_known_customers_are_filed_together_with_a_fixed_number_of_statements(
    api_channel: ChannelAccount,
) -> None:
    for customer in range(10):
        stored(api_channel, f"first-{customer}", customer=f"c{customer}")
    assert len(inbound_events_process_batch(limit=50)) == 10  # first messages: contacts and tickets
    for number in range(40):
        stored(api_channel, f"m-{number}", customer=f"c{number % 10}")

    with CaptureQueriesContext(connection) as queries:
        outcomes = inbound_events_process_batch(limit=50)

    assert [outcome.state for _pk, outcome in outcomes] == ["done"] * 40
    # Claim, channel accounts, identities, open tickets (locked), messages, audit rows, tickets, last
    # seen, events' state; plus the transaction's own statements: nothing grows with the messages.
    assert len(queries.captured_queries) <= 12, [q["sql"][:80] for q in queries.captured_queries]
    for customer in range(10):
        ticket = Ticket.objects.get(contact__identities__value=f"c{customer}@example.com")
        texts = list(ticket.messages.order_by("pk").values_list("text", flat=True))
        assert texts == [f"testo first-{customer}"] + [f"testo m-{n}" for n in range(customer, 40, 10)]
        assert seqs_of(ticket) == list(range(1, ticket.seq + 1))
        assert ticket.events.filter(type="message.created").count() == 5
        assert ticket.last_customer_message_at == ticket.messages.latest("sent_at").sent_at
    results = dict(InboundEvent.objects.values_list("provider_event_id", "result"))
    for number in range(40):
        filed = Message.objects.get(external_id=f"m-{number}")
        assert results[f"m-{number}"] == {"message_ids": [filed.pk]}
        assert filed.identity is not None and filed.identity.value.endswith(f":c{number % 10}")


@pytest.mark.django_db
def test_a_mixed_batch_keeps_each_customers_order(api_channel: ChannelAccount) -> None:
    stored(api_channel, "known-0", customer="known")
    inbound_events_process_batch(limit=10)
    # A new customer (one by one), a known one (set-based), and a known one whose next message needs an
    # identity attached (one by one), after which the rest of that customer's messages wait their turn.
    stored(api_channel, "new-1", customer="new")
    stored(api_channel, "known-1", customer="known")
    stored(api_channel, "new-2", customer="new")
    stored(
        api_channel,
        "known-2",
        customer="known",
        sender={
            "id": "known",
            "name": "Cliente known",
            "email": "known@example.com",
            "phone": "+39 333 1234567",
        },
    )
    stored(api_channel, "known-3", customer="known")
    stored(api_channel, "bad", event_id="bad-event", text=None)

    outcomes = dict(inbound_events_process_batch(limit=10))

    states = {
        event.provider_event_id: outcomes[event.pk].state
        for event in InboundEvent.objects.exclude(provider_event_id="known-0")
    }
    assert len(states) == 6
    assert states.pop("bad-event") == "failed"
    assert set(states.values()) == {"done"}
    known = Ticket.objects.get(contact__identities__value="known@example.com")
    assert list(known.messages.order_by("pk").values_list("external_id", flat=True)) == [
        "known-0",
        "known-1",
        "known-2",
        "known-3",
    ]
    assert seqs_of(known) == list(range(1, known.seq + 1))
    assert known.events.filter(type="message.created").count() == 4
    assert ContactIdentity.objects.filter(contact=known.contact, kind="phone").exists()
    new = Ticket.objects.get(contact__identities__value="new@example.com")
    assert list(new.messages.order_by("pk").values_list("external_id", flat=True)) == ["new-1", "new-2"]
    assert Contact.objects.count() == 2
    assert InboundEvent.objects.get(provider_event_id="bad-event").error


@pytest.mark.django_db
def test_a_redelivered_message_in_a_batch_is_filed_once_and_the_rest_still_filed(
    api_channel: ChannelAccount,
) -> None:
    stored(api_channel, "m-1")
    inbound_events_process_batch(limit=10)
    first = Message.objects.get(external_id="m-1")
    # The provider sends the same message again under a new event id, among new messages.
    stored(api_channel, "m-2")
    stored(api_channel, "m-1", event_id="m-1-again")
    stored(api_channel, "m-3")

    outcomes = inbound_events_process_batch(limit=10)

    assert {outcome.state for _pk, outcome in outcomes} == {"done"}
    assert Message.objects.filter(external_id="m-1").count() == 1
    assert InboundEvent.objects.get(provider_event_id="m-1-again").result == {"message_ids": [first.pk]}
    ticket = Ticket.objects.get()
    assert list(ticket.messages.order_by("pk").values_list("external_id", flat=True)) == ["m-1", "m-2", "m-3"]
    assert seqs_of(ticket) == list(range(1, ticket.seq + 1))
    assert ticket.events.filter(type="message.created").count() == 3


@pytest.mark.django_db
def test_two_copies_inside_one_batch_file_one_message(api_channel: ChannelAccount) -> None:
    stored(api_channel, "m-0")
    inbound_events_process_batch(limit=10)
    stored(api_channel, "m-1")
    stored(api_channel, "m-1", event_id="m-1-copy")

    inbound_events_process_batch(limit=10)

    assert Message.objects.filter(external_id="m-1").count() == 1
    assert set(InboundEvent.objects.values_list("state", flat=True)) == {"done"}


@pytest.mark.django_db
def test_a_pending_ticket_reopens_and_a_merged_contact_files_on_its_target(
    api_channel: ChannelAccount,
) -> None:
    stored(api_channel, "a-0", customer="anna")
    stored(api_channel, "b-0", customer="bruno")
    drain.inbound_events_drain(slot=0)
    anna = Ticket.objects.get(contact__identities__value="anna@example.com")
    Ticket.objects.filter(pk=anna.pk).update(status=Ticket.Status.PENDING, awaiting_agent_since=None)
    bruno = Contact.objects.get(identities__value="bruno@example.com")
    target = Contact.objects.get(identities__value="anna@example.com")
    # A merge left half-way: bruno points at anna but still owns his identities.
    Contact.objects.filter(pk=bruno.pk).update(merged_into=target)
    Ticket.objects.filter(contact=bruno).update(status=Ticket.Status.SOLVED)

    stored(api_channel, "a-1", customer="anna")
    stored(api_channel, "b-1", customer="bruno")
    drain.inbound_events_drain(slot=0)

    anna.refresh_from_db()
    assert anna.status == Ticket.Status.OPEN
    assert anna.awaiting_agent_since is not None
    assert Message.objects.get(external_id="b-1").ticket_id == anna.pk


@pytest.mark.django_db
def test_new_customers_in_a_batch_get_contact_identities_and_ticket_together(
    api_channel: ChannelAccount, bob: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Team.objects.filter(pk=api_channel.default_team_id).update(assignment_strategy=Team.Strategy.LEAST_LOADED)
    AgentProfile.objects.filter(user=bob).update(presence=AgentProfile.Presence.ONLINE)
    for customer in range(8):
        stored(api_channel, f"first-{customer}", customer=f"n{customer}")
    for customer in range(3):
        stored(api_channel, f"second-{customer}", customer=f"n{customer}")

    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        outcomes = inbound_events_process_batch(limit=50)

    assert [outcome.state for _pk, outcome in outcomes] == ["done"] * 11
    assert Contact.objects.count() == 8
    for customer in range(8):
        contact = Contact.objects.get(identities__value=f"n{customer}@example.com")
        assert contact.name == f"Cliente n{customer}"
        kinds = dict(contact.identities.values_list("kind", "verified"))
        assert kinds == {"api": True, "email": True}  # the channel trusts the integrator's identities
        ticket = Ticket.objects.get(contact=contact)
        assert ticket.team_id == api_channel.default_team_id
        assert ticket.origin_channel_id == api_channel.pk
        expected = [f"first-{customer}"] + ([f"second-{customer}"] if customer < 3 else [])
        assert list(ticket.messages.order_by("pk").values_list("external_id", flat=True)) == expected
        types = list(ticket.events.order_by("seq").values_list("type", flat=True))
        assert types[:2] == ["ticket.created", "message.created"]
        assert seqs_of(ticket) == list(range(1, ticket.seq + 1))
        # Routed like any new ticket: the routing task queued on commit assigns the online agent.
        assert ticket.assignee_id == bob.pk
        assert ticket.awaiting_agent_since is not None
    # Contacts, identities and tickets are three inserts for all eight customers, not eight each.
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert sum(1 for sql in inserts if '"tickets_contact"' in sql.split("(")[0]) == 1
    assert sum(1 for sql in inserts if '"tickets_ticket"' in sql.split("(")[0]) == 1


@pytest.mark.django_db
def test_a_new_sender_whose_email_is_known_is_left_to_contact_resolution(api_channel: ChannelAccount) -> None:
    stored(api_channel, "m-0", customer="old")
    inbound_events_process_batch(limit=10)
    # A different integrator id with the same (trusted, verified) email: the one-by-one path decides
    # which contact it is, never a second contact created here.
    stored(
        api_channel,
        "m-1",
        customer="new-id",
        sender={"id": "new-id", "name": "Cliente old", "email": "old@example.com"},
    )

    inbound_events_process_batch(limit=10)

    assert Contact.objects.count() == 1
    assert Message.objects.get(external_id="m-1").ticket == Ticket.objects.get()


@pytest.mark.django_db
def test_new_tickets_of_a_batch_are_routed_by_one_task(
    real_broker: str, api_channel: ChannelAccount, django_capture_on_commit_callbacks: Any
) -> None:
    for customer in range(4):
        stored(api_channel, f"first-{customer}", customer=f"n{customer}")

    with django_capture_on_commit_callbacks(execute=True):
        inbound_events_process_batch(limit=50)

    broker = redis.Redis.from_url(real_broker)
    assert queued_task_args(broker, "routing", "tickets.tasks.route_ticket") == []
    routed = queued_task_args(broker, "routing", "tickets.tasks.route_tickets")
    assert routed == [sorted(Ticket.objects.values_list("pk", flat=True))]
