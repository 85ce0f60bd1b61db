"""Catch-up feeds: a ticket's events after a seq, and an agent's inbox feed since a time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_api_channel
from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
from tickets.models import Team, Ticket, TicketEvent
from tickets.services.ingest import ingest_inbound_message

pytestmark = pytest.mark.django_db


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def message(account: ChannelAccount, external_id: str, sender: str = "c1") -> Ticket:
    return ingest_inbound_message(
        inbound=InboundMessage(
            channel_account_id=account.pk,
            external_id=external_id,
            sender=IdentityClaim(IdentityKind.API, f"{account.pk}:{sender}", verified=True),
            text=f"text {external_id}",
        )
    ).ticket


def test_ticket_events_after_seq_pages_in_order(api_channel: ChannelAccount, alice: User) -> None:
    for number in range(5):
        ticket = message(api_channel, f"m-{number}")
    client = client_of(alice)

    page = client.get(f"/api/v1/tickets/{ticket.pk}/events", {"after_seq": 2, "limit": 2}).json()
    assert [event["seq"] for event in page["events"]] == [3, 4]
    assert page["has_more"] is True and page["seq"] == 6
    rest = client.get(f"/api/v1/tickets/{ticket.pk}/events", {"after_seq": 4}).json()
    assert [event["seq"] for event in rest["events"]] == [5, 6]
    assert rest["has_more"] is False
    assert rest["events"][0] == {
        "type": "message.created",
        "ticket_id": ticket.pk,
        "seq": 5,
        "at": rest["events"][0]["at"],
        "actor_id": None,
        "data": TicketEvent.objects.get(ticket=ticket, seq=5).payload,
    }


def test_ticket_events_of_another_team_look_missing(api_channel: ChannelAccount, carla: User) -> None:
    ticket = message(api_channel, "m-1")
    client = client_of(carla)

    assert client.get(f"/api/v1/tickets/{ticket.pk}/events").status_code == 404
    assert client.get("/api/v1/tickets/999999/events").status_code == 404
    assert Client().get(f"/api/v1/tickets/{ticket.pk}/events").status_code in {401, 403}


@pytest.mark.parametrize("query", [{"after_seq": "-1"}, {"after_seq": "x"}, {"limit": "0"}, {"limit": "501"}])
def test_ticket_events_reject_bad_parameters(
    api_channel: ChannelAccount, alice: User, query: dict[str, Any]
) -> None:
    ticket = message(api_channel, "m-1")
    assert client_of(alice).get(f"/api/v1/tickets/{ticket.pk}/events", query).status_code == 400


def test_feed_holds_only_visible_tickets_and_pages_with_a_cursor(
    api_channel: ChannelAccount, alice: User, carla: User, tech: Team
) -> None:
    before = timezone.now()
    billing_ticket = message(api_channel, "b-1")
    message(api_channel, "b-2")
    tech_ticket = message(make_api_channel(team=tech), "t-1", sender="other")
    client = client_of(alice)

    first = client.get("/api/v1/live/feed", {"since": before.isoformat(), "limit": 2}).json()
    assert first["has_more"] is True
    second = client.get(
        "/api/v1/live/feed", {"cursor": first["cursor"], "until": first["until"], "limit": 2}
    ).json()
    assert second["has_more"] is False and second["next_since"] == first["until"]
    seen = [(event["ticket_id"], event["seq"]) for event in first["events"] + second["events"]]
    assert seen == [(billing_ticket.pk, 1), (billing_ticket.pk, 2), (billing_ticket.pk, 3)]

    tech_feed = client_of(carla).get("/api/v1/live/feed", {"since": before.isoformat()}).json()
    assert {event["ticket_id"] for event in tech_feed["events"]} == {tech_ticket.pk}


def test_feed_rereads_a_grace_period_and_needs_an_aware_time(
    api_channel: ChannelAccount, alice: User
) -> None:
    ticket = message(api_channel, "m-1")
    client = client_of(alice)

    # Asked from slightly after the event: the grace period still returns it (a late commit).
    later = (timezone.now() + timedelta(seconds=2)).isoformat()
    feed = client.get("/api/v1/live/feed", {"since": later}).json()
    assert [(event["ticket_id"], event["seq"]) for event in feed["events"]] == [
        (ticket.pk, 1),
        (ticket.pk, 2),
    ]
    assert client.get("/api/v1/live/feed", {"since": "2026-01-01T10:00:00"}).status_code == 400
    assert client.get("/api/v1/live/feed").status_code == 400
    assert client.get("/api/v1/live/feed", {"cursor": "junk", "until": later}).status_code == 400


IMPOSSIBLE_TIMES = [
    "2026-02-30T10:00:00+00:00",  # no such day
    "2026-05-01T10:00:00+99:00",  # no such offset
    "2026-05-01T10:00:00+14:30",  # beyond the farthest real offset
    "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
    "0001-01-01T00:00:05+00:00",  # a real time, but the grace period reaches before year 1
    "9999-12-31T23:59:59-14:00",  # after year 9999 in UTC
    "2026-13-01T10:00:00Z",
    "2026-05-01T10:00:00Z" + "0" * 500,
]


@pytest.mark.parametrize("spelling", IMPOSSIBLE_TIMES)
def test_feed_refuses_impossible_times_with_a_reason(alice: User, spelling: str) -> None:
    client = client_of(alice)
    now = timezone.now().isoformat()

    for query in (
        {"since": spelling},
        {"cursor": f"{spelling}|1", "until": now},
        {"cursor": f"{now}|1", "until": spelling},
    ):
        response = client.get("/api/v1/live/feed", query)
        assert response.status_code == 400, (query, response.content[:300])
        [field] = response.json()
        assert field in query


def test_feed_takes_any_real_offset(api_channel: ChannelAccount, alice: User) -> None:
    message(api_channel, "m-1")
    client = client_of(alice)

    for since in ("2020-01-01T00:00:00+14:00", "2020-01-01T00:00:00-12:00", "2020-01-01T00:00:00Z"):
        assert len(client.get("/api/v1/live/feed", {"since": since}).json()["events"]) == 2
