"""Visitor messages from record to ticket, and agent replies back to the visitor's group."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import User

from channels_in.models import ChannelAccount, InboundEvent
from channels_in.webchat import intake
from channels_in.webchat.schemas import config_parse
from channels_in.webchat.tests.conftest import SHOP
from channels_in.webchat.tokens import Visitor, anonymous_visitor_id
from tickets import events
from tickets.event_schema import check_event
from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
from tickets.models import Attachment, ContactIdentity, MergeSuggestion, Message
from tickets.services.ingest import ingest_inbound_message
from tickets.services.messages import message_send_reply

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def record(django_capture_on_commit_callbacks) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    """Record a visitor message and run what follows the commit (the ingest task, in-process here)."""

    def run(account: ChannelAccount, visitor: Visitor, client_id: str, text: str = "", **kw: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return intake.visitor_message_record(
                account=account,
                config=config_parse(account.config),
                visitor=visitor,
                client_id=client_id,
                text=text,
                client_address=kw.pop("client_address", "203.0.113.7"),
                **kw,
            )

    return run


def receive(layer: Any, channel: str) -> dict[str, Any]:
    async def bounded() -> dict[str, Any]:
        return await asyncio.wait_for(layer.receive(channel), 10)

    return async_to_sync(bounded)()


def visitor_of(account: ChannelAccount, **fields: str) -> Visitor:
    return Visitor(anonymous_visitor_id(), account.pk, SHOP, **fields)


@pytest.mark.django_db
def test_a_visitor_message_is_recorded_then_filed_on_a_ticket(webchat: ChannelAccount, record) -> None:  # type: ignore[no-untyped-def]
    visitor = visitor_of(webchat, name="Maria Rossi")

    recorded = record(webchat, visitor, "client-0001", "Il pacco non è arrivato")

    assert recorded.created
    event = InboundEvent.objects.get()
    assert event.provider_event_id == f"{visitor.visitor_id}:client-0001"
    assert event.state == InboundEvent.State.DONE
    message = Message.objects.get()
    assert message.external_id == f"{visitor.visitor_id}:client-0001"
    assert message.text == "Il pacco non è arrivato"
    assert message.channel_account == webchat
    assert (message.identity.kind, message.identity.value) == (IdentityKind.WEBCHAT, visitor.visitor_id)
    assert message.ticket.contact.name == "Maria Rossi"
    assert message.ticket.team == webchat.default_team
    assert message.metadata == {"origin": SHOP, "answer_by_email": False}


@pytest.mark.django_db
def test_the_same_client_id_twice_files_one_message(webchat: ChannelAccount, record) -> None:  # type: ignore[no-untyped-def]
    visitor = visitor_of(webchat)

    first = record(webchat, visitor, "client-0002", "ciao")
    again = record(webchat, visitor, "client-0002", "ciao")

    assert first.created and not again.created
    assert again.event.pk == first.event.pk
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_two_visitors_may_use_the_same_client_id(webchat: ChannelAccount, record) -> None:  # type: ignore[no-untyped-def]
    record(webchat, visitor_of(webchat), "same-client-id", "one")
    record(webchat, visitor_of(webchat), "same-client-id", "two")

    assert sorted(Message.objects.values_list("text", flat=True)) == ["one", "two"]
    assert Message.objects.values("ticket__contact").distinct().count() == 2


@pytest.mark.django_db
def test_a_prechat_email_links_for_agents_but_joins_no_one(webchat: ChannelAccount, record) -> None:  # type: ignore[no-untyped-def]
    owner = ingest_inbound_message(
        inbound=InboundMessage(
            channel_account_id=webchat.pk,
            external_id="owner-1",
            sender=IdentityClaim(IdentityKind.WEBCHAT, anonymous_visitor_id()),
            other_identities=[IdentityClaim(IdentityKind.EMAIL, "maria@example.com", verified=True)],
            text="the real Maria",
        )
    ).ticket.contact

    record(webchat, visitor_of(webchat, email="maria@example.com"), "client-0003", "I am Maria, honest")

    claimed = Message.objects.get(text="I am Maria, honest").ticket.contact
    assert claimed != owner
    assert MergeSuggestion.objects.filter(contact=claimed, candidate=owner).exists()
    assert ContactIdentity.objects.get(kind=IdentityKind.EMAIL).contact == owner


@pytest.mark.django_db
def test_a_verified_visitor_joins_their_contact(webchat: ChannelAccount, record) -> None:  # type: ignore[no-untyped-def]
    owner = ingest_inbound_message(
        inbound=InboundMessage(
            channel_account_id=webchat.pk,
            external_id="owner-2",
            sender=IdentityClaim(IdentityKind.WEBCHAT, anonymous_visitor_id()),
            other_identities=[IdentityClaim(IdentityKind.EMAIL, "maria@example.com", verified=True)],
            text="earlier",
        )
    ).ticket.contact
    visitor = Visitor("u-" + "a" * 40, webchat.pk, SHOP, user_id="77", verified_email="maria@example.com")

    record(webchat, visitor, "client-0004", "signed in now")

    message = Message.objects.get(text="signed in now")
    assert message.ticket.contact == owner
    assert message.identity.verified


@pytest.mark.django_db
def test_an_image_is_stored_with_the_message(webchat: ChannelAccount, record, media_root) -> None:  # type: ignore[no-untyped-def]
    upload = intake.Upload("photo.png", "image/png", PNG)

    record(webchat, visitor_of(webchat), "client-0005", "", uploads=[upload])

    stored = Attachment.objects.get()
    assert (stored.filename, stored.content_type, stored.size) == ("photo.png", "image/png", len(PNG))
    assert stored.file.read() == PNG


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (intake.Upload("big.png", "image/png", PNG + b"\x00" * 6000), "attachment_too_large"),
        (intake.Upload("page.html", "text/html", b"<script>alert(1)</script>"), "attachment_type"),
        (intake.Upload("fake.png", "image/png", b"<html><script>alert(1)</script>"), "attachment_type"),
    ],
)
@pytest.mark.django_db
def test_bad_attachments_are_refused_before_anything_is_stored(
    record,  # type: ignore[no-untyped-def]
    upload: intake.Upload,
    code: str,
    billing,  # type: ignore[no-untyped-def]
) -> None:
    from channels_in.webchat.tests.conftest import make_webchat_channel

    account = make_webchat_channel(team=billing, max_attachment_bytes=4096)

    with pytest.raises(intake.IntakeRefused) as refused:
        record(account, visitor_of(account), "client-0006", "see file", uploads=[upload])

    assert refused.value.code == code
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_a_flood_from_one_visitor_is_refused_and_spares_the_others(webchat: ChannelAccount, record) -> None:  # type: ignore[no-untyped-def]
    flooder = visitor_of(webchat)
    codes = []
    for number in range(30):
        try:
            record(webchat, flooder, f"flood-{number:04d}", f"spam {number}")
            codes.append("ok")
        except intake.IntakeRefused as refused:
            codes.append(refused.code)

    assert codes[:10] == ["ok"] * 10
    assert "rate_limited" in codes[10:]
    record(webchat, visitor_of(webchat), "calm-0001", "hello")
    assert Message.objects.filter(text="hello").exists()


@pytest.mark.django_db
def test_an_agent_reply_is_sent_to_the_visitor_group(  # type: ignore[no-untyped-def]
    webchat: ChannelAccount, record, alice: User, django_capture_on_commit_callbacks
) -> None:
    visitor = visitor_of(webchat)
    record(webchat, visitor, "client-0007", "help")
    ticket = Message.objects.get().ticket
    layer = get_channel_layer()
    inbox = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(events.visitor_group(visitor.visitor_id), inbox)

    with django_capture_on_commit_callbacks(execute=True):
        reply = message_send_reply(ticket=ticket, author=alice, text="Ecco la risposta")

    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT
    assert reply.external_id == f"reply-{reply.pk}"
    received = [receive(layer, inbox) for _ in range(2)]
    assert [item["kind"] for item in received] == ["message.created", "message.sent"]
    assert all(json.loads(item["text"])["data"]["id"] == reply.pk for item in received)
    for item in received:
        check_event(json.loads(item["text"]), for_visitor=True)


@pytest.mark.django_db
def test_agent_typing_reaches_the_visitor_without_naming_the_agent(  # type: ignore[no-untyped-def]
    webchat: ChannelAccount, record, django_capture_on_commit_callbacks
) -> None:
    from tickets.services.presence import typing_announce

    visitor = visitor_of(webchat)
    record(webchat, visitor, "client-0008", "anyone there?")
    ticket = Message.objects.get().ticket
    layer = get_channel_layer()
    inbox = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(events.visitor_group(visitor.visitor_id), inbox)

    with django_capture_on_commit_callbacks(execute=True):
        typing_announce(ticket_id=ticket.pk, user_id=99, state=True)

    received = receive(layer, inbox)
    event = json.loads(received["text"])
    assert received["kind"] == "visitor.typing"
    assert set(event) == {"type", "ticket_id", "state", "at"}
    assert (event["ticket_id"], event["state"]) == (ticket.pk, True)
    check_event(event, for_visitor=True)
