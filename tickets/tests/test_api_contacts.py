from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_api_channel
from tickets.models import Contact, ContactMerge, Team, Ticket
from tickets.services.tickets import ticket_update
from tickets.tests.api_support import client_for, customer_writes, ids


@pytest.fixture
def tech_channel(tech: Team) -> ChannelAccount:
    return make_api_channel(team=tech, trust_identities=True)


@pytest.mark.django_db
def test_search_by_name_or_identity(api_channel: ChannelAccount, alice: User) -> None:
    maria = customer_writes(api_channel, sender="a", name="Maria Rossi", email="maria@example.com").ticket
    luca = customer_writes(api_channel, sender="b", name="Luca Bianchi").ticket
    client = client_for(alice)

    assert ids(client.get("/api/v1/contacts", {"q": "rossi"})) == [maria.contact_id]
    assert ids(client.get("/api/v1/contacts", {"q": "MARIA@EXAMPLE"})) == [maria.contact_id]
    assert ids(client.get("/api/v1/contacts")) == [luca.contact_id, maria.contact_id]


@pytest.mark.django_db
def test_contact_shows_only_the_tickets_the_agent_may_see(
    api_channel: ChannelAccount, tech_channel: ChannelAccount, alice: User, sam: User
) -> None:
    billing_ticket = customer_writes(api_channel, sender="a", email="maria@example.com").ticket
    ticket_update_to_closed(billing_ticket, sam)
    tech_ticket = customer_writes(tech_channel, sender="t", email="maria@example.com").ticket
    assert tech_ticket.contact_id == billing_ticket.contact_id

    as_alice = client_for(alice).get(f"/api/v1/contacts/{billing_ticket.contact_id}").json()
    as_sam = client_for(sam).get(f"/api/v1/contacts/{billing_ticket.contact_id}").json()

    assert [row["id"] for row in as_alice["tickets"]] == [billing_ticket.pk]
    assert as_alice["ticket_count"] == 1
    assert sorted(row["id"] for row in as_sam["tickets"]) == sorted([billing_ticket.pk, tech_ticket.pk])
    assert as_sam["ticket_count"] == 2
    assert {identity["kind"] for identity in as_alice["identities"]} == {"api", "email"}
    listed = client_for(alice).get("/api/v1/contacts").json()["results"]
    assert listed[0]["ticket_count"] == 1


def ticket_update_to_closed(ticket: Ticket, actor: User) -> None:
    ticket_update(ticket=ticket, actor=actor, status=Ticket.Status.CLOSED)


@pytest.mark.django_db
def test_contact_list_costs_the_same_queries_for_one_or_twenty(
    api_channel: ChannelAccount, alice: User
) -> None:
    client = client_for(alice)
    customer_writes(api_channel, sender="c0", email="c0@example.com")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/contacts").status_code == 200
        return len(captured)

    one = queries()
    for number in range(1, 20):
        customer_writes(api_channel, sender=f"c{number}", email=f"c{number}@example.com")

    assert len(ids(client.get("/api/v1/contacts"))) == 20
    assert queries() == one


@pytest.mark.django_db
def test_merge_and_undo_through_the_api(api_channel: ChannelAccount, alice: User) -> None:
    source_ticket = customer_writes(api_channel, sender="a").ticket
    target_ticket = customer_writes(api_channel, sender="b").ticket
    client = client_for(alice)

    merged = client.post(
        f"/api/v1/contacts/{source_ticket.contact_id}/merge",
        {"into": target_ticket.contact_id, "reason": "stessa persona"},
        format="json",
    )

    assert merged.status_code == 201
    body = merged.json()
    assert (body["source"], body["target"], body["moved_ticket_ids"]) == (
        source_ticket.contact_id,
        target_ticket.contact_id,
        [source_ticket.pk],
    )
    assert ids(client.get("/api/v1/contacts")) == [target_ticket.contact_id]
    timeline = client.get(f"/api/v1/tickets/{target_ticket.pk}/messages").json()["results"]
    assert {row["ticket"] for row in timeline} == {source_ticket.pk, target_ticket.pk}
    again = client.post(
        f"/api/v1/contacts/{source_ticket.contact_id}/merge",
        {"into": target_ticket.contact_id},
        format="json",
    )
    assert again.status_code == 409

    undone = client.post(f"/api/v1/contact-merges/{body['id']}/undo")

    assert undone.status_code == 200 and undone.json()["undone_at"] is not None
    assert Contact.objects.get(pk=source_ticket.contact_id).merged_into is None
    assert Ticket.objects.get(pk=source_ticket.pk).status == Ticket.Status.NEW
    assert client.post(f"/api/v1/contact-merges/{body['id']}/undo").status_code == 409


@pytest.mark.django_db
@pytest.mark.parametrize(("into", "status"), [(None, 400), ("self", 400), (999999, 400), ("abc", 400)])
def test_bad_merge_requests_name_into(
    api_channel: ChannelAccount, alice: User, into: object, status: int
) -> None:
    contact_id = customer_writes(api_channel, sender="a").ticket.contact_id
    body = {} if into is None else {"into": contact_id if into == "self" else into}

    response = client_for(alice).post(f"/api/v1/contacts/{contact_id}/merge", body, format="json")

    assert response.status_code == status
    assert list(response.json()) == ["into"]
    assert not ContactMerge.objects.exists()


@pytest.mark.django_db
def test_agent_cannot_fold_another_teams_open_ticket_into_theirs(
    api_channel: ChannelAccount, tech_channel: ChannelAccount, alice: User, sam: User
) -> None:
    billing_ticket = customer_writes(api_channel, sender="a").ticket
    tech_ticket = customer_writes(tech_channel, sender="t").ticket
    url = f"/api/v1/contacts/{tech_ticket.contact_id}/merge"

    refused = client_for(alice).post(url, {"into": billing_ticket.contact_id}, format="json")

    assert refused.status_code == 403
    assert Ticket.objects.get(pk=tech_ticket.pk).is_open
    assert client_for(sam).post(url, {"into": billing_ticket.contact_id}, format="json").status_code == 201


@pytest.mark.django_db
def test_only_the_merging_agent_or_a_supervisor_undoes(
    api_channel: ChannelAccount, alice: User, bob: User, sam: User
) -> None:
    source = customer_writes(api_channel, sender="a").ticket.contact_id
    target = customer_writes(api_channel, sender="b").ticket.contact_id
    merge_id = (
        client_for(alice)
        .post(f"/api/v1/contacts/{source}/merge", {"into": target}, format="json")
        .json()["id"]
    )

    assert client_for(bob).post(f"/api/v1/contact-merges/{merge_id}/undo").status_code == 403
    assert client_for(sam).post(f"/api/v1/contact-merges/{merge_id}/undo").status_code == 200
    assert client_for(bob).post("/api/v1/contact-merges/999999/undo").status_code == 404
