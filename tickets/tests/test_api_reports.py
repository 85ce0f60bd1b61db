"""The reports API: the figures as JSON and CSV for supervisors and admins, a limited supervisor's teams
only, agents refused, bad filters answered 400 naming the parameter, and all of it in the schema."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from tests.fixtures.personas import make_agent
from tickets.models import AgentProfile, Team
from tickets.reports.figures import report_agents, report_heatmap, report_summary, report_volume
from tickets.reports.rollup import rollups_fold
from tickets.tests.api_support import client_for
from tickets.tests.reports_support import Desk, desk_story, last_days

pytestmark = pytest.mark.django_db

JSON_REPORTS = ("summary", "volume", "heatmap", "agents")


@pytest.fixture
def desk(billing: Team, tech: Team, alice: User, bob: User, carla: User) -> Desk:
    made = desk_story(billing=billing, tech=tech, alice=alice, bob=bob, carla=carla)
    rollups_fold()
    return made


@pytest.fixture
def lia(billing: Team) -> User:
    """Lia supervises Billing only."""
    return make_agent(
        "lia_limitata", role=AgentProfile.Role.SUPERVISOR, teams=[billing], limited_to_teams=True
    )


def week_params() -> dict[str, str]:
    f = last_days(7)
    return {"from": f.days()[0].isoformat(), "to": f.days()[-1].isoformat()}


def parsed(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_a_supervisor_gets_each_report_as_the_figures_give_it(desk: Desk, sam: User) -> None:
    f = last_days(7)
    expected = {
        "summary": report_summary(f),
        "volume": report_volume(f),
        "heatmap": report_heatmap(f),
        "agents": report_agents(f),
    }

    for report in JSON_REPORTS:
        response = client_for(sam).get(f"/api/v1/reports/{report}", week_params())
        assert response.status_code == 200, report
        assert response.json() == expected[report], report
    assert expected["summary"]["created"] == 9


def test_the_filters_narrow_the_report(desk: Desk, sam: User) -> None:
    client = client_for(sam)

    tech = client.get("/api/v1/reports/summary", {**week_params(), "team": desk.tech.pk}).json()
    tagged = client.get("/api/v1/reports/summary", {**week_params(), "tag": "invoice"}).json()
    alice = client.get("/api/v1/reports/agents", {**week_params(), "agent": desk.alice.pk}).json()

    assert tech["created"] == 1
    assert tagged["created"] == 2
    assert [row["agent_id"] for row in alice] == [desk.alice.pk]


def test_every_report_downloads_as_csv_by_its_path_or_format(desk: Desk, sam: User) -> None:
    client = client_for(sam)
    for report in (*JSON_REPORTS, "tickets"):
        response = client.get(f"/api/v1/reports/{report}.csv", week_params())
        assert response.status_code == 200, report
        assert response.streaming
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith(f'attachment; filename="{report}-')
        rows = parsed(response)
        assert rows[0], report
    tickets = parsed(client.get("/api/v1/reports/tickets.csv", week_params()))
    assert len(tickets) == 1 + 9
    volume = client.get("/api/v1/reports/volume", {**week_params(), "format": "csv"})
    assert volume.status_code == 200 and volume["Content-Type"].startswith("text/csv")
    assert parsed(volume)[0] == ["date", "created", "solved", "reopened", "backlog"]
    assert client.get("/api/v1/reports/everything.csv").status_code == 404


def test_a_session_signed_supervisor_downloads_too(desk: Desk, sam: User) -> None:
    client = Client()
    client.force_login(sam)

    response = client.get("/api/v1/reports/tickets.csv", week_params())

    assert response.status_code == 200
    assert len(parsed(response)) == 10


def test_agents_and_strangers_are_refused_everywhere(desk: Desk, alice: User) -> None:
    for path in (
        *(f"/api/v1/reports/{report}" for report in JSON_REPORTS),
        "/api/v1/reports/summary?format=csv",
        "/api/v1/reports/tickets.csv",
    ):
        refused = client_for(alice).get(path)
        assert refused.status_code == 403, path
        assert refused["Content-Type"] == "application/json", path
        assert client_for(None).get(path).status_code == 401, path


def test_a_limited_supervisor_sees_only_their_teams(desk: Desk, lia: User) -> None:
    client = client_for(lia)

    summary = client.get("/api/v1/reports/summary", week_params()).json()
    agents = client.get("/api/v1/reports/agents", week_params()).json()
    tickets = parsed(client.get("/api/v1/reports/tickets.csv", week_params()))

    billing_only = report_summary(replace(last_days(7), team_ids=frozenset({desk.billing.pk})))
    assert summary == billing_only
    assert desk.carla.pk in {row["agent_id"] for row in agents}  # her reply on a ticket that is Billing's now
    assert {row[2] for row in tickets[1:]} == {"Billing"}
    other_team = client.get("/api/v1/reports/summary", {"team": desk.tech.pk})
    assert other_team.status_code == 403
    assert client.get("/api/v1/reports/tickets.csv", {"team": desk.tech.pk}).status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"team": "424242"}, "team"),
        ({"channel": "x"}, "channel"),
        ({"agent": "424242"}, "agent"),
        ({"tag": "nothing-like-it"}, "tag"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(sam: User, params: dict[str, str], field: str) -> None:
    for path in (
        "/api/v1/reports/summary",
        "/api/v1/reports/volume?format=csv",
        "/api/v1/reports/tickets.csv",
    ):
        response = client_for(sam).get(path, params)
        assert response.status_code == 400, path
        assert response["Content-Type"] == "application/json"
        assert list(response.json()) == [field]
        assert response.json()[field][0]


def test_a_bad_filter_is_explained_in_italian(sam: User) -> None:
    response = client_for(sam).get(
        "/api/v1/reports/summary", {"from": "2026-03-02", "to": "2026-03-01"}, HTTP_ACCEPT_LANGUAGE="it"
    )

    assert response.status_code == 400
    assert response.json() == {"to": ["L'ultimo giorno viene prima del primo."]}


def test_the_reports_are_in_the_schema_without_warnings(alice: User) -> None:
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS, {**GENERATOR_STATS._warn_cache, **GENERATOR_STATS._error_cache}

    for report in JSON_REPORTS:
        operation = schema["paths"][f"/api/v1/reports/{report}"]["get"]
        assert operation["tags"] == ["reports"]
        assert {parameter["name"] for parameter in operation["parameters"]} == {
            "from",
            "to",
            "team",
            "channel",
            "agent",
            "tag",
            "format",
        }
        assert {"application/json", "text/csv"} <= set(operation["responses"]["200"]["content"])
        assert "400" in operation["responses"] and "403" in operation["responses"]
    download = schema["paths"]["/api/v1/reports/{report}.csv"]["get"]
    assert set(download["responses"]["200"]["content"]) == {"text/csv"}


@pytest.mark.django_db
def test_a_date_given_blank_is_a_400_not_the_default(sam: User) -> None:
    for name in ("from", "to"):
        response = client_for(sam).get("/api/v1/reports/summary", {name: ""})
        assert response.status_code == 400, response.content
        assert name in response.json()


@pytest.mark.django_db
def test_an_unknown_format_is_a_400_naming_it(sam: User) -> None:
    response = client_for(sam).get("/api/v1/reports/summary", {"format": "xlsx"})
    assert response.status_code == 400 and "format" in response.json()
