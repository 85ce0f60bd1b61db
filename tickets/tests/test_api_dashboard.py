"""``GET /api/v1/dashboard``: the page's figures, the same scope rules, documented in the schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tickets.dashboard import dashboard_snapshot, snapshot_data
from tickets.models import Team
from tickets.tests.api_support import client_for
from tickets.tests.dashboard_support import Desk, limited_supervisor, two_team_desk

pytestmark = pytest.mark.django_db
# Divided by the hours of a moving clock, or the clock itself.
VOLATILE = ("now", "next_change_at", "messages_in_per_hour", "replies_out_per_hour")


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    # A week-old day's chart series is cached (tickets/dashboard/intraday.py); each test reads its own.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def desk(billing: Team, tech: Team, alice: User, bob: User, carla: User) -> Desk:
    return two_team_desk(billing=billing, tech=tech, alice=alice, bob=bob, carla=carla)


def steady(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: steady(value) for key, value in data.items() if key not in VOLATILE}
    if isinstance(data, list):
        return [steady(value) for value in data]
    return data


def test_anonymous_agents_and_strangers_are_refused(desk: Desk, alice: User) -> None:
    assert APIClient().get("/api/v1/dashboard").status_code == 401
    refused = client_for(alice).get("/api/v1/dashboard")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only supervisors and admins may read the dashboard."
    assert client_for(User.objects.create_user("mario")).get("/api/v1/dashboard").status_code == 403


def test_a_supervisor_gets_the_pages_figures(desk: Desk, sam: User) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=sam).key}")
    response = client.get("/api/v1/dashboard")
    assert response.status_code == 200
    data = response.json()
    assert steady(data) == steady(snapshot_data(dashboard_snapshot(user=sam)))
    billing = next(row for row in data["teams"] if row["id"] == desk.billing.pk)
    assert (billing["waiting"], billing["at_risk"], billing["breached"]) == (2, 2, 1)
    assert data["all_teams"] is True and data["total"]["waiting"] == 3
    assert client.post("/api/v1/dashboard", {}, format="json").status_code == 405


def test_a_limited_supervisor_gets_their_teams_only(desk: Desk, sam: User, carla: User) -> None:
    lia = limited_supervisor(desk.billing)
    data = client_for(lia).get("/api/v1/dashboard").json()
    assert data["all_teams"] is False and data["team_ids"] == [desk.billing.pk]
    assert [row["id"] for row in data["teams"]] == [desk.billing.pk]
    everyone = client_for(sam).get("/api/v1/dashboard").json()
    billing = next(row for row in everyone["teams"] if row["id"] == desk.billing.pk)
    assert steady(data["total"]) == steady({k: v for k, v in billing.items() if k not in ("id", "name")})
    assert carla.pk not in {agent["id"] for agent in data["agents"]}
    assert sum(data["intraday"]["today"]["arrivals"]) == 7


def test_the_schema_documents_it() -> None:
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/dashboard"]["get"]
    assert operation["tags"] == ["dashboard"]
    assert {"200", "401", "403"} <= set(operation["responses"])
    dashboard = schema["components"]["schemas"]["Dashboard"]
    assert {"total", "teams", "channels", "agents", "intraday"} <= set(dashboard["properties"])
    assert "at_risk" in schema["components"]["schemas"]["Figures"]["properties"]
