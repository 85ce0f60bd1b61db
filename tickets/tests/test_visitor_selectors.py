"""A visitor reads their own conversation as plain data: never a note, never another's, in fixed queries."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_in.models import ChannelAccount
from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
from tickets.models import Ticket
from tickets.services.ingest import ingest_inbound_message
from tickets.services.messages import message_send_reply, note_add
from tickets.visitor_selectors import (
    VisitorMessage,
    visitor_attachment,
    visitor_catch_up,
    visitor_messages_by_id,
    visitor_open_ticket_id,
)

pytestmark = pytest.mark.django_db


def visitor_writes(account: ChannelAccount, visitor_id: str, text: str, number: int) -> Ticket:
    return ingest_inbound_message(
        inbound=InboundMessage(
            channel_account_id=account.pk,
            external_id=f"{visitor_id}:c-{number:08d}",
            sender=IdentityClaim(IdentityKind.WEBCHAT, visitor_id),
            text=text,
        )
    ).ticket


def test_the_conversation_comes_as_data_without_notes(api_channel: ChannelAccount, alice: User) -> None:
    ticket = visitor_writes(api_channel, "v-maria0001", "ciao", 1)
    reply = message_send_reply(ticket=ticket, author=alice, text="Buongiorno!")
    note_add(ticket=ticket, author=alice, text="internal: VIP customer")

    messages, marks = visitor_catch_up(visitor_id="v-maria0001", marks={})

    assert all(isinstance(message, VisitorMessage) for message in messages)
    assert [(m.inbound, m.text, m.author) for m in messages] == [
        (True, "ciao", ""),
        (False, "Buongiorno!", "Alice"),
    ]
    assert messages[0].external_id == "v-maria0001:c-00000001"
    ticket.refresh_from_db()
    assert marks == {ticket.pk: ticket.seq}
    assert visitor_messages_by_id(visitor_id="v-maria0001", message_ids=[reply.pk])[0].text == "Buongiorno!"
    assert visitor_messages_by_id(visitor_id="v-luigi0001", message_ids=[reply.pk]) == []
    assert visitor_open_ticket_id(account_id=api_channel.pk, visitor_id="v-maria0001") == ticket.pk
    assert visitor_open_ticket_id(account_id=api_channel.pk, visitor_id="v-luigi0001") is None


def test_catch_up_costs_the_same_queries_for_one_or_many_messages(
    api_channel: ChannelAccount, alice: User
) -> None:
    ticket = visitor_writes(api_channel, "v-maria0001", "first", 1)
    _, marks = visitor_catch_up(visitor_id="v-maria0001", marks={})

    def queries(with_marks: dict[int, int]) -> int:
        with CaptureQueriesContext(connection) as captured:
            visitor_catch_up(visitor_id="v-maria0001", marks=with_marks)
        return len(captured)

    message_send_reply(ticket=ticket, author=alice, text="reply 1")
    whole, after_mark = queries({}), queries(marks)
    for number in range(2, 8):
        visitor_writes(api_channel, "v-maria0001", f"again {number}", number)
        message_send_reply(ticket=ticket, author=alice, text=f"reply {number}")
    assert queries({}) == whole
    assert queries(marks) == after_mark
    assert len(visitor_catch_up(visitor_id="v-maria0001", marks=marks)[0]) == 13


def test_a_file_is_only_for_its_own_visitor_and_chat(api_channel: ChannelAccount) -> None:
    visitor_writes(api_channel, "v-maria0001", "ciao", 1)

    assert visitor_attachment(account_id=api_channel.pk, visitor_id="v-luigi0001", attachment_id=1) is None
    assert visitor_attachment(account_id=api_channel.pk, visitor_id="v-maria0001", attachment_id=0) is None
