from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.fixtures.personas import make_agent
from tickets.models import AgentProfile, CannedResponse, Team
from tickets.tests.api_support import client_for

CANNED = "/api/v1/canned-responses"


@pytest.mark.django_db
def test_teams_are_listed_by_name(alice: User, tech: Team, billing: Team) -> None:
    rows = client_for(alice).get("/api/v1/teams").json()["results"]

    assert [row["name"] for row in rows] == ["Billing", "Tech"]


@pytest.mark.django_db
def test_agents_list_and_me(alice: User, carla: User, sam: User) -> None:
    client = client_for(alice)

    rows = client.get("/api/v1/agents").json()["results"]
    me = client.get("/api/v1/agents/me").json()

    assert [row["username"] for row in rows] == ["alice_rossi", "carla_verdi", "sam_supervisor"]
    assert me["id"] == alice.pk
    assert (me["name"], me["role"], [team["name"] for team in me["teams"]]) == (
        "Alice Rossi",
        "agent",
        ["Billing"],
    )


@pytest.mark.django_db
def test_agent_list_costs_the_same_queries_for_one_or_twenty(billing: Team, tech: Team) -> None:
    first = make_agent("agent_0", teams=[billing])
    client = client_for(first)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/agents").status_code == 200
        return len(captured)

    one = queries()
    for number in range(1, 20):
        make_agent(f"agent_{number}", teams=[billing, tech])

    assert len(client.get("/api/v1/agents").json()["results"]) == 20
    assert queries() == one


@pytest.mark.django_db
def test_supervisor_writes_canned_responses_and_placeholders_stay_text(sam: User, alice: User) -> None:
    body = "Ciao {{ contact.first_name }}, il rimborso arriva in {{ days }} giorni."

    created = client_for(sam).post(
        CANNED, {"title": "Rimborso", "shortcut": "rimborso", "body": body}, format="json"
    )

    assert created.status_code == 201
    stored = CannedResponse.objects.get(pk=created.json()["id"])
    assert stored.body == body and stored.created_by == sam
    changed = client_for(sam).patch(f"{CANNED}/{stored.pk}", {"title": "Rimborso in corso"}, format="json")
    assert changed.status_code == 200 and changed.json()["title"] == "Rimborso in corso"
    assert client_for(alice).get(f"{CANNED}/{stored.pk}").json()["body"] == body
    assert client_for(sam).delete(f"{CANNED}/{stored.pk}").status_code == 204
    assert not CannedResponse.objects.exists()


@pytest.mark.django_db
def test_agents_read_but_do_not_write_canned_responses(alice: User, sam: User) -> None:
    response = CannedResponse.objects.create(title="Saluto", shortcut="ciao", body="Ciao!", created_by=sam)
    client = client_for(alice)

    assert [row["shortcut"] for row in client.get(CANNED).json()["results"]] == ["ciao"]
    assert client.post(CANNED, {"title": "x", "shortcut": "x", "body": "x"}, format="json").status_code == 403
    assert client.patch(f"{CANNED}/{response.pk}", {"body": "Salve"}, format="json").status_code == 403
    assert client.delete(f"{CANNED}/{response.pk}").status_code == 403
    assert CannedResponse.objects.get().body == "Ciao!"


@pytest.mark.django_db
def test_team_canned_responses_are_for_that_team(alice: User, carla: User, sam: User, tech: Team) -> None:
    CannedResponse.objects.create(title="Tutti", shortcut="tutti", body="...")
    CannedResponse.objects.create(title="Tecnico", shortcut="reset", body="...", team=tech)

    assert [row["shortcut"] for row in client_for(alice).get(CANNED).json()["results"]] == ["tutti"]
    assert [row["shortcut"] for row in client_for(carla).get(CANNED).json()["results"]] == ["reset", "tutti"]
    assert [row["shortcut"] for row in client_for(sam).get(CANNED).json()["results"]] == ["reset", "tutti"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x", "body": "x"}, "shortcut"),
        ({"title": "x", "shortcut": "has spaces", "body": "x"}, "shortcut"),
        ({"title": "x", "shortcut": "dup", "body": "x"}, "shortcut"),
        ({"shortcut": "ok", "body": "x"}, "title"),
        ({"title": "x", "shortcut": "ok", "body": "x", "team": 999999}, "team"),
    ],
)
def test_bad_canned_response_is_400_naming_the_field(sam: User, body: dict[str, object], field: str) -> None:
    CannedResponse.objects.create(title="Dup", shortcut="dup", body="...")

    response = client_for(sam).post(CANNED, body, format="json")

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.django_db
def test_admin_role_writes_too(billing: Team) -> None:
    admin = make_agent("ada_admin", role=AgentProfile.Role.ADMIN)

    response = client_for(admin).post(CANNED, {"title": "x", "shortcut": "x", "body": "x"}, format="json")

    assert response.status_code == 201


@pytest.mark.django_db
def test_canned_and_team_lists_cost_the_same_queries_for_one_or_twenty(sam: User) -> None:
    client = client_for(sam)
    CannedResponse.objects.create(title="r0", shortcut="r0", body="...", created_by=sam)

    def queries() -> tuple[int, int]:
        counts = []
        for url in (CANNED, "/api/v1/teams"):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            counts.append(len(captured))
        return counts[0], counts[1]

    one = queries()
    for number in range(1, 20):
        team = Team.objects.create(name=f"Team {number}")
        CannedResponse.objects.create(
            title=f"r{number}", shortcut=f"r{number}", body="...", team=team, created_by=sam
        )

    assert len(client.get(CANNED).json()["results"]) == 20
    assert len(client.get("/api/v1/teams").json()["results"]) == 21
    assert queries() == one


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["title", "shortcut", "body"])
def test_a_canned_response_field_that_is_not_a_string_is_400(sam: User, field: str) -> None:
    body: dict[str, object] = {"title": "Saluto", "shortcut": "ciao", "body": "Buongiorno", field: 7}

    response = client_for(sam).post(CANNED, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not CannedResponse.objects.exists()
