"""Presence (online / away / offline) and collision (who views or replies to a ticket).

Both are derived from live sockets. Each socket registers a *lease* that its web process renews every
few seconds; a socket whose process died stops being renewed and expires after ``LEASE_SECONDS``. The
leases themselves are ``realtime.leases``: in Redis in scaled mode, in process memory in embedded mode.

Presence is then written to ``AgentProfile.presence`` (what routing reads, in any process) under the
profile's row lock, and a change is published to supervisors and the agent's teams. Several tabs hold
several leases, but the agent counts once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from realtime import publisher
from realtime.leases import lease_store
from tickets import events
from tickets.models import AgentProfile
from tickets.services import capacity

logger = logging.getLogger(__name__)

LEASE_SECONDS = float(settings.LIVE_LEASE_SECONDS)
# How long a socket's action waits for its collision snapshot to leave (Redis unreachable: it goes on).
COLLISION_SEND_SECONDS = 2.0
# How often a web process renews its sockets' leases and sweeps expired ones: a few times per lease.
RENEW_SECONDS = max(LEASE_SECONDS / 4.5, 0.5)

Presence = AgentProfile.Presence


def _agent_key(user_id: int) -> str:
    return f"agent:{user_id}"


def _viewing_key(ticket_id: int) -> str:
    return f"ticket:{ticket_id}:viewing"


def _replying_key(ticket_id: int) -> str:
    return f"ticket:{ticket_id}:replying"


_COLLISION_INDEX = "collision-tickets"


@dataclass(frozen=True)
class SocketLease:
    """What one socket holds: its agent, and the tickets it views and replies to."""

    user_id: int
    connection: str
    viewing: frozenset[int] = frozenset()
    replying: frozenset[int] = frozenset()


# --- presence --------------------------------------------------------------------------------------------


def presence_connect(*, user_id: int, connection: str) -> str:
    """A socket of ``user_id`` opened; returns the agent's presence afterwards."""
    lease_store().put(_agent_key(user_id), {connection: time.time() + LEASE_SECONDS})
    return presence_recompute(user_id=user_id)


def presence_disconnect(*, user_id: int, connection: str) -> str:
    lease_store().drop(_agent_key(user_id), [connection])
    return presence_recompute(user_id=user_id)


def presence_set(*, user_id: int, status: str) -> str:
    """The agent chooses a presence (``away``, ``offline`` to appear offline, ``online``) or ``auto``."""
    if status not in {*Presence.values, "auto"}:
        raise ValueError(f"unknown presence {status!r}")
    manual = "" if status == "auto" else status
    AgentProfile.objects.filter(user_id=user_id).update(presence_manual=manual)
    return presence_recompute(user_id=user_id)


def presence_recompute(*, user_id: int) -> str:
    """Derive presence from live leases and the manual choice; store and announce a change.

    Runs under the profile's row lock and reads the leases inside it, so when two processes race (one
    tab opening, another closing) the last to take the lock sees the final leases and writes the truth.
    """
    with transaction.atomic():
        profile = AgentProfile.objects.select_for_update().filter(user_id=user_id).first()
        if profile is None:
            return Presence.OFFLINE
        connected = bool(lease_store().live(_agent_key(user_id), time.time()))
        wanted = (profile.presence_manual or Presence.ONLINE) if connected else Presence.OFFLINE
        if wanted == profile.presence:
            return wanted
        profile.presence = wanted
        profile.presence_changed_at = timezone.now()
        profile.save(update_fields=["presence", "presence_changed_at"])
        team_ids = list(profile.teams.values_list("pk", flat=True))
        if wanted == Presence.ONLINE:
            # Routing decides who gets what; this only makes sure nothing waits for the next customer
            # message to be looked at again.
            capacity.capacity_freed_request(user_id=user_id)
        elif wanted == Presence.OFFLINE:
            from tickets import tasks

            # After commit, not here: releasing locks tickets, and routers lock a ticket before a profile.
            tasks.route_from_offline_agent.delay_on_commit(user_id)
        events.publish_on_commit(
            groups=events.agent_audience_groups(team_ids=team_ids),
            event=events.ephemeral_event(
                "presence.changed", agent_id=user_id, presence=wanted, manual=profile.presence_manual
            ),
        )
    return wanted


# --- collision -------------------------------------------------------------------------------------------


def _member(user_id: int, connection: str) -> str:
    return f"{user_id}|{connection}"


def _agents(members: Iterable[str]) -> list[int]:
    return sorted({int(member.split("|", 1)[0]) for member in members})


def collision_state(*, ticket_id: int) -> tuple[list[int], list[int]]:
    """Agent ids viewing and replying to the ticket now (each agent once, however many tabs)."""
    store, now = lease_store(), time.time()
    viewing = _agents(store.live(_viewing_key(ticket_id), now))
    return viewing, _agents(store.live(_replying_key(ticket_id), now))


def _collision_publish(ticket_id: int) -> None:
    viewing, replying = collision_state(ticket_id=ticket_id)
    if not viewing and not replying:
        lease_store().index_drop(_COLLISION_INDEX, str(ticket_id))
    events.publish_on_commit(
        groups=[events.ticket_group(ticket_id)],
        event=events.ephemeral_event(
            "ticket.collision", ticket_id=ticket_id, viewing=viewing, replying=replying
        ),
    )
    # A collision event is a snapshot, and snapshots from two web processes are ordered only by what
    # happens between them: this one must be sent before the socket's action is acknowledged, or an
    # older snapshot could reach screens after a newer one made by another process.
    publisher.flush(COLLISION_SEND_SECONDS)


def collision_view(*, ticket_id: int, user_id: int, connection: str, viewing: bool) -> None:
    """A socket starts or stops viewing a ticket; stopping also stops replying."""
    store, member = lease_store(), _member(user_id, connection)
    before = collision_state(ticket_id=ticket_id)
    if viewing:
        store.index_add(_COLLISION_INDEX, str(ticket_id))
        store.put(_viewing_key(ticket_id), {member: time.time() + LEASE_SECONDS})
    else:
        store.drop(_viewing_key(ticket_id), [member])
        store.drop(_replying_key(ticket_id), [member])
    if collision_state(ticket_id=ticket_id) != before:
        _collision_publish(ticket_id)


def collision_reply(*, ticket_id: int, user_id: int, connection: str, replying: bool) -> None:
    store, member = lease_store(), _member(user_id, connection)
    before = collision_state(ticket_id=ticket_id)
    if replying:
        store.index_add(_COLLISION_INDEX, str(ticket_id))
        store.put(_replying_key(ticket_id), {member: time.time() + LEASE_SECONDS})
    else:
        store.drop(_replying_key(ticket_id), [member])
    if collision_state(ticket_id=ticket_id) != before:
        _collision_publish(ticket_id)


def typing_announce(*, ticket_id: int, user_id: int, state: bool) -> None:
    events.publish_on_commit(
        groups=[events.ticket_group(ticket_id)],
        event=events.ephemeral_event("typing", ticket_id=ticket_id, agent_id=user_id, state=state),
    )
    # The visitor learns only that someone is typing, never who.
    events.publish_on_commit(
        groups=events.ticket_visitor_groups(ticket_id),
        event=events.ephemeral_event("visitor.typing", ticket_id=ticket_id, state=state),
    )


# --- upkeep ----------------------------------------------------------------------------------------------


def leases_renew(leases: Iterable[SocketLease]) -> None:
    """A web process vouches for its open sockets; called every ``RENEW_SECONDS``.

    Only existing leases are extended: a socket that closed while this ran stays closed.
    """
    expires = time.time() + LEASE_SECONDS
    entries: list[tuple[str, dict[str, float]]] = []
    for lease in leases:
        member = _member(lease.user_id, lease.connection)
        entries.append((_agent_key(lease.user_id), {lease.connection: expires}))
        entries += [(_viewing_key(ticket_id), {member: expires}) for ticket_id in lease.viewing]
        entries += [(_replying_key(ticket_id), {member: expires}) for ticket_id in lease.replying]
    if entries:
        lease_store().put_many(entries, only_existing=True)


def leases_sweep() -> dict[str, int]:
    """Expire leases nobody renewed (a crashed process, a lost connection) and fix what they held.

    Every process runs it each period, so one stuck or dying process cannot starve the others of
    their sweep; running it twice is safe, as each change is a locked, conditional recompute.
    """
    store, now = lease_store(), time.time()
    changed_agents = 0
    present = list(AgentProfile.objects.exclude(presence=Presence.OFFLINE).values_list("user_id", flat=True))
    alive = store.expire_many([_agent_key(user_id) for user_id in present], now)
    for user_id, has_socket in zip(present, alive, strict=True):
        if not has_socket:
            presence_recompute(user_id=user_id)
            changed_agents += 1
    changed_tickets = 0
    for raw in store.index(_COLLISION_INDEX):
        ticket_id = int(raw)
        removed = store.expire(_viewing_key(ticket_id), now) + store.expire(_replying_key(ticket_id), now)
        if removed:
            _collision_publish(ticket_id)
            changed_tickets += 1
        elif collision_state(ticket_id=ticket_id) == ([], []):
            store.index_drop(_COLLISION_INDEX, raw)
    return {"agents": changed_agents, "tickets": changed_tickets}
