"""Routers racing on PostgreSQL never put an agent above capacity.

Each thread has its own connection and transactions, as routing workers do. The first test makes the
race as tight as it gets: every router reads the same loads before any of them assigns, so only the
count taken again under the agent's row lock stands between them and overfilling.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_agent
from tickets.models import Team, Ticket
from tickets.services import capacity
from tickets.services.routing import ticket_route, tickets_route
from tickets.tests.api_support import new_ticket
from tickets.tests.routing_support import channel, load, online, strategy


def routed_in_threads(work: Any, items: list[Any], *, workers: int) -> list[Any]:
    def run(item: Any) -> Any:
        try:
            return work(item)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, items))


@pytest.mark.django_db(transaction=True)
def test_routers_that_all_read_the_same_loads_still_fill_each_slot_once(
    api_channel: ChannelAccount, billing: Team, alice: User, bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Made while everyone is offline, so that the routing the ingest asks for leaves them waiting.
    tickets = [new_ticket(api_channel) for _ in range(8)]
    strategy(billing, Team.Strategy.LEAST_LOADED)
    dario = make_agent("dario_neri", teams=[billing])
    capacities = {alice.pk: 1, bob.pk: 2, dario.pk: 3}
    for user in (alice, bob, dario):
        online(user, capacity=capacities[user.pk])
    everyone_read = threading.Barrier(len(tickets), timeout=30)
    read_candidates = capacity.team_candidates

    def candidates_then_wait(**kwargs: Any) -> list[capacity.Candidate]:
        found = read_candidates(**kwargs)
        everyone_read.wait()
        return found

    monkeypatch.setattr(capacity, "team_candidates", candidates_then_wait)

    routed = routed_in_threads(
        lambda ticket: ticket_route(ticket_id=ticket.pk), tickets, workers=len(tickets)
    )

    assert sum(ticket.assignee_id is not None for ticket in routed) == 6
    assert {user.pk: load(user) for user in (alice, bob, dario)} == capacities
    assert Ticket.objects.filter(assignee__isnull=True).count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("assignment", [Team.Strategy.ROUND_ROBIN, Team.Strategy.LEAST_LOADED])
def test_many_routers_over_many_weighted_tickets_never_go_above_capacity(
    billing: Team, assignment: str
) -> None:
    chooser = random.Random(7)
    agents = [make_agent(f"agent_{number}", teams=[billing]) for number in range(4)]
    accounts = [channel("webchat", billing), channel("email", billing), channel("api", billing)]
    tickets = [new_ticket(chooser.choice(accounts)) for _ in range(60)]
    strategy(billing, assignment)
    capacities = {agent.pk: chooser.randint(2, 9) for agent in agents}
    for agent in agents:
        online(agent, capacity=capacities[agent.pk])
    batches = [[ticket.pk for ticket in tickets[start::6]] for start in range(6)]

    # Single tickets and batches at once, as the ingest's tasks and a freed slot's offers would be.
    routed_in_threads(
        lambda item: (
            tickets_route(ticket_ids=item) if isinstance(item, list) else ticket_route(ticket_id=item)
        ),
        [*batches, *(ticket.pk for ticket in reversed(tickets))],
        workers=8,
    )

    loads = {agent.pk: load(agent) for agent in agents}
    assert all(loads[pk] <= capacities[pk] for pk in loads), (loads, capacities)
    # Routing stops only when nobody has room for any waiting ticket: no lighter one would still fit.
    lightest_waiting = min(
        capacity.ticket_weight(ticket)
        for ticket in Ticket.objects.filter(assignee__isnull=True).select_related("team", "origin_channel")
    )
    assert all(loads[pk] + lightest_waiting > capacities[pk] for pk in loads), (loads, capacities)
