"""Waiting tickets are offered the moment room frees up, most urgent first: priority, SLA due time, wait.

Alice is Billing's agent with room for one ticket; Bob, of Billing too, stays offline unless a test says.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from channels_in.models import ChannelAccount
from realtime import leases
from tickets.models import AgentProfile, Team, Ticket
from tickets.services import capacity, presence
from tickets.services.capacity import tickets_waiting
from tickets.services.routing import capacity_freed, ticket_route
from tickets.services.tickets import ticket_update
from tickets.tests.api_support import new_ticket
from tickets.tests.routing_support import assignee, assignees, online, strategy

pytestmark = pytest.mark.django_db

HIGH, NORMAL = Ticket.Priority.HIGH, Ticket.Priority.NORMAL


@pytest.fixture(autouse=True)
def round_robin(billing: Team) -> Team:
    return strategy(billing, Team.Strategy.ROUND_ROBIN)


@pytest.fixture
def held(api_channel: ChannelAccount, alice: User) -> Ticket:
    """Alice is online and full with this one ticket."""
    online(alice, capacity=1)
    ticket = new_ticket(api_channel)
    ticket_route(ticket_id=ticket.pk)
    assert assignee(ticket) == alice.pk
    return ticket


def waiting(account: ChannelAccount, *, priority: int, due_in: int | None, waited: int) -> Ticket:
    ticket = new_ticket(account)
    now = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(
        priority=priority,
        sla_due_at=now + timedelta(minutes=due_in) if due_in is not None else None,
        awaiting_agent_since=now - timedelta(minutes=waited),
    )
    return ticket


@pytest.fixture
def queue(api_channel: ChannelAccount) -> dict[str, Ticket]:
    """Billing's waiting tickets, made out of their order of urgency."""
    return {
        "normal, waited longest": waiting(api_channel, priority=NORMAL, due_in=None, waited=90),
        "high, no due time": waiting(api_channel, priority=HIGH, due_in=None, waited=60),
        "high, due later": waiting(api_channel, priority=HIGH, due_in=30, waited=5),
        "normal, due soon": waiting(api_channel, priority=NORMAL, due_in=1, waited=1),
        "high, due soonest": waiting(api_channel, priority=HIGH, due_in=10, waited=1),
        "high, no due time, waited less": waiting(api_channel, priority=HIGH, due_in=None, waited=30),
    }


def test_waiting_tickets_are_ordered_by_priority_then_due_time_then_wait(
    billing: Team, queue: dict[str, Ticket]
) -> None:
    order = tickets_waiting(team_ids=[billing.pk])

    names = {ticket.pk: name for name, ticket in queue.items()}
    assert [names[pk] for pk in order] == [
        "high, due soonest",
        "high, due later",
        "high, no due time",
        "high, no due time, waited less",
        "normal, due soon",
        "normal, waited longest",
    ]


def test_tickets_of_manual_teams_and_assigned_ones_are_not_waiting(
    billing: Team, queue: dict[str, Ticket], bob: User
) -> None:
    Ticket.objects.filter(pk=queue["high, due soonest"].pk).update(assignee=bob)
    assert queue["high, due soonest"].pk not in tickets_waiting(team_ids=[billing.pk])

    strategy(billing, Team.Strategy.MANUAL)
    assert tickets_waiting(team_ids=[billing.pk]) == []


def test_solving_a_ticket_gives_the_freed_slot_to_the_most_urgent_waiting_one(
    held: Ticket, queue: dict[str, Ticket], alice: User, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        ticket_update(ticket=held, actor=alice, status=Ticket.Status.SOLVED)

    assert assignee(queue["high, due soonest"]) == alice.pk
    assert [assignee(ticket) for ticket in queue.values()].count(alice.pk) == 1


@pytest.mark.parametrize("change", ["closed", "reassigned", "unassigned", "moved to another team"])
def test_a_ticket_leaving_the_agent_frees_their_slot_at_once(
    held: Ticket,
    queue: dict[str, Ticket],
    alice: User,
    bob: User,
    tech: Team,
    change: str,
    django_capture_on_commit_callbacks,
) -> None:  # type: ignore[no-untyped-def]
    strategy(tech, Team.Strategy.MANUAL)
    changes = {
        "closed": {"status": Ticket.Status.CLOSED},
        "reassigned": {"assignee": bob},
        "unassigned": {"assignee": None},
        "moved to another team": {"team": tech, "assignee": None},
    }[change]

    with django_capture_on_commit_callbacks(execute=True):
        ticket_update(ticket=held, actor=alice, **changes)

    assert assignee(queue["high, due soonest"]) == alice.pk


def test_a_change_that_frees_nothing_offers_nothing(
    held: Ticket,
    queue: dict[str, Ticket],
    alice: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks,
) -> None:  # type: ignore[no-untyped-def]
    freed: list[int] = []
    monkeypatch.setattr(capacity, "capacity_freed_request", lambda *, user_id: freed.append(user_id))

    with django_capture_on_commit_callbacks(execute=True):
        ticket_update(ticket=held, actor=alice, priority=Ticket.Priority.URGENT, tags=["vip"])
        ticket_update(ticket=held, actor=alice, status=Ticket.Status.PENDING)  # still open
        ticket_update(ticket=held, actor=alice, status=Ticket.Status.SOLVED)
        ticket_update(ticket=held, actor=alice, status=Ticket.Status.CLOSED)  # was not open any more

    assert freed == [alice.pk]


def test_an_agent_coming_online_takes_the_most_urgent_waiting_tickets(
    queue: dict[str, Ticket], bob: User, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    AgentProfile.objects.filter(user=bob).update(capacity=2)
    previous = leases.stores.use(leases.MemoryLeaseStore())
    try:
        with django_capture_on_commit_callbacks(execute=True):
            presence.presence_connect(user_id=bob.pk, connection="tab-1")
    finally:
        leases.stores.use(previous)

    assert [name for name, ticket in queue.items() if assignee(ticket) == bob.pk] == [
        "high, due later",
        "high, due soonest",
    ]


def test_capacity_freed_fills_every_free_slot_of_the_team_in_order(
    queue: dict[str, Ticket], alice: User, bob: User
) -> None:
    online(alice, capacity=2)
    online(bob, capacity=1)

    assert capacity_freed(user_id=alice.pk) == 3

    taken = assignees(list(queue.values()))
    assert [name for name, user_id in zip(queue, taken, strict=True) if user_id] == [
        "high, no due time",
        "high, due later",
        "high, due soonest",
    ]
