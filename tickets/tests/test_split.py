"""Splitting a customer's message into a new ticket (``tickets.services.split``), on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from channels_in.models import ChannelAccount
from tests.fixtures.browser import customer_writes
from tickets import event_schema
from tickets.events import Publication
from tickets.inbound import EmailDetails, IdentityClaim, IdentityKind, InboundMessage
from tickets.models import AgentProfile, Attachment, Message, Team, Ticket, TicketEvent
from tickets.services.attachments import attachment_file_save
from tickets.services.ingest import ingest_inbound_message
from tickets.services.ingest_batch import ingest_batch
from tickets.services.messages import note_add
from tickets.services.split import message_split
from tickets.services.ticket_merge import ticket_merge, ticket_unmerge
from tickets.services.tickets import StaleUpdate, ticket_update
from tickets.views.timeline import describe

pytestmark = pytest.mark.django_db


def two_cases(account: ChannelAccount) -> tuple[Ticket, Message]:
    ticket = customer_writes(account, "Il pacco è arrivato rotto", subject="Pacco rotto")
    customer_writes(account, "Anche la fattura è sbagliata\nè del mese scorso")
    second = ticket.messages.order_by("-sent_at", "-id").first()
    assert second is not None
    ticket.refresh_from_db()
    return ticket, second


def test_split_moves_the_message_and_its_files_to_a_linked_ticket(
    api_channel: ChannelAccount, alice: User, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    ticket, message = two_cases(api_channel)
    attachment = Attachment(message=message, filename="fattura.pdf", content_type="application/pdf")
    attachment_file_save(attachment=attachment, content=b"%PDF-1.4 fattura")
    attachment.save()

    new = message_split(message=message, actor=alice, expected_seq=ticket.seq)

    message.refresh_from_db()
    assert message.ticket_id == new.pk
    assert Attachment.objects.get(pk=attachment.pk).message.ticket_id == new.pk
    assert new.split_from_id == ticket.pk and new.contact_id == ticket.contact_id
    assert new.subject == "Anche la fattura è sbagliata"
    assert new.status == Ticket.Status.NEW and new.team_id == ticket.team_id
    assert new.awaiting_agent_since == message.sent_at
    assert list(ticket.messages.values_list("text", flat=True)) == ["Il pacco è arrivato rotto"]

    split = TicketEvent.objects.get(ticket=ticket, type="ticket.split")
    assert split.payload["ticket_id"] == new.pk and split.payload["message_id"] == message.pk
    assert split.actor_id == alice.pk
    created = TicketEvent.objects.get(ticket=new, type="ticket.created")
    assert created.reason_data == {"code": "ticket.split_from", "values": {"ticket": ticket.pk, "note": ""}}
    assert created.actor_id == alice.pk
    with translation.override("en"):
        assert created.reason_text == f"split from #{ticket.pk}"
    with translation.override("it"):
        assert created.reason_text == f"separato dal #{ticket.pk}"
    # The timeline names the original, from this row and from one written when reasons were text.
    assert f"#{ticket.pk}" in describe(created, users={}, teams={})
    created.reason_data, created.reason = {}, "split from #4242: old"
    assert "#4242" in describe(created, users={}, teams={})
    ticket.refresh_from_db()
    assert ticket.seq == split.seq and new.seq == created.seq


def test_new_customer_messages_keep_joining_the_primary_ticket(
    api_channel: ChannelAccount, alice: User
) -> None:
    ticket, message = two_cases(api_channel)
    new = message_split(message=message, actor=alice)
    later = customer_writes(api_channel, "ci siete?")
    assert later.pk == ticket.pk
    assert Ticket.objects.filter(contact=ticket.contact, status__in=Ticket.OPEN_STATUSES).count() == 2
    assert new.messages.count() == 1


def test_the_constraint_still_allows_only_one_primary_open_ticket(
    api_channel: ChannelAccount, alice: User
) -> None:
    ticket, message = two_cases(api_channel)
    message_split(message=message, actor=alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.create(contact=ticket.contact, subject="a second primary")


def test_split_is_routed_like_a_new_ticket(
    api_channel: ChannelAccount, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    ticket, message = two_cases(api_channel)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        new = message_split(message=message, actor=alice)
    published = [item for item in callbacks if isinstance(item, Publication)]
    for item in published:
        event_schema.check_event(item.event, for_visitor=False)
    by_type = {item.event["type"]: item for item in published}
    assert by_type["ticket.split"].event["ticket_id"] == ticket.pk
    assert f"ticket.{ticket.pk}" in by_type["ticket.split"].groups
    assert by_type["ticket.created"].event["ticket_id"] == new.pk
    assert f"team.{ticket.team_id}" in by_type["ticket.created"].groups


def test_the_new_ticket_is_routed_to_an_online_agent(
    api_channel: ChannelAccount, alice: User, bob: User, django_capture_on_commit_callbacks: Any
) -> None:
    ticket, message = two_cases(api_channel)
    Team.objects.filter(pk=ticket.team_id).update(assignment_strategy=Team.Strategy.LEAST_LOADED)
    AgentProfile.objects.filter(user=bob).update(presence=AgentProfile.Presence.ONLINE)
    # Tasks run eagerly in tests: the routing task enqueued on commit assigns the ticket at once.
    with django_capture_on_commit_callbacks(execute=True):
        new = message_split(message=message, actor=alice)
    new.refresh_from_db()
    assert new.assignee_id == bob.pk
    assert TicketEvent.objects.filter(ticket=new, type="ticket.assigned").exists()


def test_stale_split_is_refused_and_nothing_moves(
    api_channel: ChannelAccount, alice: User, bob: User
) -> None:
    ticket, message = two_cases(api_channel)
    seen = ticket.seq
    ticket_update(ticket=ticket, actor=bob, priority=Ticket.Priority.HIGH)
    with pytest.raises(StaleUpdate):
        message_split(message=message, actor=alice, expected_seq=seen)
    message.refresh_from_db()
    assert message.ticket_id == ticket.pk
    assert not Ticket.objects.filter(split_from=ticket).exists()


def test_a_message_split_twice_is_refused_the_second_time(api_channel: ChannelAccount, alice: User) -> None:
    ticket, message = two_cases(api_channel)
    stale_copy = Message.objects.get(pk=message.pk)
    message_split(message=message, actor=alice)
    with pytest.raises(ValidationError):
        # Read before the first split: it still names the original ticket.
        message_split(message=stale_copy, actor=alice)
    assert Ticket.objects.filter(split_from=ticket).count() == 1


def test_only_customer_messages_and_not_the_last_one(api_channel: ChannelAccount, alice: User) -> None:
    ticket = customer_writes(api_channel, "only one")
    with pytest.raises(ValidationError, match="only message"):
        message_split(message=ticket.messages.get(), actor=alice)
    note = note_add(ticket=ticket, author=alice, text="a note")
    with pytest.raises(ValidationError, match="customer"):
        message_split(message=note, actor=alice)


def test_split_ticket_can_be_solved_and_reopened_beside_the_primary(
    api_channel: ChannelAccount, alice: User
) -> None:
    _ticket, message = two_cases(api_channel)
    new = message_split(message=message, actor=alice)
    ticket_update(ticket=new, actor=alice, status=Ticket.Status.SOLVED)
    reopened = ticket_update(ticket=new, actor=alice, status=Ticket.Status.OPEN)
    assert reopened.status == Ticket.Status.OPEN


def test_drained_customer_messages_join_the_primary_not_the_split_ticket(
    api_channel: ChannelAccount, alice: User
) -> None:
    """Through the public inbound path (record, then drain), however it files messages internally."""
    import json

    from channels_in import drain
    from channels_in.api.tests.wire import payload
    from channels_in.models import InboundEvent

    def arrives(message_id: str) -> None:
        body = payload(message_id, sender={"id": "cust-42", "name": "Giulia Neri"}, text=message_id)
        InboundEvent.objects.create(
            channel_account=api_channel,
            provider_event_id=message_id,
            body=json.dumps(body).encode(),
            content_type="application/json",
        )

    arrives("m-1")
    arrives("m-2")
    drain.inbound_events_drain(slot=0)
    primary = Ticket.objects.get()
    split = message_split(message=primary.messages.get(text="m-2"), actor=alice)

    for number in range(3, 6):
        arrives(f"m-{number}")
    assert drain.inbound_events_drain(slot=0) == 3

    assert list(primary.messages.order_by("pk").values_list("text", flat=True)) == [
        "m-1",
        "m-3",
        "m-4",
        "m-5",
    ]
    assert list(split.messages.values_list("text", flat=True)) == ["m-2"]


def reply(account: ChannelAccount, text: str, **refs: Any) -> InboundMessage:
    """Maria answering in a mail thread, as the email adapter hands it over."""
    return InboundMessage(
        channel_account_id=account.pk,
        external_id=f"<{text}@mail.example>",
        sender=IdentityClaim(IdentityKind.API, f"{account.pk}:maria", verified=True),
        text=text,
        email=EmailDetails(**refs) if refs else None,
    )


def test_a_reply_in_the_split_tickets_thread_joins_it_on_both_paths(
    api_channel: ChannelAccount, alice: User
) -> None:
    ticket, message = two_cases(api_channel)
    new = message_split(message=message, actor=alice)
    Message.objects.filter(pk=message.pk).update(external_id="<fattura@mail.example>")

    by_refs = ingest_inbound_message(
        inbound=reply(api_channel, "la fattura corretta?", thread_refs=["<fattura@mail.example>"])
    )
    by_token = ingest_inbound_message(inbound=reply(api_channel, "allego il pdf", ticket_token=new.token))
    other = ingest_inbound_message(inbound=reply(api_channel, "e il pacco?"))

    assert by_refs.ticket.pk == by_token.ticket.pk == new.pk
    assert other.ticket.pk == ticket.pk
    # The set-based path files a plain message itself and leaves such a reply to the one-by-one path.
    batch = ingest_batch(
        [
            (reply(api_channel, "il corriere?"), api_channel),
            (reply(api_channel, "ancora la fattura", thread_refs=["<fattura@mail.example>"]), api_channel),
        ]
    )
    assert batch[0] is not None and batch[0].ticket_id == ticket.pk
    assert batch[1] is None


def test_a_reply_to_a_split_ticket_that_was_solved_goes_to_the_open_one(
    api_channel: ChannelAccount, alice: User
) -> None:
    ticket, message = two_cases(api_channel)
    new = message_split(message=message, actor=alice)
    Ticket.objects.filter(pk=new.pk).update(status=Ticket.Status.SOLVED)

    result = ingest_inbound_message(inbound=reply(api_channel, "grazie", ticket_token=new.token))

    assert result.ticket.pk == ticket.pk


def test_unmerging_the_primary_ticket_reopens_it_beside_a_split_one(
    api_channel: ChannelAccount, alice: User
) -> None:
    ticket, message = two_cases(api_channel)
    split = message_split(message=message, actor=alice)
    other = customer_writes(api_channel, "Un altro cliente", sender="luca", name="Luca Verdi")
    ticket_merge(source=ticket, target=other, actor=alice)

    ticket_unmerge(ticket=ticket, actor=alice)

    # Only primaries exclude each other: the open split ticket does not keep this one closed.
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW and ticket.merged_into_id is None
    assert Ticket.objects.primary_open().filter(contact_id=ticket.contact_id).get() == ticket
    split.refresh_from_db()
    assert split.is_open
