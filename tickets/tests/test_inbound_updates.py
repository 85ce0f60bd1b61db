"""Statuses, edits, deletions and reactions, filed through ``inbound_items_file`` like any item."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from channels_in.models import ChannelAccount
from tickets import event_schema
from tickets.events import Publication
from tickets.inbound import (
    DeliveryStatus,
    Filed,
    IdentityClaim,
    IdentityKind,
    InboundItem,
    InboundMessage,
    MessageDelete,
    MessageEdit,
    Reaction,
)
from tickets.models import AgentProfile, Message, Ticket, TicketEvent
from tickets.services.inbound_file import inbound_items_file
from tickets.services.messages import message_send_reply

pytestmark = pytest.mark.django_db


@contextmanager
def _published(capture: Any) -> Iterator[list[Publication]]:
    out: list[Publication] = []
    with capture(execute=False) as callbacks:
        yield out
    out.extend(item for item in callbacks if isinstance(item, Publication))
    for item in out:
        event_schema.check_event(item.event, for_visitor=item.groups[0].startswith("visitor."))


@pytest.fixture
def published(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    return lambda: _published(django_capture_on_commit_callbacks)


def _file(account: ChannelAccount, *items: InboundItem) -> list[Filed]:
    return inbound_items_file(items=[(item, account) for item in items])


def _customer(account: ChannelAccount) -> IdentityClaim:
    return IdentityClaim(IdentityKind.API, f"{account.pk}:maria", verified=True)


def _customer_writes(account: ChannelAccount, external_id: str, text: str) -> Message:
    (filed,) = _file(
        account,
        InboundMessage(
            channel_account_id=account.pk, external_id=external_id, sender=_customer(account), text=text
        ),
    )
    return Message.objects.get(pk=filed.message_id)


def _our_reply(account: ChannelAccount, alice: User, provider_id: str) -> Message:
    ticket = _customer_writes(account, "m-1", "Il pacco non arriva").ticket
    reply = message_send_reply(ticket=ticket, author=alice, text="Lo cerchiamo subito")
    Message.objects.filter(pk=reply.pk).update(external_id=provider_id, status=Message.Status.SENT)
    reply.refresh_from_db()
    return reply


def _status(account: ChannelAccount, state: str, provider_id: str = "out-1", **fields: Any) -> DeliveryStatus:
    return DeliveryStatus(channel_account_id=account.pk, state=state, message_ids=[provider_id], **fields)


def test_statuses_move_our_message_forward_only(
    api_channel: ChannelAccount, alice: User, published: Any
) -> None:
    reply = _our_reply(api_channel, alice, "out-1")

    with published() as out:
        filed = _file(api_channel, _status(api_channel, "delivered"), _status(api_channel, "read"))
    reply.refresh_from_db()
    assert [item.message_id for item in filed] == [reply.pk, reply.pk]
    assert reply.status == Message.Status.READ
    assert [item.event["data"]["status"] for item in out if item.event["type"] == "message.status"] == [
        "delivered",
        "read",
    ]

    # Late news changes nothing: read stays read, and a failure after it is stale.
    with published() as late:
        again = _file(
            api_channel, _status(api_channel, "delivered"), _status(api_channel, "failed", code="131026")
        )
    reply.refresh_from_db()
    assert reply.status == Message.Status.READ and reply.failure_reason == ""
    assert [item.message_id for item in again] == [reply.pk, reply.pk]
    assert not late
    assert TicketEvent.objects.filter(type="message.status", payload__message_id=reply.pk).count() == 2


def test_a_failure_is_recorded_with_its_reason(
    api_channel: ChannelAccount, alice: User, published: Any
) -> None:
    reply = _our_reply(api_channel, alice, "out-1")

    with published() as out:
        _file(
            api_channel, _status(api_channel, "failed", code="131047", diagnostic="outside the reply window")
        )

    reply.refresh_from_db()
    assert reply.status == Message.Status.FAILED
    assert reply.failure_reason == "delivery failed: 131047 outside the reply window"
    (event,) = [item.event for item in out if item.event["type"] == "message.status"]
    assert event["data"] == {"message_id": reply.pk, "status": "failed", "reason": reply.failure_reason}


def test_a_status_about_a_message_we_do_not_hold_is_set_aside_with_its_reason(
    api_channel: ChannelAccount, alice: User
) -> None:
    reply = _our_reply(api_channel, alice, "out-1")

    (filed,) = _file(api_channel, _status(api_channel, "read", provider_id="someone-elses"))

    assert filed.message_id is None and filed.code == "status_unmatched"
    assert filed.reason.startswith("status_unmatched: ") and "someone-elses" in filed.reason
    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT


def test_an_edit_replaces_the_text_and_keeps_the_previous_one(
    api_channel: ChannelAccount, published: Any
) -> None:
    message = _customer_writes(api_channel, "m-1", "Il pacco non arriva")
    edited_at = timezone.now() + timedelta(minutes=2)

    with published() as out:
        (filed,) = _file(
            api_channel,
            MessageEdit(
                channel_account_id=api_channel.pk,
                external_id="m-1",
                text="Il pacco 4411 non arriva",
                html="<p>Il pacco <b>4411</b> non arriva<script>x()</script></p>",
                edited_at=edited_at,
            ),
        )

    message.refresh_from_db()
    assert filed.message_id == message.pk and filed.ticket_id == message.ticket_id
    assert message.text == "Il pacco 4411 non arriva"
    assert "<script>" not in message.html and "<b>4411</b>" in message.html
    assert message.edited_at == edited_at
    assert message.metadata["edits"] == [
        {"text": "Il pacco non arriva", "html": "", "until": edited_at.isoformat()}
    ]
    (event,) = [item for item in out if item.event["type"] == "message.edited"]
    assert event.event["data"] == {
        "message_id": message.pk,
        "text": "Il pacco 4411 non arriva",
        "edited_at": edited_at.isoformat(),
    }
    assert f"ticket.{message.ticket_id}" in event.groups
    assert TicketEvent.objects.filter(ticket=message.ticket, type="message.edited").count() == 1

    # The same edit delivered twice is one edit.
    _file(
        api_channel,
        MessageEdit(
            channel_account_id=api_channel.pk, external_id="m-1", text=message.text, html=message.html
        ),
    )
    message.refresh_from_db()
    assert len(message.metadata["edits"]) == 1


def test_a_deleted_message_stays_marked_deleted(api_channel: ChannelAccount, published: Any) -> None:
    message = _customer_writes(api_channel, "m-1", "Il mio IBAN è IT60X0542811101000000123456")

    with published() as out:
        (filed,) = _file(api_channel, MessageDelete(channel_account_id=api_channel.pk, external_id="m-1"))
        (again,) = _file(api_channel, MessageDelete(channel_account_id=api_channel.pk, external_id="m-1"))

    message.refresh_from_db()
    assert filed.message_id == again.message_id == message.pk
    assert message.deleted_at is not None
    assert message.text.startswith("Il mio IBAN")
    (event,) = [item.event for item in out]
    assert event["type"] == "message.deleted"
    assert event["data"] == {"message_id": message.pk, "deleted_at": message.deleted_at.isoformat()}


def test_a_reaction_is_recorded_and_taken_back(
    api_channel: ChannelAccount, alice: User, published: Any
) -> None:
    reply = _our_reply(api_channel, alice, "out-1")
    like = Reaction(
        channel_account_id=api_channel.pk, external_id="out-1", sender=_customer(api_channel), emoji="👍"
    )

    with published() as out:
        _file(api_channel, like, like)
    reply.refresh_from_db()
    assert reply.metadata["reactions"] == [{"kind": "api", "value": f"{api_channel.pk}:maria", "emoji": "👍"}]
    (event,) = [item.event for item in out]
    assert event["type"] == "message.reaction"
    assert event["data"] == {
        "message_id": reply.pk,
        "emoji": "👍",
        "added": True,
        "identity_kind": "api",
        "identity_value": f"{api_channel.pk}:maria",
    }

    with published() as out:
        _file(
            api_channel,
            Reaction(
                channel_account_id=api_channel.pk,
                external_id="out-1",
                sender=_customer(api_channel),
                emoji="👍",
                removed=True,
            ),
        )
    reply.refresh_from_db()
    assert reply.metadata["reactions"] == []
    assert [item.event["data"]["added"] for item in out] == [False]


@pytest.mark.parametrize(
    ("item", "code"),
    [
        (lambda pk: MessageEdit(channel_account_id=pk, external_id="nope", text="x"), "edit_unmatched"),
        (lambda pk: MessageDelete(channel_account_id=pk, external_id="nope"), "delete_unmatched"),
        (
            lambda pk: Reaction(
                channel_account_id=pk,
                external_id="nope",
                sender=IdentityClaim(IdentityKind.API, "x"),
                emoji="❤",
            ),
            "reaction_unmatched",
        ),
    ],
)
def test_an_item_about_an_unknown_message_is_set_aside(
    api_channel: ChannelAccount, item: Callable[[int], InboundItem], code: str
) -> None:
    _customer_writes(api_channel, "m-1", "Ciao")

    (filed,) = _file(api_channel, item(api_channel.pk))

    assert filed.message_id is None and filed.code == code and filed.reason.startswith(f"{code}: ")
    assert (
        TicketEvent.objects.filter(type__in=["message.edited", "message.deleted", "message.reaction"]).count()
        == 0
    )
    assert Ticket.objects.count() == 1


def test_the_ticket_page_shows_a_message_edited_or_deleted(
    client: Any, alice: User, api_channel: ChannelAccount
) -> None:
    kept = _customer_writes(api_channel, "m-1", "Il pacco non arriva")
    _customer_writes(api_channel, "m-2", "Il mio IBAN è IT60X0542811101000000123456")
    _file(
        api_channel,
        MessageEdit(channel_account_id=api_channel.pk, external_id="m-1", text="Il pacco 4411 non arriva"),
        MessageDelete(channel_account_id=api_channel.pk, external_id="m-2"),
    )
    AgentProfile.objects.filter(user=alice).update(ui_language="en")
    client.force_login(alice)

    page = client.get(f"/tickets/{kept.ticket_id}/").content.decode()

    assert "Il pacco 4411 non arriva" in page and 'data-testid="message-edited"' in page
    assert 'data-testid="message-deleted"' in page and "deleted by the customer" in page
    # Shown as the messages' state, not as audit lines of their own.
    assert "message.edited" not in page and "message.deleted" not in page
