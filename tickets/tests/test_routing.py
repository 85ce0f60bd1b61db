"""Routing many tickets at once: each as alone, and a team with nobody free is asked only once."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_api_channel
from tickets.models import AgentProfile, Team, Ticket, TicketEvent
from tickets.services.routing import tickets_route
from tickets.tests.api_support import new_ticket

pytestmark = pytest.mark.django_db


def online(user: User, *, capacity: int) -> None:
    AgentProfile.objects.filter(user=user).update(presence=AgentProfile.Presence.ONLINE, capacity=capacity)


def assignees(tickets: list[Ticket]) -> list[int | None]:
    by_id = dict(Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("pk", "assignee_id"))
    return [by_id[ticket.pk] for ticket in tickets]


def test_tickets_fill_the_free_agents_in_order_and_the_rest_wait_in_the_queue(
    api_channel: ChannelAccount, alice: User, bob: User
) -> None:
    online(alice, capacity=2)
    online(bob, capacity=1)
    Team.objects.update(assignment_strategy=Team.Strategy.LEAST_LOADED)
    tickets = [new_ticket(api_channel) for _ in range(5)]

    assert tickets_route(ticket_ids=[ticket.pk for ticket in tickets]) == 3

    routed = assignees(tickets)
    assert sorted(pk for pk in routed[:3] if pk is not None) == sorted([alice.pk, alice.pk, bob.pk])
    assert routed[3:] == [None, None]


def test_a_team_with_nobody_free_is_asked_once_and_other_teams_are_still_routed(
    api_channel: ChannelAccount, alice: User, carla: User, tech: Team
) -> None:
    online(carla, capacity=5)  # Alice, Billing's agent, is offline
    Team.objects.update(assignment_strategy=Team.Strategy.LEAST_LOADED)
    tech_channel = make_api_channel(team=tech)
    billing_tickets = [new_ticket(api_channel) for _ in range(4)]
    tech_tickets = [new_ticket(tech_channel) for _ in range(2)]
    mixed = [billing_tickets[0], tech_tickets[0], *billing_tickets[1:], tech_tickets[1]]

    with CaptureQueriesContext(connection) as queries:
        assert tickets_route(ticket_ids=[ticket.pk for ticket in mixed]) == 2

    assert assignees(billing_tickets) == [None] * 4
    assert assignees(tech_tickets) == [carla.pk, carla.pk]
    locked = {
        int(found.group(1))
        for query in queries.captured_queries
        if "FOR UPDATE" in query["sql"] and 'FROM "tickets_ticket"' in query["sql"]
        for found in [re.search(r'"tickets_ticket"\."id" = (\d+)', query["sql"])]
        if found
    }
    # Billing's first ticket and Tech's two; Billing's other three are not looked at again.
    assert locked == {billing_tickets[0].pk, *(ticket.pk for ticket in tech_tickets)}


def test_a_ticket_assigned_or_closed_meanwhile_is_left_as_it_is(
    api_channel: ChannelAccount, alice: User, bob: User
) -> None:
    online(alice, capacity=5)
    Team.objects.update(assignment_strategy=Team.Strategy.LEAST_LOADED)
    taken, closed, waiting = (new_ticket(api_channel) for _ in range(3))
    Ticket.objects.filter(pk=taken.pk).update(assignee=bob)
    Ticket.objects.filter(pk=closed.pk).update(status=Ticket.Status.CLOSED)

    assert tickets_route(ticket_ids=[taken.pk, closed.pk, waiting.pk]) == 1

    assert assignees([taken, closed, waiting]) == [bob.pk, None, alice.pk]


def test_a_manual_team_keeps_its_tickets_in_its_queue(api_channel: ChannelAccount, alice: User) -> None:
    online(alice, capacity=5)
    Team.objects.update(assignment_strategy=Team.Strategy.MANUAL)
    tickets = [new_ticket(api_channel) for _ in range(2)]

    assert tickets_route(ticket_ids=[ticket.pk for ticket in tickets]) == 0
    assert assignees(tickets) == [None, None]


@pytest.mark.parametrize(
    ("strategy", "english", "italian"),
    [
        (
            Team.Strategy.ROUND_ROBIN,
            "Round robin: the next online agent in Billing, with 0 of 3",
            "A rotazione",
        ),
        (Team.Strategy.LEAST_LOADED, "Least loaded: the online agent in Billing", "Meno carico"),
    ],
)
def test_why_a_ticket_was_assigned_is_stored_as_data_and_read_in_each_readers_language(
    api_channel: ChannelAccount, alice: User, strategy: str, english: str, italian: str
) -> None:
    online(alice, capacity=3)
    Team.objects.update(assignment_strategy=strategy, name="Billing")
    ticket = new_ticket(api_channel)

    assert tickets_route(ticket_ids=[ticket.pk]) == 1
    row = TicketEvent.objects.get(ticket=ticket, type="ticket.assigned")
    assert row.reason == ""
    assert row.reason_data == {
        "code": f"routing.strategy.{strategy}",
        "values": {"team": "Billing", "load": 0, "capacity": 3},
    }
    with translation.override("en"):
        assert english in row.reason_text
    with translation.override("it"):
        assert row.reason_text.startswith(italian) and "Billing" in row.reason_text
        assert "0 ticket aperti su 3" in row.reason_text
