from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_agent, make_api_channel
from tickets.models import Team, Ticket
from tickets.selectors import (
    TicketFilters,
    agents_list,
    contact_get,
    contact_list,
    ticket_get,
    ticket_list,
    ticket_timeline,
)
from tickets.services.contacts import contact_merge
from tickets.services.messages import message_send_reply, note_add
from tickets.services.tickets import ticket_update
from tickets.tests.api_support import customer_writes, new_ticket


def queries_to_render(read: Callable[[], Any]) -> int:
    """Queries to load a selector's rows and touch everything a screen shows of them."""
    with CaptureQueriesContext(connection) as captured:
        read()
    return len(captured)


def show_tickets(user: User) -> None:
    for ticket in ticket_list(user=user, filters=TicketFilters(q="Ciao")):
        _ = (ticket.contact.name, ticket.team.name, ticket.origin_channel.kind, list(ticket.tags.all()))
        _ = ticket.assignee.username if ticket.assignee else None


@pytest.mark.django_db
def test_ticket_list_queries_do_not_grow_with_tickets(
    api_channel: ChannelAccount, alice: User, django_assert_max_num_queries: Any
) -> None:
    ticket_update(ticket=new_ticket(api_channel), actor=alice, assignee=alice, tags=["x"])
    one = queries_to_render(lambda: show_tickets(alice))
    for _ in range(19):
        ticket_update(ticket=new_ticket(api_channel), actor=alice, assignee=alice, tags=["y", "z"])

    assert len(ticket_list(user=alice)) == 20
    with django_assert_max_num_queries(one):
        show_tickets(alice)


@pytest.mark.django_db
def test_timeline_queries_do_not_grow_with_messages(
    api_channel: ChannelAccount, alice: User, django_assert_max_num_queries: Any
) -> None:
    ticket = customer_writes(api_channel, sender="c").ticket

    def show() -> None:
        for message in ticket_timeline(user=alice, ticket=ticket):
            _ = (message.author, message.channel_account, message.identity, list(message.attachments.all()))

    one = queries_to_render(show)
    for number in range(10):
        message_send_reply(ticket=ticket, author=alice, text=f"r{number}")
        note_add(ticket=ticket, author=alice, text=f"n{number}")

    with django_assert_max_num_queries(one):
        show()


@pytest.mark.django_db
def test_contact_selectors_queries_do_not_grow(
    api_channel: ChannelAccount, alice: User, django_assert_max_num_queries: Any
) -> None:
    customer_writes(api_channel, sender="c0", email="c0@example.com")

    def show() -> None:
        for contact in contact_list(user=alice):
            _ = (list(contact.identities.all()), contact.visible_ticket_count)

    one = queries_to_render(show)
    for number in range(1, 20):
        customer_writes(api_channel, sender=f"c{number}", email=f"c{number}@example.com")

    with django_assert_max_num_queries(one):
        show()


@pytest.mark.django_db
def test_agent_list_queries_do_not_grow(
    billing: Team, tech: Team, django_assert_max_num_queries: Any
) -> None:
    make_agent("agent_0", teams=[billing])

    def show() -> None:
        for profile in agents_list():
            _ = (profile.user.username, [team.name for team in profile.teams.all()])

    one = queries_to_render(show)
    for number in range(1, 20):
        make_agent(f"agent_{number}", teams=[billing, tech])

    with django_assert_max_num_queries(one):
        show()


@pytest.mark.django_db
def test_visibility_is_applied_by_every_ticket_read(
    api_channel: ChannelAccount, tech: Team, alice: User, carla: User
) -> None:
    tech_channel = make_api_channel(team=tech, trust_identities=True)
    tech_ticket = customer_writes(tech_channel, sender="t", email="maria@example.com").ticket
    ticket_update(ticket=tech_ticket, actor=carla, status=Ticket.Status.CLOSED)
    billing_ticket = customer_writes(api_channel, sender="b", email="maria@example.com").ticket

    assert ticket_get(user=alice, ticket_id=tech_ticket.pk) is None
    assert ticket_get(user=carla, ticket_id=tech_ticket.pk) == tech_ticket
    assert list(ticket_list(user=alice)) == [billing_ticket]
    contact = contact_get(user=alice, contact_id=billing_ticket.contact_id)
    assert contact is not None
    assert contact.visible_tickets == [billing_ticket]
    assert contact.visible_ticket_count == 1


@pytest.mark.django_db
def test_a_user_without_agent_profile_reads_nothing(api_channel: ChannelAccount) -> None:
    ticket = new_ticket(api_channel)
    outsider = User.objects.create_user("outsider")

    assert list(ticket_list(user=outsider)) == []
    assert ticket_get(user=outsider, ticket_id=ticket.pk) is None


@pytest.mark.django_db
def test_merged_in_tickets_show_on_the_timeline_only_to_those_who_may_see_them(
    api_channel: ChannelAccount, tech: Team, alice: User, sam: User
) -> None:
    tech_channel = make_api_channel(team=tech, trust_identities=True)
    billing_ticket = customer_writes(api_channel, sender="b", text="fattura").ticket
    tech_ticket = customer_writes(tech_channel, sender="t", text="password dimenticata").ticket
    contact_merge(source=tech_ticket.contact, target=billing_ticket.contact, actor=sam)

    as_sam = [message.text for message in ticket_timeline(user=sam, ticket=billing_ticket)]
    as_alice = [message.text for message in ticket_timeline(user=alice, ticket=billing_ticket)]

    assert as_sam == ["fattura", "password dimenticata"]
    assert as_alice == ["fattura"]
