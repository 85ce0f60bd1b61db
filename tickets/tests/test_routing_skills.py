"""Skills and languages: a ticket goes to an agent who has what it asks for, until the team's fallback wait.

Alice and Bob are Billing's agents; the team's fallback is its default, 10 minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.utils import timezone, translation

from channels_in.models import ChannelAccount
from tickets import tasks
from tickets.models import Team, Ticket
from tickets.services.routing import ticket_route
from tickets.tests.api_support import new_ticket
from tickets.tests.routing_support import assignee, last_assignment, online, strategy

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def least_loaded(billing: Team) -> Team:
    return strategy(billing, Team.Strategy.LEAST_LOADED)


@pytest.fixture
def timers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, float]]]:
    """The fallback timers armed: (ticket id, seconds from now)."""
    armed: list[tuple[int, float]] = []

    def apply_async(args: tuple[int], countdown: float, **_options: Any) -> None:
        armed.append((args[0], countdown))

    monkeypatch.setattr(tasks.route_after_fallback, "apply_async", apply_async)
    cache.clear()
    yield armed
    cache.clear()


def asking(account: ChannelAccount, *, skills: list[str] | None = None, language: str = "") -> Ticket:
    ticket = new_ticket(account)
    Ticket.objects.filter(pk=ticket.pk).update(required_skills=skills or [], language=language)
    return ticket


def waited(ticket: Ticket, minutes: int) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(
        awaiting_agent_since=timezone.now() - timedelta(minutes=minutes)
    )


def test_a_ticket_goes_to_the_agent_with_all_its_skills_whatever_their_case(
    api_channel: ChannelAccount, alice: User, bob: User
) -> None:
    online(alice, skills=["sap"])
    online(bob, capacity=20, skills=["Fatturazione", " SAP "])
    ticket = asking(api_channel, skills=["sap", "fatturazione"])

    ticket_route(ticket_id=ticket.pk)

    assert assignee(ticket) == bob.pk  # Alice is less loaded, but lacks one skill


def test_a_ticket_goes_to_an_agent_who_speaks_its_language_and_no_languages_means_any(
    api_channel: ChannelAccount, alice: User, bob: User
) -> None:
    online(alice, languages=["it"])
    online(bob, languages=[])
    german = asking(api_channel, language="de-AT")
    italian = asking(api_channel, language="it")

    ticket_route(ticket_id=german.pk)
    ticket_route(ticket_id=italian.pk)

    assert assignee(german) == bob.pk  # Bob lists no languages: taken to speak any
    assert assignee(italian) == alice.pk  # both may; Alice is less loaded now


def test_a_ticket_without_a_match_waits_and_arms_a_timer_for_its_fallback(
    api_channel: ChannelAccount,
    alice: User,
    timers: list[tuple[int, float]],
    django_capture_on_commit_callbacks,
) -> None:  # type: ignore[no-untyped-def]
    online(alice, skills=["fatturazione"])
    ticket = asking(api_channel, skills=["sap"])
    waited(ticket, 4)

    with django_capture_on_commit_callbacks(execute=True):
        ticket_route(ticket_id=ticket.pk)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_route(ticket_id=ticket.pk)  # looked at again (room freed elsewhere): no second timer

    assert assignee(ticket) is None
    [(ticket_id, seconds)] = timers
    assert ticket_id == ticket.pk
    assert 6 * 60 < seconds <= 6 * 60 + 2  # the 6 minutes left of the 10, and a second to spare


def test_after_the_fallback_wait_any_agent_may_take_it_and_the_reason_says_so(
    api_channel: ChannelAccount, alice: User
) -> None:
    online(alice, skills=["fatturazione"], capacity=7)
    ticket = asking(api_channel, skills=["sap"])
    waited(ticket, 11)

    ticket_route(ticket_id=ticket.pk)

    assert assignee(ticket) == alice.pk
    row = last_assignment(ticket)
    assert row.reason_data == {
        "code": "routing.skills_fallback",
        "values": {"skills": "sap", "minutes": 10, "team": "Billing", "language": None},
    }
    with translation.override("en"):
        assert row.reason_text == (
            "Nobody with the skills sap was free for 10 minutes: any agent of Billing may take it."
        )


def test_a_language_nobody_speaks_falls_back_with_a_reason_of_its_own(
    api_channel: ChannelAccount, alice: User
) -> None:
    online(alice, languages=["it", "en"], skills=["sap"])
    ticket = asking(api_channel, skills=["sap"], language="de")
    waited(ticket, 11)

    ticket_route(ticket_id=ticket.pk)

    assert assignee(ticket) == alice.pk
    assert last_assignment(ticket).reason_data == {
        "code": "routing.language_fallback",
        "values": {"language": "de", "minutes": 10, "team": "Billing"},
    }
    with translation.override("it"):
        assert last_assignment(ticket).reason_text.startswith("Nessuno che parli de")


def test_a_match_is_preferred_after_the_wait_too_and_given_for_the_strategys_reason(
    api_channel: ChannelAccount, alice: User, bob: User
) -> None:
    online(alice)
    online(bob, skills=["sap"], capacity=20)
    ticket = asking(api_channel, skills=["sap"])
    waited(ticket, 30)

    ticket_route(ticket_id=ticket.pk)

    assert assignee(ticket) == bob.pk
    assert last_assignment(ticket).reason_data["code"] == "routing.strategy.least_loaded"


def test_a_team_whose_fallback_is_zero_never_relaxes_and_arms_no_timer(
    api_channel: ChannelAccount,
    billing: Team,
    alice: User,
    timers: list[tuple[int, float]],
    django_capture_on_commit_callbacks,
) -> None:  # type: ignore[no-untyped-def]
    Team.objects.filter(pk=billing.pk).update(skills_fallback_minutes=0)
    online(alice)
    ticket = asking(api_channel, skills=["sap"])
    waited(ticket, 600)

    with django_capture_on_commit_callbacks(execute=True):
        ticket_route(ticket_id=ticket.pk)

    assert assignee(ticket) is None
    assert timers == []


def test_the_timer_offers_the_ticket_again_once_and_arms_no_other(
    api_channel: ChannelAccount,
    alice: User,
    timers: list[tuple[int, float]],
    django_capture_on_commit_callbacks,
) -> None:  # type: ignore[no-untyped-def]
    online(alice)
    ticket = asking(api_channel, skills=["sap"])
    waited(ticket, 9)

    # Too early (a worker's clock behind): it waits for room to free up, and no timer loops.
    with django_capture_on_commit_callbacks(execute=True):
        tasks.route_after_fallback(ticket.pk)
    assert assignee(ticket) is None and timers == []

    waited(ticket, 10)
    tasks.route_after_fallback(ticket.pk)
    tasks.route_after_fallback(ticket.pk)  # run twice: changes nothing more

    assert assignee(ticket) == alice.pk
    assert Ticket.objects.get(pk=ticket.pk).events.filter(type="ticket.assigned").count() == 1


def test_the_wait_counts_from_creation_when_no_customer_message_awaits(
    api_channel: ChannelAccount, alice: User
) -> None:
    online(alice)
    ticket = asking(api_channel, skills=["sap"])
    Ticket.objects.filter(pk=ticket.pk).update(
        awaiting_agent_since=None, created_at=timezone.now() - timedelta(minutes=15)
    )

    ticket_route(ticket_id=ticket.pk)

    assert assignee(ticket) == alice.pk
