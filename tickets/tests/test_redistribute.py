"""Tickets taken from an agent: the chats of one who goes offline, everything a supervisor redistributes.

Alice and Bob are Billing's agents, Sam supervises; Billing assigns the least loaded.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import translation

from channels_in.models import ChannelAccount
from realtime import leases
from tickets.models import AgentProfile, Team, Ticket, TicketEvent
from tickets.services import presence
from tickets.services.redistribute import agent_offline_release, agent_tickets_redistribute
from tickets.tests.api_support import client_for, new_ticket
from tickets.tests.routing_support import assignee, assignees, channel, online, strategy

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def least_loaded(billing: Team) -> Team:
    return strategy(billing, Team.Strategy.LEAST_LOADED)


@pytest.fixture(autouse=True)
def own_leases() -> Iterator[None]:
    previous = leases.stores.use(leases.MemoryLeaseStore())
    yield
    leases.stores.use(previous)


@pytest.fixture
def webchat(billing: Team) -> ChannelAccount:
    return channel("webchat", billing)


def held_by(user: User, account: ChannelAccount, *, awaiting: bool = True) -> Ticket:
    ticket = new_ticket(account)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=user)
    if not awaiting:
        Ticket.objects.filter(pk=ticket.pk).update(awaiting_agent_since=None)
    return ticket


def unassigned_event(ticket: Ticket) -> TicketEvent:
    return TicketEvent.objects.get(ticket=ticket, type="ticket.assigned", payload__to=None)


# --- an agent going offline ------------------------------------------------------------------------------


def test_going_offline_hands_the_chats_awaiting_an_answer_to_someone_online(
    alice: User,
    bob: User,
    webchat: ChannelAccount,
    api_channel: ChannelAccount,
    django_capture_on_commit_callbacks,
) -> None:  # type: ignore[no-untyped-def]
    online(bob)
    waiting_chat = held_by(alice, webchat)
    answered_chat = held_by(alice, webchat, awaiting=False)
    waiting_api = held_by(alice, api_channel)
    presence.presence_connect(user_id=alice.pk, connection="tab-1")

    with django_capture_on_commit_callbacks(execute=True):
        presence.presence_disconnect(user_id=alice.pk, connection="tab-1")

    assert assignees([waiting_chat, answered_chat, waiting_api]) == [bob.pk, alice.pk, alice.pk]
    released = unassigned_event(waiting_chat)
    assert released.actor is None
    assert released.reason_data == {"code": "routing.agent_offline", "values": {"agent": "Alice Rossi"}}
    with translation.override("en"):
        assert released.reason_text.startswith("Alice Rossi went offline while the customer waited")
    assigned = TicketEvent.objects.get(ticket=waiting_chat, type="ticket.assigned", payload__to=bob.pk)
    assert assigned.reason_data["code"] == "routing.strategy.least_loaded"


def test_a_chat_nobody_online_can_take_waits_in_the_queue(alice: User, webchat: ChannelAccount) -> None:
    chat = held_by(alice, webchat)

    assert agent_offline_release(user_id=alice.pk) == 1

    assert assignee(chat) is None
    assert Ticket.objects.get(pk=chat.pk).team is not None


def test_going_away_or_being_back_online_keeps_the_chats(
    alice: User, bob: User, webchat: ChannelAccount, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    online(bob)
    chat = held_by(alice, webchat)
    presence.presence_connect(user_id=alice.pk, connection="tab-1")

    with django_capture_on_commit_callbacks(execute=True):
        presence.presence_set(user_id=alice.pk, status="away")
    assert assignee(chat) == alice.pk

    online(alice)  # back before the release ran
    assert agent_offline_release(user_id=alice.pk) == 0
    assert assignee(chat) == alice.pk


# --- a supervisor redistributing ---------------------------------------------------------------------------


def test_redistributing_unassigns_each_open_ticket_and_routes_it_past_the_agent(
    alice: User, bob: User, sam: User, api_channel: ChannelAccount
) -> None:
    online(alice)
    online(bob, capacity=2)
    urgent, normal, low = (held_by(alice, api_channel) for _ in range(3))
    Ticket.objects.filter(pk=urgent.pk).update(priority=Ticket.Priority.URGENT)
    Ticket.objects.filter(pk=low.pk).update(priority=Ticket.Priority.LOW)
    solved = held_by(alice, api_channel)
    Ticket.objects.filter(pk=solved.pk).update(status=Ticket.Status.SOLVED)

    outcome = agent_tickets_redistribute(agent_user_id=alice.pk, actor=sam)

    # Bob has room for two: the most urgent go to him; Alice, online and now empty, is passed over.
    assert outcome.reassigned == {urgent.pk: bob.pk, normal.pk: bob.pk}
    assert outcome.waiting == [low.pk]
    assert assignees([urgent, normal, low, solved]) == [bob.pk, bob.pk, None, alice.pk]
    released = unassigned_event(low)
    assert released.actor == sam
    assert released.reason_data == {"code": "routing.redistributed", "values": {"agent": "Alice Rossi"}}


def test_only_supervisors_redistribute_and_the_agent_must_exist(alice: User, bob: User, sam: User) -> None:
    with pytest.raises(PermissionDenied):
        agent_tickets_redistribute(agent_user_id=alice.pk, actor=bob)
    with pytest.raises(AgentProfile.DoesNotExist):
        agent_tickets_redistribute(agent_user_id=999_999, actor=sam)


def test_the_workspace_button_is_for_supervisors_only(
    client: Client, alice: User, bob: User, sam: User, api_channel: ChannelAccount
) -> None:
    online(bob)
    ticket = held_by(alice, api_channel)
    url = f"/supervisor/agents/{alice.pk}/redistribute/"

    client.force_login(alice)
    assert client.post(url).status_code == 403
    assert 'data-testid="agent-redistribute"' not in client.get("/inbox/mine/").content.decode()
    client.force_login(sam)
    assert f'action="{url}"' in client.get("/inbox/mine/").content.decode()
    assert client.get(url).status_code == 405
    assert client.post(f"/supervisor/agents/{999_999}/redistribute/").status_code == 404

    response = client.post(url, {"next": "/inbox/all/"}, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [("/inbox/all/", 302)]
    # Sam reads the workspace in Italian, the desk's language.
    assert "1 ticket aperto ridistribuito: 1 a un altro agente, 0 in attesa." in response.content.decode()
    assert assignee(ticket) == bob.pk


def test_the_api_redistributes_for_supervisors_and_admins_only(
    alice: User, bob: User, sam: User, api_channel: ChannelAccount
) -> None:
    online(bob, capacity=1)
    first, second = held_by(alice, api_channel), held_by(alice, api_channel)
    url = f"/api/v1/agents/{alice.pk}/redistribute"

    assert client_for(None).post(url).status_code in (401, 403)
    refused = client_for(bob).post(url)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Only supervisors and admins may redistribute an agent's tickets."}
    assert client_for(sam).post("/api/v1/agents/999999/redistribute").status_code == 404

    response = client_for(sam).post(url)

    assert response.status_code == 200
    assert response.json() == {
        "reassigned": [{"ticket": first.pk, "assignee": bob.pk}],
        "waiting": [second.pk],
    }


def test_the_api_endpoint_is_in_the_schema() -> None:
    schema = Client().get("/api/schema/", {"format": "json"}).json()

    operation = schema["paths"]["/api/v1/agents/{agent_id}/redistribute"]["post"]
    assert set(operation["responses"]) >= {"200", "403", "404"}
