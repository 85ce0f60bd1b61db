from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.http import HttpRequest
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_agent, make_api_channel
from tickets.models import Team, Ticket, TicketEvent
from tickets.services.tickets import ticket_update
from tickets.tests.api_support import client_for, customer_writes, ids, new_ticket

URL = "/api/v1/tickets"


@pytest.fixture
def tech_channel(tech: Team) -> ChannelAccount:
    return make_api_channel(team=tech, trust_identities=True)


# --- authentication and visibility ------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_caller_is_told_to_authenticate() -> None:
    response = client_for(None).get(URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
def test_user_without_agent_profile_is_forbidden(api_channel: ChannelAccount) -> None:
    new_ticket(api_channel)
    customer_service_bot = User.objects.create_user("bot", password="password")

    response = client_for(customer_service_bot).get(URL)

    assert response.status_code == 403
    assert "agent profile" in response.json()["detail"]


@pytest.mark.django_db
def test_session_login_works_like_a_token(api_channel: ChannelAccount, alice: User) -> None:
    ticket = new_ticket(api_channel)

    client = APIClient(enforce_csrf_checks=True)
    # Sign-in throttling reads the request: Django's test login passes none unless given one.
    assert client.login(request=HttpRequest(), username="alice_rossi", password="password")

    assert ids(client.get(URL)) == [ticket.pk]
    # A session is a browser's: writes need its CSRF token, unlike token-authenticated calls.
    assert client.patch(f"{URL}/{ticket.pk}", {"priority": 3}, format="json").status_code == 403


@pytest.mark.django_db
def test_agents_list_only_their_teams_tickets(
    api_channel: ChannelAccount, tech_channel: ChannelAccount, alice: User, carla: User, sam: User
) -> None:
    billing_ticket = new_ticket(api_channel, text="fattura sbagliata")
    tech_ticket = new_ticket(tech_channel, text="fattura non si apre")

    assert ids(client_for(alice).get(URL)) == [billing_ticket.pk]
    assert ids(client_for(carla).get(URL)) == [tech_ticket.pk]
    assert sorted(ids(client_for(sam).get(URL))) == sorted([billing_ticket.pk, tech_ticket.pk])
    # Search never reaches into another team's tickets either.
    assert ids(client_for(alice).get(URL, {"q": "fattura"})) == [billing_ticket.pk]


@pytest.mark.django_db
def test_a_ticket_assigned_to_an_agent_outside_its_team_is_theirs_to_see(
    tech_channel: ChannelAccount, alice: User, sam: User
) -> None:
    ticket = new_ticket(tech_channel)
    ticket_update(ticket=ticket, actor=sam, assignee=alice)

    assert ids(client_for(alice).get(URL)) == [ticket.pk]
    assert client_for(alice).get(f"{URL}/{ticket.pk}").status_code == 200


@pytest.mark.django_db
def test_another_teams_ticket_is_not_found_on_every_endpoint(
    tech_channel: ChannelAccount, alice: User
) -> None:
    ticket = new_ticket(tech_channel)
    client = client_for(alice)
    missing = Ticket.objects.order_by("-pk").first().pk + 1000

    for url in (f"{URL}/{ticket.pk}", f"{URL}/{missing}"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json() == {"detail": "No such ticket."}
    assert client.get(f"{URL}/{ticket.pk}/messages").status_code == 404
    assert client.patch(f"{URL}/{ticket.pk}", {"priority": 4}, format="json").status_code == 404
    assert client.post(f"{URL}/{ticket.pk}/reply", {"text": "ciao"}, format="json").status_code == 404
    assert client.post(f"{URL}/{ticket.pk}/notes", {"text": "nota"}, format="json").status_code == 404
    ticket.refresh_from_db()
    assert ticket.priority == Ticket.Priority.NORMAL
    assert not ticket.messages.exclude(direction="inbound").exists()


# --- filters, search, ordering, pagination ------------------------------------------------------------


@pytest.mark.django_db
def test_filters_narrow_the_list(api_channel: ChannelAccount, alice: User, bob: User, billing: Team) -> None:
    crm = make_api_channel(team=billing, trust_identities=True)
    mine = new_ticket(api_channel)
    bobs = new_ticket(api_channel)
    unassigned_urgent = new_ticket(crm)
    ticket_update(ticket=mine, actor=alice, assignee=alice, tags=["Refund"], status=Ticket.Status.PENDING)
    ticket_update(ticket=bobs, actor=bob, assignee=bob)
    ticket_update(ticket=unassigned_urgent, actor=alice, priority=Ticket.Priority.URGENT)
    client = client_for(alice)

    assert ids(client.get(URL, {"assignee": "me"})) == [mine.pk]
    assert ids(client.get(URL, {"assignee": "none"})) == [unassigned_urgent.pk]
    assert ids(client.get(URL, {"assignee": bob.pk})) == [bobs.pk]
    assert ids(client.get(URL, {"status": "pending"})) == [mine.pk]
    assert sorted(ids(client.get(URL, {"status": ["new", "pending"]}))) == sorted(
        [mine.pk, bobs.pk, unassigned_urgent.pk]
    )
    assert ids(client.get(URL, {"priority": 4})) == [unassigned_urgent.pk]
    assert ids(client.get(URL, {"tag": "refund"})) == [mine.pk]
    assert ids(client.get(URL, {"channel": crm.pk})) == [unassigned_urgent.pk]
    assert ids(client.get(URL, {"team": billing.pk, "assignee": "me"})) == [mine.pk]
    assert ids(client.get(URL, {"team": billing.pk + 100})) == []


@pytest.mark.django_db
def test_text_search_covers_subject_messages_contact_and_identities(
    api_channel: ChannelAccount, alice: User
) -> None:
    by_subject = new_ticket(api_channel, subject="Rimborso ordine 77")
    by_message = new_ticket(api_channel, text="il pacco è arrivato rotto")
    by_name = new_ticket(api_channel, name="Giuseppe Verdi")
    by_email = new_ticket(api_channel, email="lucia.bianchi@example.com")
    client = client_for(alice)

    assert ids(client.get(URL, {"q": "RIMBORSO"})) == [by_subject.pk]
    assert ids(client.get(URL, {"q": "pacco"})) == [by_message.pk]
    assert ids(client.get(URL, {"q": "verdi"})) == [by_name.pk]
    assert ids(client.get(URL, {"q": "lucia.bianchi@"})) == [by_email.pk]


@pytest.mark.django_db
def test_a_ticket_matching_in_many_messages_is_listed_once(api_channel: ChannelAccount, alice: User) -> None:
    for _ in range(3):
        customer_writes(api_channel, sender="same", text="ancora il rimborso")

    assert len(ids(client_for(alice).get(URL, {"q": "rimborso"}))) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"priority": "9"}, "priority"),
        ({"assignee": "someone"}, "assignee"),
        ({"team": "billing"}, "team"),
        ({"channel": "1.5"}, "channel"),
        ({"page_size": "0"}, "page_size"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode()}, "cursor"),
        (
            {
                "cursor": base64.urlsafe_b64encode(
                    b'{"d": "n", "v": [2, "2024-02-30T10:00:00+00:00", 1]}'
                ).decode()
            },
            "cursor",
        ),
        (
            {
                "cursor": base64.urlsafe_b64encode(
                    b'{"d": "n", "v": [2, "0001-01-01T00:00:00+14:00", 1]}'
                ).decode()
            },
            "cursor",
        ),
    ],
)
def test_bad_query_parameters_are_400_naming_the_parameter(
    alice: User, params: dict[str, str], field: str
) -> None:
    response = client_for(alice).get(URL, params)

    assert response.status_code == 400
    assert list(response.json()) == [field]


@pytest.mark.django_db
def test_queue_order_is_priority_then_longest_waiting(api_channel: ChannelAccount, alice: User) -> None:
    first, second, third = (new_ticket(api_channel) for _ in range(3))
    now = timezone.now()
    Ticket.objects.filter(pk=first.pk).update(awaiting_agent_since=now - timedelta(minutes=5))
    Ticket.objects.filter(pk=second.pk).update(awaiting_agent_since=now - timedelta(minutes=50))
    Ticket.objects.filter(pk=third.pk).update(awaiting_agent_since=now - timedelta(minutes=1))
    ticket_update(ticket=third, actor=alice, priority=Ticket.Priority.HIGH)

    assert ids(client_for(alice).get(URL)) == [third.pk, second.pk, first.pk]


@pytest.mark.django_db
def test_cursor_pages_are_stable_while_tickets_arrive(api_channel: ChannelAccount, alice: User) -> None:
    tickets = [new_ticket(api_channel) for _ in range(5)]
    client = client_for(alice)

    page_one = client.get(URL, {"page_size": 2}).json()
    assert [row["id"] for row in page_one["results"]] == [tickets[0].pk, tickets[1].pk]
    assert page_one["previous"] is None
    # Newer and more urgent tickets arriving in between do not shift what the next page holds.
    urgent = new_ticket(api_channel)
    ticket_update(ticket=urgent, actor=alice, priority=Ticket.Priority.URGENT)
    new_ticket(api_channel)

    page_two = client.get(page_one["next"]).json()
    assert [row["id"] for row in page_two["results"]] == [tickets[2].pk, tickets[3].pk]
    back = client.get(page_two["previous"]).json()
    assert [row["id"] for row in back["results"]] == [tickets[0].pk, tickets[1].pk]

    rest: list[int] = []
    url = page_two["next"]
    while url:
        page = client.get(url).json()
        rest += [row["id"] for row in page["results"]]
        url = page["next"]
    assert rest[0] == tickets[4].pk
    assert urgent.pk not in rest  # it sorts before the cursor: it is on page one now, not a duplicate


@pytest.mark.django_db
def test_list_costs_the_same_queries_for_one_or_twenty_tickets(
    api_channel: ChannelAccount, alice: User
) -> None:
    client = client_for(alice)

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL, {"q": "Ciao"}).status_code == 200
        return len(captured)

    ticket = new_ticket(api_channel)
    ticket_update(ticket=ticket, actor=alice, assignee=alice, tags=["a", "b"])
    one = queries_for_list()
    for _ in range(19):
        other = new_ticket(api_channel)
        ticket_update(ticket=other, actor=alice, assignee=alice, tags=["c"])

    assert queries_for_list() == one
    assert len(client.get(URL).json()["results"]) == 20


# --- retrieve and change ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_retrieve_shows_the_ticket(api_channel: ChannelAccount, alice: User) -> None:
    ticket = new_ticket(api_channel, name="Maria Rossi", text="Il mio ordine non arriva")

    body = client_for(alice).get(f"{URL}/{ticket.pk}").json()

    assert body["subject"] == "Il mio ordine non arriva"
    assert body["status"] == "new"
    assert body["contact"] == {"id": ticket.contact_id, "name": "Maria Rossi"}
    assert body["team"]["name"] == "Billing"
    assert body["channel"] == {"id": api_channel.pk, "kind": "api", "name": api_channel.name}
    assert body["assignee"] is None
    assert body["seq"] == 2


@pytest.mark.django_db
def test_patch_changes_fields_through_the_service(api_channel: ChannelAccount, alice: User) -> None:
    ticket = new_ticket(api_channel)

    response = client_for(alice).patch(
        f"{URL}/{ticket.pk}",
        {
            "status": "pending",
            "priority": 3,
            "tags": ["Refund", "vip"],
            "assignee": alice.pk,
            "reason": "mine",
        },
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["priority"], body["tags"]) == ("pending", 3, ["refund", "vip"])
    assert body["assignee"]["username"] == "alice_rossi"
    recorded = TicketEvent.objects.filter(ticket=ticket, seq__gt=2)
    assert set(recorded.values_list("type", flat=True)) == {
        "ticket.status_changed",
        "ticket.priority_changed",
        "ticket.tags_changed",
        "ticket.assigned",
    }
    assert set(recorded.values_list("actor_id", flat=True)) == {alice.pk}
    assert body["seq"] == 6


@pytest.mark.django_db
def test_stale_expected_seq_is_409_with_the_current_ticket(
    api_channel: ChannelAccount, alice: User, bob: User
) -> None:
    ticket = new_ticket(api_channel)
    seen_seq = client_for(alice).get(f"{URL}/{ticket.pk}").json()["seq"]
    ticket_update(ticket=ticket, actor=bob, priority=Ticket.Priority.HIGH)

    response = client_for(alice).patch(
        f"{URL}/{ticket.pk}", {"priority": 1, "expected_seq": seen_seq}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["ticket"]["priority"] == Ticket.Priority.HIGH
    assert response.json()["ticket"]["seq"] == seen_seq + 1
    fresh = client_for(alice).patch(
        f"{URL}/{ticket.pk}", {"priority": 1, "expected_seq": seen_seq + 1}, format="json"
    )
    assert fresh.status_code == 200 and fresh.json()["priority"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"priority": 7}, "priority"),
        ({"team": 999999}, "team"),
        ({"assignee": 999999}, "assignee"),
        ({"tags": "not-a-list"}, "tags"),
        ({"expected_seq": -1, "priority": 1}, "expected_seq"),
        ({}, "non_field_errors"),
    ],
)
def test_bad_patch_is_400_naming_the_field(
    api_channel: ChannelAccount, alice: User, body: dict[str, object], field: str
) -> None:
    ticket = new_ticket(api_channel)

    response = client_for(alice).patch(f"{URL}/{ticket.pk}", body, format="json")

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.django_db
def test_reopening_beside_another_open_ticket_is_refused_on_status(
    api_channel: ChannelAccount, alice: User, settings
) -> None:  # type: ignore[no-untyped-def]
    old = customer_writes(api_channel, sender="same").ticket
    ticket_update(ticket=old, actor=alice, status=Ticket.Status.SOLVED)
    Ticket.objects.filter(pk=old.pk).update(
        solved_at=timezone.now() - timedelta(days=settings.REOPEN_WINDOW_DAYS + 1)
    )
    customer_writes(api_channel, sender="same")  # a follow-up ticket, open

    response = client_for(alice).patch(f"{URL}/{old.pk}", {"status": "open"}, format="json")

    assert response.status_code == 400
    assert "open ticket" in response.json()["status"][0]


@pytest.mark.django_db
def test_a_user_who_is_not_an_agent_cannot_be_assigned(api_channel: ChannelAccount, sam: User) -> None:
    ticket = new_ticket(api_channel)
    outsider = User.objects.create_user("outsider")

    response = client_for(sam).patch(f"{URL}/{ticket.pk}", {"assignee": outsider.pk}, format="json")

    assert response.status_code == 400
    assert "assignee" in response.json()


# --- who may assign and transfer ----------------------------------------------------------------------


@pytest.mark.django_db
def test_agent_assigns_to_self_or_a_teammate_not_to_another_team(
    api_channel: ChannelAccount, alice: User, bob: User, carla: User
) -> None:
    ticket = new_ticket(api_channel)
    client = client_for(alice)

    assert client.patch(f"{URL}/{ticket.pk}", {"assignee": alice.pk}, format="json").status_code == 200
    assert client.patch(f"{URL}/{ticket.pk}", {"assignee": bob.pk}, format="json").status_code == 200
    refused = client.patch(f"{URL}/{ticket.pk}", {"assignee": carla.pk}, format="json")

    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("assignee:")
    assert Ticket.objects.get(pk=ticket.pk).assignee == bob
    assert client.patch(f"{URL}/{ticket.pk}", {"assignee": None}, format="json").json()["assignee"] is None


@pytest.mark.django_db
def test_supervisor_assigns_anyone(api_channel: ChannelAccount, sam: User, carla: User) -> None:
    ticket = new_ticket(api_channel)

    response = client_for(sam).patch(f"{URL}/{ticket.pk}", {"assignee": carla.pk}, format="json")

    assert response.status_code == 200
    assert Ticket.objects.get(pk=ticket.pk).assignee == carla


@pytest.mark.django_db
def test_agent_hands_a_ticket_to_another_team_and_its_queue(
    api_channel: ChannelAccount, alice: User, carla: User, tech: Team
) -> None:
    ticket = new_ticket(api_channel)
    ticket_update(ticket=ticket, actor=alice, assignee=alice)

    response = client_for(alice).patch(f"{URL}/{ticket.pk}", {"team": tech.pk}, format="json")

    assert response.status_code == 200
    assert response.json()["team"]["name"] == "Tech"
    # Alice is not in Tech, so the ticket waits in Tech's queue rather than staying hers.
    assert response.json()["assignee"] is None
    assert client_for(alice).get(f"{URL}/{ticket.pk}").status_code == 404
    assert ids(client_for(carla).get(URL, {"assignee": "none"})) == [ticket.pk]


@pytest.mark.django_db
def test_transfer_keeps_an_assignee_who_is_in_the_new_team(
    tech_channel: ChannelAccount, sam: User, billing: Team
) -> None:
    ticket = new_ticket(tech_channel)
    both = make_agent("dario_neri", teams=[billing, Team.objects.get(name="Tech")])
    ticket_update(ticket=ticket, actor=sam, assignee=both)

    response = client_for(sam).patch(f"{URL}/{ticket.pk}", {"team": billing.pk}, format="json")

    assert response.json()["assignee"]["id"] == both.pk


@pytest.mark.django_db
def test_agent_transfer_with_an_assignee_of_the_new_team_is_allowed(
    api_channel: ChannelAccount, alice: User, carla: User, tech: Team
) -> None:
    ticket = new_ticket(api_channel)

    response = client_for(alice).patch(
        f"{URL}/{ticket.pk}", {"team": tech.pk, "assignee": carla.pk}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["assignee"]["id"] == carla.pk
