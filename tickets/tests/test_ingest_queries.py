"""The ingest path's statement budget: every message pays it, so a new query here is a regression.

Counts are inside the test's transaction, so ``ingest_inbound_message``'s own transaction shows up as a
savepoint and its release (two statements) instead of BEGIN and COMMIT.
"""

from __future__ import annotations

import pytest
from pytest_django import DjangoAssertNumQueries

from channels_in.models import ChannelAccount
from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
from tickets.models import Message
from tickets.services.ingest import ingest_inbound_message

_TRANSACTION = 2


def _inbound(account: ChannelAccount, external_id: str) -> InboundMessage:
    return InboundMessage(
        channel_account_id=account.pk,
        external_id=external_id,
        sender=IdentityClaim(IdentityKind.API, f"{account.pk}:cust-1", verified=True),
        sender_name="Maria Rossi",
        other_identities=[IdentityClaim(IdentityKind.EMAIL, "maria@example.com", verified=True)],
        text="Il mio ordine non arriva",
    )


@pytest.mark.django_db
def test_first_message_of_a_new_customer(
    api_channel: ChannelAccount, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # identities; contact, two identities; ticket; message; ticket.created + message.created; ticket row.
    with django_assert_num_queries(_TRANSACTION + 9):
        ingest_inbound_message(inbound=_inbound(api_channel, "m-1"), account=api_channel)


@pytest.mark.django_db
def test_message_joining_the_open_ticket(
    api_channel: ChannelAccount, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    ingest_inbound_message(inbound=_inbound(api_channel, "m-1"), account=api_channel)

    # identities; open ticket (row lock); message; message.created; ticket row.
    with django_assert_num_queries(_TRANSACTION + 5):
        ingest_inbound_message(inbound=_inbound(api_channel, "m-2"), account=api_channel)


@pytest.mark.django_db
def test_without_the_account_it_is_loaded_once(
    api_channel: ChannelAccount, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    ingest_inbound_message(inbound=_inbound(api_channel, "m-1"))

    with django_assert_num_queries(1 + _TRANSACTION + 5):
        ingest_inbound_message(inbound=_inbound(api_channel, "m-2"))


@pytest.mark.django_db
def test_a_copy_costs_one_refused_insert_then_the_look_up(api_channel: ChannelAccount) -> None:
    first = ingest_inbound_message(inbound=_inbound(api_channel, "m-1"), account=api_channel)

    again = ingest_inbound_message(inbound=_inbound(api_channel, "m-1"), account=api_channel)

    assert not again.created
    assert again.message.pk == first.message.pk
    assert Message.objects.count() == 1
