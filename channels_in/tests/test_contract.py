"""The adapter contract at work: route splits a delivery per account, fetch_media goes through the
port with the guarded client, and the audience of what a channel delivers is the channel's to say."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.test import Client

from channels_in.base import AdapterDefaults
from channels_in.models import ChannelAccount, InboundEvent
from channels_in.registry import ChannelKind, kind_add, kind_remove
from tests.fixtures.browser import customer_writes
from tests.fixtures.channels import FANOUT_WEBHOOK, make_test_account
from tests.fixtures.http_peer import HttpPeer, Reply
from tickets import events
from tickets.channel_port import Audience, MediaFailure, MediaUnavailable, channel_for
from tickets.inbound import IdentityKind
from tickets.models import Message
from tickets.services.messages import note_add

pytestmark = pytest.mark.django_db


@pytest.mark.urls("tests.fixtures.channels")
@pytest.mark.usefixtures("test_channels")
def test_one_delivery_for_two_accounts_is_stored_as_two_events(client: Client) -> None:
    first = make_test_account("fanout", "page-a", app_secret="app-secret")
    second = make_test_account("fanout", "page-b", app_secret="app-secret")
    body = {
        "entries": [
            {"page": "page-a", "id": "e-1", "from": "u1", "text": "ciao"},
            {"page": "page-b", "id": "e-2", "from": "u2", "text": "salve"},
            # A page this installation does not serve is not ours to store.
            {"page": "page-elsewhere", "id": "e-3", "from": "u3", "text": "?"},
        ]
    }

    def deliver() -> dict[str, object]:
        answer = client.post(
            FANOUT_WEBHOOK,
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": "Bearer app-secret"},
        )
        assert answer.status_code == 202
        return answer.json()

    accepted = deliver()
    stored = InboundEvent.objects.order_by("provider_event_id")
    assert [(event.channel_account_id, event.provider_event_id) for event in stored] == [
        (first.pk, "fanout:e-1"),
        (second.pk, "fanout:e-2"),
    ]
    assert json.loads(bytes(stored[1].body))["text"] == "salve"
    assert accepted == {"events": [{"event_id": event.pk, "status": "accepted"} for event in stored]}
    # The provider delivers again: acknowledged, nothing stored twice.
    assert deliver() == {"events": [{"event_id": event.pk, "status": "duplicate"} for event in stored]}
    assert InboundEvent.objects.count() == 2

    refused = client.post(FANOUT_WEBHOOK, json.dumps(body), content_type="application/json")
    assert (refused.status_code, refused.json()) == (401, {"error": "missing or wrong token"})
    assert client.get(FANOUT_WEBHOOK).status_code == 405


@pytest.fixture
def mailbox() -> ChannelAccount:
    return ChannelAccount.objects.create(
        kind=ChannelAccount.Kind.EMAIL, name="Help", key="help", config={"address": "help@example.com"}
    )


@pytest.mark.parametrize("kind", ["api", "email"])
def test_fetch_media_goes_through_the_port_and_the_guarded_client(
    kind: str, http_peer: HttpPeer, api_channel: ChannelAccount, mailbox: ChannelAccount, settings
) -> None:  # type: ignore[no-untyped-def]
    account = {"api": api_channel, "email": mailbox}[kind]
    channel = channel_for(kind)
    http_peer.script("/photo.png", then=Reply(200, b"pixels", content_type="image/png"))
    http_peer.script("/gone.png", then=Reply(404))
    http_peer.script("/busy.png", then=Reply(503))

    assert channel.fetch_media(account=account, ref=http_peer.url("/photo.png")) == b"pixels"
    with pytest.raises(MediaUnavailable) as gone:
        channel.fetch_media(account=account, ref=http_peer.url("/gone.png"))
    assert gone.value.failure == MediaFailure.GONE
    with pytest.raises(MediaUnavailable) as busy:
        channel.fetch_media(account=account, ref=http_peer.url("/busy.png"))
    assert busy.value.failure is None  # worth another try
    # An address inside our network is refused before any connection.
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(MediaUnavailable) as refused:
        channel.fetch_media(account=account, ref=http_peer.url("/photo.png"))
    assert refused.value.failure == MediaFailure.REFUSED
    assert len(http_peer.received("/photo.png")) == 1


class WatchedChannel(AdapterDefaults):
    """A channel whose phone-number customers watch the conversation live (none we ship does)."""

    kind = "watched"
    audience = Audience(identity_kind=IdentityKind.PHONE)


@pytest.fixture
def watched() -> Iterator[ChannelAccount]:
    kind_add(
        ChannelKind(
            "watched",
            adapter="channels_in.tests.test_contract:WatchedChannel",
            config="tests.fixtures.channels:SmallChannelConfig",
        )
    )
    yield make_test_account("watched", "watched-1")
    kind_remove("watched")


def test_the_channel_says_who_sees_what_it_delivers(
    alice: object, api_channel: ChannelAccount, watched: ChannelAccount
) -> None:
    webchat = ChannelAccount.objects.create(kind=ChannelAccount.Kind.WEBCHAT, name="Chat", key="chat")
    chat = customer_writes(webchat, "hello", identity=(IdentityKind.WEBCHAT, "visitor-0001"))
    phone = customer_writes(watched, "pronto", identity=(IdentityKind.PHONE, "+393331234567"))
    mail = customer_writes(api_channel, "by api", sender="someone")

    assert events.message_visitor_groups(chat.messages.get()) == ["visitor.visitor-0001"]
    assert events.ticket_visitor_groups(chat.pk) == ["visitor.visitor-0001"]
    assert events.message_visitor_groups(phone.messages.get()) == ["visitor.393331234567"]
    assert events.ticket_visitor_groups(phone.pk) == ["visitor.393331234567"]
    assert events.message_visitor_groups(mail.messages.get()) == []
    assert events.ticket_visitor_groups(mail.pk) == []
    # A note is never the customer's, whatever the channel.
    note = note_add(ticket=chat, author=alice, text="internal")  # type: ignore[arg-type]
    assert events.message_visitor_groups(note) == []
    assert Message.objects.filter(ticket=chat).count() == 2
