"""The entitlement check a socket makes at delivery, and the facts it makes it from."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from pytest_django import DjangoAssertNumQueries

from realtime import publisher
from tickets import events
from tickets.live_access import AgentFacts, agent_facts, agents_facts, entitled, visible_seq
from tickets.models import AgentProfile, Contact, Team, Ticket

pytestmark = pytest.mark.django_db


def recorded(ticket_id: int, groups: list[str]) -> dict[str, Any]:
    event = {
        "type": "message.created",
        "ticket_id": ticket_id,
        "seq": 3,
        "at": "",
        "actor_id": None,
        "data": {},
    }
    return publisher.layer_message(event, key=f"{ticket_id}:3", groups=groups)


def typing(ticket_id: int) -> dict[str, Any]:
    event = events.ephemeral_event("typing", ticket_id=ticket_id, agent_id=1, state=True)
    return publisher.layer_message(event, key="k", groups=[events.ticket_group(ticket_id)])


def hears(facts: AgentFacts) -> frozenset[str]:
    return frozenset(facts.groups())


def test_a_recorded_event_is_delivered_only_to_an_addressee_as_the_agent_is_now() -> None:
    carla = AgentFacts(user_id=7, team_ids=frozenset({2}), sees_all=False)
    billing_ticket = [events.ticket_group(40), events.SUPERVISORS, events.team_group(1)]
    # Subscribed or not, whatever group brought it: another team's ticket is not for Carla.
    assert not entitled(recorded(40, billing_ticket), hears=hears(carla), subscribed={40})
    assert entitled(
        recorded(41, [events.ticket_group(41), events.team_group(2)]), hears=hears(carla), subscribed=()
    )
    assigned = [events.ticket_group(40), events.team_group(1), events.agent_group(7)]
    assert entitled(recorded(40, assigned), hears=hears(carla), subscribed=())
    supervisor = AgentFacts(user_id=9, team_ids=frozenset(), sees_all=True)
    assert entitled(recorded(40, billing_ticket), hears=hears(supervisor), subscribed=())
    # A message without addressees (an older publisher) is refused rather than guessed at.
    unnamed = recorded(41, [events.team_group(2)])
    del unnamed["to"]
    assert not entitled(unnamed, hears=hears(carla), subscribed={41})


def test_a_live_only_event_is_delivered_only_to_a_socket_subscribed_to_its_ticket() -> None:
    carla = AgentFacts(user_id=7, team_ids=frozenset({2}), sees_all=False)
    assert not entitled(typing(41), hears=hears(carla), subscribed={40})
    assert entitled(typing(41), hears=hears(carla), subscribed={40, 41})


def test_a_live_only_event_for_the_tickets_staff_reaches_their_lists_by_the_recorded_rule() -> None:
    # ``ticket.sla_changed`` is addressed like a recorded event, so an inbox that is not subscribed
    # to the ticket follows its due time; another team's inbox does not.
    event = events.ephemeral_event("ticket.sla_changed", ticket_id=40, sla_due_at=None)
    billing_ticket = [events.ticket_group(40), events.SUPERVISORS, events.team_group(1)]
    message = publisher.layer_message(event, key="s", groups=billing_ticket)
    assert entitled(message, hears=hears(AgentFacts(7, frozenset({1}), False)), subscribed=())
    assert entitled(message, hears=hears(AgentFacts(9, frozenset(), True)), subscribed=())
    assert not entitled(message, hears=hears(AgentFacts(8, frozenset({2}), False)), subscribed=())
    assert not entitled(message, hears=hears(AgentFacts(8, frozenset({2}), False)), subscribed={41})


def test_presence_reaches_only_the_agents_teams_as_they_are_now() -> None:
    event = events.ephemeral_event("presence.changed", agent_id=1, presence="online", manual="")
    message = publisher.layer_message(event, key="p", groups=events.agent_audience_groups(team_ids=[2]))
    assert entitled(message, hears=hears(AgentFacts(7, frozenset({2}), False)), subscribed=())
    assert not entitled(message, hears=hears(AgentFacts(7, frozenset({1}), False)), subscribed=())


def test_agents_facts_follow_teams_roles_and_accounts_in_two_queries(
    alice: User,
    carla: User,
    sam: User,
    billing: Team,
    tech: Team,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    AgentProfile.objects.get(user=alice).teams.add(tech)
    carla.is_active = False
    carla.save(update_fields=["is_active"])
    with django_assert_num_queries(2):
        facts = agents_facts([alice.pk, carla.pk, sam.pk])
    assert facts == {
        alice.pk: AgentFacts(alice.pk, frozenset({billing.pk, tech.pk}), False),
        sam.pk: AgentFacts(sam.pk, frozenset({billing.pk, tech.pk}), True),
    }
    assert agent_facts(alice) == facts[alice.pk]
    assert AgentFacts.from_message(facts[sam.pk].as_message()) == facts[sam.pk]


def test_visibility_is_read_afresh_not_from_the_sockets_copy_of_the_user(alice: User, tech: Team) -> None:
    ticket = Ticket.objects.create(contact=Contact.objects.create(name="Maria"), team=tech, subject="router")
    assert visible_seq(alice.pk, ticket.pk) is None
    AgentProfile.objects.filter(user=alice).update(role=AgentProfile.Role.SUPERVISOR)
    assert visible_seq(alice.pk, ticket.pk) == ticket.seq
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert visible_seq(alice.pk, ticket.pk) is None
    assert visible_seq(alice.pk, 999_999) is None
