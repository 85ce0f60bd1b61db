"""First messages (each a new conversation, a ticket to be) are budgeted per client address and channel."""

from __future__ import annotations

from typing import Any

import pytest

from channels_in.models import ChannelAccount, InboundEvent
from channels_in.webchat import intake
from channels_in.webchat.schemas import config_parse
from channels_in.webchat.tests.conftest import SHOP
from channels_in.webchat.tokens import Visitor, anonymous_visitor_id


def write(account: ChannelAccount, visitor: Visitor, client_id: str, address: str) -> Any:
    return intake.visitor_message_record(
        account=account,
        config=config_parse(account.config),
        visitor=visitor,
        client_id=client_id,
        text="hello",
        client_address=address,
    )


def new_visitor(account: ChannelAccount) -> Visitor:
    return Visitor(anonymous_visitor_id(), account.pk, SHOP)


@pytest.mark.django_db
def test_first_messages_beyond_the_budget_of_an_address_are_refused_and_store_nothing(
    webchat: ChannelAccount, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.WEBCHAT_FIRST_MESSAGES_PER_ADDRESS = 3
    talkers = [new_visitor(webchat) for _ in range(3)]
    for number, visitor in enumerate(talkers):
        write(webchat, visitor, f"first-{number:04d}", "203.0.113.7")

    with pytest.raises(intake.IntakeRefused) as refused:
        write(webchat, new_visitor(webchat), "first-9999", "203.0.113.7")

    assert refused.value.code == "rate_limited" and refused.value.retry_after >= 1
    assert InboundEvent.objects.count() == 3
    # Visitors already talking go on; another address starts a conversation.
    write(webchat, talkers[0], "second-0001", "203.0.113.7")
    write(webchat, new_visitor(webchat), "first-0001", "198.51.100.9")
    assert InboundEvent.objects.count() == 5


@pytest.mark.django_db
def test_first_messages_beyond_the_budget_of_a_channel_are_refused(webchat: ChannelAccount, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBCHAT_FIRST_MESSAGES_PER_CHANNEL = 2
    for number in range(2):
        write(webchat, new_visitor(webchat), f"first-{number:04d}", f"192.0.2.{number + 1}")

    with pytest.raises(intake.IntakeRefused):
        write(webchat, new_visitor(webchat), "first-0009", "192.0.2.99")
    assert InboundEvent.objects.count() == 2
