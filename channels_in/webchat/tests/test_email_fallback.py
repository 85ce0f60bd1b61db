"""Nobody online: the visitor leaves an address and the agent answers from a mailbox."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from channels_in.models import ChannelAccount
from channels_in.webchat.adapter import provider_message_id
from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
from tickets.models import Ticket
from tickets.services.ingest import ingest_inbound_message
from tickets.services.messages import message_send_reply


def visitor_leaves(account: ChannelAccount, *, email: str) -> Ticket:
    others = [IdentityClaim(IdentityKind.EMAIL, email)] if email else []
    return ingest_inbound_message(
        inbound=InboundMessage(
            channel_account_id=account.pk,
            external_id=provider_message_id("v-away00001", "c-00000001"),
            sender=IdentityClaim(IdentityKind.WEBCHAT, "v-away00001"),
            other_identities=others,
            text="call me back",
            metadata={"answer_by_email": True},
        )
    ).ticket


@pytest.fixture
def mailbox(db: None) -> ChannelAccount:
    return ChannelAccount.objects.create(
        kind=ChannelAccount.Kind.EMAIL,
        name="Support",
        key="support",
        config={"address": "support@example.com"},
    )


@pytest.mark.django_db
def test_a_reply_from_the_mailbox_goes_to_the_address_the_visitor_left(
    webchat: ChannelAccount, mailbox: ChannelAccount, alice: User
) -> None:
    ticket = visitor_leaves(webchat, email="giulia@example.com")

    reply = message_send_reply(ticket=ticket, author=alice, text="Ecco", channel_account=mailbox)

    assert reply.channel_account == mailbox
    assert (reply.identity.kind, reply.identity.value) == (IdentityKind.EMAIL, "giulia@example.com")
    assert reply.ticket == ticket


@pytest.mark.django_db
def test_without_an_address_the_mailbox_has_nobody_to_answer(
    webchat: ChannelAccount, mailbox: ChannelAccount, alice: User
) -> None:
    ticket = visitor_leaves(webchat, email="")

    with pytest.raises(ValidationError):
        message_send_reply(ticket=ticket, author=alice, text="Ecco", channel_account=mailbox)
