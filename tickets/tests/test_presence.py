"""Presence and collision state, on the in-process store (embedded) and on real Redis (scaled)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.contrib.auth.models import User

from realtime import leases
from tickets.events import Publication
from tickets.models import AgentProfile
from tickets.services import presence

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[leases.LeaseStore]:
    if request.param == "memory":
        chosen: leases.LeaseStore = leases.MemoryLeaseStore()
    else:
        url = request.getfixturevalue("redis_url")
        chosen = leases.RedisLeaseStore(url, f"test-{uuid.uuid4().hex[:8]}")
    previous = leases.stores.use(chosen)
    yield chosen
    leases.stores.use(previous)
    if request.param == "redis":
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        keys = list(client.scan_iter(f"{chosen._prefix}:*"))  # type: ignore[attr-defined]
        if keys:
            client.delete(*keys)


@pytest.fixture
def short_leases(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(presence, "LEASE_SECONDS", 0.3)
    monkeypatch.setattr(presence, "RENEW_SECONDS", 0.05)
    return 0.3


@pytest.fixture
def commits(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    return django_capture_on_commit_callbacks


def stored(user: User) -> str:
    return AgentProfile.objects.get(user=user).presence


def presence_events(callbacks: list) -> list[str]:  # type: ignore[type-arg]
    return [
        item.event["presence"]
        for item in callbacks
        if isinstance(item, Publication) and item.event["type"] == "presence.changed"
    ]


def test_several_tabs_count_once(store, alice: User, commits) -> None:  # type: ignore[no-untyped-def]
    with commits(execute=False) as callbacks:
        assert presence.presence_connect(user_id=alice.pk, connection="tab-1") == "online"
        assert presence.presence_connect(user_id=alice.pk, connection="tab-2") == "online"
        assert presence.presence_disconnect(user_id=alice.pk, connection="tab-1") == "online"
        assert stored(alice) == "online"
        assert presence.presence_disconnect(user_id=alice.pk, connection="tab-2") == "offline"

    assert stored(alice) == "offline"
    assert presence_events(callbacks) == ["online", "offline"]


def test_manual_presence_is_kept_across_reconnects(store, alice: User) -> None:  # type: ignore[no-untyped-def]
    presence.presence_connect(user_id=alice.pk, connection="tab-1")
    assert presence.presence_set(user_id=alice.pk, status="away") == "away"
    assert stored(alice) == "away"
    presence.presence_disconnect(user_id=alice.pk, connection="tab-1")
    assert stored(alice) == "offline"

    assert presence.presence_connect(user_id=alice.pk, connection="tab-2") == "away"
    assert presence.presence_set(user_id=alice.pk, status="auto") == "online"
    with pytest.raises(ValueError):
        presence.presence_set(user_id=alice.pk, status="busy")


def test_a_dead_socket_expires(store, short_leases: float, alice: User) -> None:  # type: ignore[no-untyped-def]
    presence.presence_connect(user_id=alice.pk, connection="crashed-process")
    presence.collision_view(ticket_id=9, user_id=alice.pk, connection="crashed-process", viewing=True)
    time.sleep(short_leases + 0.1)

    presence.leases_sweep()

    assert stored(alice) == "offline"
    assert presence.collision_state(ticket_id=9) == ([], [])


def test_renewed_sockets_survive_and_closed_ones_stay_closed(store, short_leases: float, alice: User) -> None:  # type: ignore[no-untyped-def]
    presence.presence_connect(user_id=alice.pk, connection="live")
    presence.presence_connect(user_id=alice.pk, connection="closed")
    presence.presence_disconnect(user_id=alice.pk, connection="closed")
    for _ in range(4):
        time.sleep(short_leases / 3)
        presence.leases_renew(
            [
                presence.SocketLease(user_id=alice.pk, connection="live"),
                presence.SocketLease(user_id=alice.pk, connection="closed"),
            ]
        )
        time.sleep(presence.RENEW_SECONDS)
        presence.leases_sweep()

    assert stored(alice) == "online"
    assert store.live(f"agent:{alice.pk}", time.time()) == ["live"]


def test_collision_counts_each_agent_once(
    store, alice: User, bob: User, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        presence.collision_view(ticket_id=5, user_id=alice.pk, connection="a1", viewing=True)
        presence.collision_view(ticket_id=5, user_id=alice.pk, connection="a2", viewing=True)
        presence.collision_view(ticket_id=5, user_id=bob.pk, connection="b1", viewing=True)
        presence.collision_reply(ticket_id=5, user_id=bob.pk, connection="b1", replying=True)
        presence.collision_view(ticket_id=5, user_id=alice.pk, connection="a1", viewing=False)
        assert presence.collision_state(ticket_id=5) == (sorted([alice.pk, bob.pk]), [bob.pk])
        presence.collision_view(ticket_id=5, user_id=bob.pk, connection="b1", viewing=False)

    states = [
        (item.event["viewing"], item.event["replying"]) for item in callbacks if isinstance(item, Publication)
    ]
    # The second tab of the same agent and closing one of two tabs change nothing visible.
    assert states == [
        ([alice.pk], []),
        (sorted([alice.pk, bob.pk]), []),
        (sorted([alice.pk, bob.pk]), [bob.pk]),
        ([alice.pk], []),
    ]


def test_coming_online_offers_waiting_tickets_to_routing(
    store, api_channel, alice: User, billing, commits
) -> None:  # type: ignore[no-untyped-def]
    from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
    from tickets.models import Team, Ticket
    from tickets.services.ingest import ingest_inbound_message

    Team.objects.filter(pk=billing.pk).update(assignment_strategy=Team.Strategy.LEAST_LOADED)
    ticket = ingest_inbound_message(
        inbound=InboundMessage(
            channel_account_id=api_channel.pk,
            external_id="m-1",
            sender=IdentityClaim(IdentityKind.API, f"{api_channel.pk}:c1", verified=True),
            text="nessuno online?",
        )
    ).ticket
    assert Ticket.objects.get(pk=ticket.pk).assignee_id is None

    with commits(execute=True):
        presence.presence_connect(user_id=alice.pk, connection="tab-1")

    assert Ticket.objects.get(pk=ticket.pk).assignee_id == alice.pk
    presence.presence_disconnect(user_id=alice.pk, connection="tab-1")
