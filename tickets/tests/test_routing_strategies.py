"""Round robin and least loaded, with each agent's capacity weighted by the channels of their tickets.

Alice and Bob are Billing's agents; Dario and Elena join them where a test needs more of a team.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_agent
from tickets.models import AgentProfile, Team
from tickets.services.capacity import channel_weight
from tickets.services.routing import ticket_route, tickets_route
from tickets.tests.api_support import new_ticket
from tickets.tests.routing_support import (
    assignee,
    assignees,
    channel,
    last_assignment,
    load,
    online,
    strategy,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def dario(billing: Team) -> User:
    return make_agent("dario_neri", teams=[billing])


@pytest.fixture
def email(billing: Team) -> ChannelAccount:
    return channel("email", billing)


@pytest.fixture
def webchat(billing: Team) -> ChannelAccount:
    return channel("webchat", billing)


# --- round robin -----------------------------------------------------------------------------------------


def test_round_robin_turns_through_the_online_agents_in_order(
    api_channel: ChannelAccount, billing: Team, alice: User, bob: User, dario: User
) -> None:
    strategy(billing, Team.Strategy.ROUND_ROBIN)
    for agent in (alice, bob, dario):
        online(agent, capacity=5)
    tickets = [new_ticket(api_channel) for _ in range(6)]

    for ticket in tickets:
        ticket_route(ticket_id=ticket.pk)

    # Nobody had a ticket yet, so the first turn goes by id; after that, the one given one longest ago.
    assert assignees(tickets) == [alice.pk, bob.pk, dario.pk, alice.pk, bob.pk, dario.pk]


def test_round_robin_skips_agents_who_are_away_offline_or_full(
    api_channel: ChannelAccount, billing: Team, alice: User, bob: User, dario: User
) -> None:
    strategy(billing, Team.Strategy.ROUND_ROBIN)
    online(alice, capacity=5)
    online(bob, capacity=1)
    online(dario, capacity=5)
    elena = online(make_agent("elena_blu", teams=[billing]), capacity=5)
    AgentProfile.objects.filter(user=dario).update(presence=AgentProfile.Presence.AWAY)
    AgentProfile.objects.filter(user=elena).update(presence=AgentProfile.Presence.OFFLINE)
    first = new_ticket(api_channel)
    ticket_route(ticket_id=first.pk)  # neither Alice nor Bob has had one: the lower id goes first
    assert assignee(first) == alice.pk
    tickets = [new_ticket(api_channel) for _ in range(3)]

    for ticket in tickets:
        ticket_route(ticket_id=ticket.pk)

    assert assignees(tickets) == [bob.pk, alice.pk, alice.pk]  # Bob is full after one
    assert load(bob) == 1


def test_round_robin_records_its_turn_with_the_agents_load(
    api_channel: ChannelAccount, billing: Team, alice: User
) -> None:
    strategy(billing, Team.Strategy.ROUND_ROBIN)
    online(alice, capacity=4)
    first, second = new_ticket(api_channel), new_ticket(api_channel)

    ticket_route(ticket_id=first.pk)
    ticket_route(ticket_id=second.pk)

    assert last_assignment(second).reason_data == {
        "code": "routing.strategy.round_robin",
        "values": {"team": "Billing", "load": 1, "capacity": 4},
    }
    assert AgentProfile.objects.get(user=alice).last_assigned_at is not None


def test_no_ticket_goes_to_an_inactive_user_or_an_agent_of_another_team(
    api_channel: ChannelAccount, billing: Team, alice: User, carla: User
) -> None:
    strategy(billing, Team.Strategy.ROUND_ROBIN)
    online(alice)
    online(carla)  # Tech
    User.objects.filter(pk=alice.pk).update(is_active=False)
    ticket = new_ticket(api_channel)

    ticket_route(ticket_id=ticket.pk)

    assert assignee(ticket) is None


# --- least loaded and channel weights ---------------------------------------------------------------------


def test_a_tickets_weight_is_the_teams_then_the_settings_then_one() -> None:
    with override_settings(ROUTING_CHANNEL_WEIGHTS={"webchat": 3, "email": 1}):
        assert channel_weight(team_weights={}, kind="webchat") == 3
        assert channel_weight(team_weights={"webchat": 5}, kind="webchat") == 5
        assert channel_weight(team_weights={"email": 2}, kind="webchat") == 3
        assert channel_weight(team_weights={}, kind="telegram") == 1
        assert channel_weight(team_weights=None, kind=None) == 1
        # What a hand-edited JSON may hold is no weight: the next source counts.
        for junk in (0, -2, "4", 2.5, True, None):
            assert channel_weight(team_weights={"webchat": junk}, kind="webchat") == 3


def test_an_agents_load_adds_up_the_weights_of_their_open_tickets(
    billing: Team, alice: User, email: ChannelAccount, webchat: ChannelAccount
) -> None:
    from tickets.models import Ticket

    chat, mail, solved = new_ticket(webchat), new_ticket(email), new_ticket(email)
    Ticket.objects.filter(pk__in=[chat.pk, mail.pk, solved.pk]).update(assignee=alice)
    Ticket.objects.filter(pk=solved.pk).update(status=Ticket.Status.SOLVED)

    assert load(alice) == 3 + 1
    Team.objects.filter(pk=billing.pk).update(channel_weights={"webchat": 4, "email": 2})
    assert load(alice) == 4 + 2


def test_least_loaded_weighs_a_chat_heavier_than_an_email(
    billing: Team, alice: User, bob: User, email: ChannelAccount, webchat: ChannelAccount
) -> None:
    strategy(billing, Team.Strategy.LEAST_LOADED)
    online(alice, capacity=6)
    online(bob, capacity=6)
    chat = new_ticket(webchat)
    mails = [new_ticket(email) for _ in range(2)]
    tickets_route(ticket_ids=[chat.pk])
    assert assignee(chat) == alice.pk  # both empty: the lower id

    tickets_route(ticket_ids=[mail.pk for mail in mails])

    # Alice carries a chat (3 of 6), so both emails go to Bob (0, then 1 of 6), though he has more tickets.
    assert assignees(mails) == [bob.pk, bob.pk]
    reason = last_assignment(mails[1]).reason_data
    assert reason == {
        "code": "routing.strategy.least_loaded",
        "values": {"team": "Billing", "load": 1, "capacity": 6},
    }


def test_a_ticket_is_given_only_where_its_weight_fits_under_the_capacity(
    billing: Team, alice: User, email: ChannelAccount, webchat: ChannelAccount
) -> None:
    strategy(billing, Team.Strategy.LEAST_LOADED)
    online(alice, capacity=5)
    held = new_ticket(webchat)
    ticket_route(ticket_id=held.pk)  # 3 of 5
    chat, mail = new_ticket(webchat), new_ticket(email)

    assert tickets_route(ticket_ids=[chat.pk, mail.pk]) == 1

    assert assignees([chat, mail]) == [None, alice.pk]  # 3 + 3 > 5; 3 + 1 fits
    assert load(alice) == 4


def test_least_loaded_compares_the_share_of_capacity_in_use(
    api_channel: ChannelAccount, billing: Team, alice: User, bob: User
) -> None:
    strategy(billing, Team.Strategy.LEAST_LOADED)
    online(alice, capacity=10)
    online(bob, capacity=2)
    first = new_ticket(api_channel)
    ticket_route(ticket_id=first.pk)
    assert assignee(first) == alice.pk  # both at 0: the lower id
    second = new_ticket(api_channel)

    ticket_route(ticket_id=second.pk)

    assert assignee(second) == bob.pk  # Bob at 0 of 2 is less loaded than Alice at 1 of 10
    third = new_ticket(api_channel)
    ticket_route(ticket_id=third.pk)
    assert assignee(third) == alice.pk  # Bob at 1/2 is fuller than Alice at 1/10


def test_a_batch_skips_only_tickets_at_least_as_heavy_as_one_nobody_had_room_for(
    billing: Team, alice: User, email: ChannelAccount, webchat: ChannelAccount
) -> None:
    strategy(billing, Team.Strategy.LEAST_LOADED)
    online(alice, capacity=2)
    chat, other_chat, mail = new_ticket(webchat), new_ticket(webchat), new_ticket(email)

    assert tickets_route(ticket_ids=[chat.pk, other_chat.pk, mail.pk]) == 1

    assert assignees([chat, other_chat, mail]) == [None, None, alice.pk]
