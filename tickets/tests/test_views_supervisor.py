"""The dashboard's page and its JSON: who may open them, what they show, and that every number links
to exactly the tickets it counts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from tickets.dashboard import dashboard_snapshot, snapshot_data
from tickets.dashboard.figures import Figures
from tickets.dashboard.links import QUEUE_FIGURES
from tickets.models import AgentProfile, Team
from tickets.tests.dashboard_support import Desk, limited_supervisor, two_team_desk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    # A week-old day's chart series is cached (tickets/dashboard/intraday.py); each test reads its own.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def desk(billing: Team, tech: Team, alice: User, bob: User, carla: User) -> Desk:
    return two_team_desk(billing=billing, tech=tech, alice=alice, bob=bob, carla=carla)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def figure_links(page: str) -> dict[str, tuple[str, str]]:
    """Every linked figure of the page: its key, the URL it links to and the number it shows."""
    found = {}
    for match in re.finditer(r'<a href="([^"]+)"[^>]*data-figure="([^"]+)"[^>]*>([^<]*)</a>', page):
        found[match[2]] = (unescape(match[1]), match[3])
    return found


def listed(client: Client, url: str) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    assert response.context["next_query"] is None, url  # one page holds them all
    return {ticket.pk for ticket in response.context["tickets"]}


def test_anonymous_is_sent_to_sign_in_and_agents_are_refused(desk: Desk, alice: User) -> None:
    for path in ("/supervisor/", "/supervisor/data/", "/supervisor/?panels=1"):
        response = Client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
        assert signed_in(alice).get(path).status_code == 403
    assert signed_in(User.objects.create_user("mario")).get("/supervisor/data/").status_code == 403


def test_supervisors_land_on_the_dashboard_and_find_it_in_the_navigation(
    desk: Desk, sam: User, alice: User
) -> None:
    lia = limited_supervisor(desk.billing)
    for supervisor in (sam, lia):
        client = signed_in(supervisor)
        assert client.get("/")["Location"] == "/supervisor/"
        assert 'data-testid="nav-dashboard"' in client.get("/inbox/mine/").content.decode()
    admin = signed_in(User.objects.create_user("ada"))
    AgentProfile.objects.create(user=User.objects.get(username="ada"), role=AgentProfile.Role.ADMIN)
    assert admin.get("/")["Location"] == "/supervisor/"
    agent = signed_in(alice)
    assert agent.get("/")["Location"] == "/inbox/mine/"
    assert 'data-testid="nav-dashboard"' not in agent.get("/inbox/mine/").content.decode()


def test_the_page_shows_the_snapshot_and_the_json_is_the_same(desk: Desk, sam: User) -> None:
    client = signed_in(sam)
    page = client.get("/supervisor/").content.decode()
    links = figure_links(page)
    assert links[f"team.{desk.billing.pk}.waiting"][1] == "2"
    assert links[f"team.{desk.tech.pk}.open"][1] == "2"
    assert links["total.breached"][1] == "1"
    assert 'data-intraday-chart role="img"' in page and 'data-testid="intraday-numbers"' in page
    assert 'id="dashboard-data" type="application/json"' in page
    response = client.get("/supervisor/data/")
    assert response["Cache-Control"] == "no-store"
    data = response.json()
    expected = snapshot_data(dashboard_snapshot(user=sam))
    for volatile in ("now", "next_change_at"):
        data.pop(volatile), expected.pop(volatile)
    strip = ("messages_in_per_hour", "replies_out_per_hour")  # divided by the hours of a moving clock
    for row in [data["total"], expected["total"], *data["teams"], *expected["teams"]]:
        for name in strip:
            row.pop(name)
    assert data["teams"] == expected["teams"] and data["total"] == expected["total"]
    assert data["layout"] == expected["layout"]
    panels = client.get("/supervisor/?panels=1").content.decode()
    assert 'data-testid="teams-table"' in panels and "<html" not in panels


def _check_links(client: Client, links: dict[str, tuple[str, str]], expected: dict[str, Figures]) -> int:
    checked = 0
    for key, (url, _shown) in links.items():
        row, _dot, figure = key.rpartition(".")
        if figure not in (*QUEUE_FIGURES, "solved_today") or row not in expected:
            continue
        assert len(listed(client, url)) == getattr(expected[row], figure), (key, url)
        checked += 1
    return checked


def test_every_queue_number_links_to_exactly_its_tickets(desk: Desk, sam: User) -> None:
    client = signed_in(sam)
    snapshot = dashboard_snapshot(user=sam)
    expected = {row.key: row.figures for row in (*snapshot.teams, *snapshot.channels, snapshot.total)}
    links = figure_links(client.get("/supervisor/").content.decode())
    assert links[f"team.{desk.billing.pk}.waiting"][0].startswith(f"/inbox/team/{desk.billing.pk}/?")
    assert links["total.at_risk"][0] == "/inbox/all/?sla=risk"
    checked = _check_links(client, links, expected)
    assert checked == len(expected) * 7
    # The two tickets at risk in Billing are the ones the figure counts.
    at_risk = listed(client, links[f"team.{desk.billing.pk}.at_risk"][0])
    assert at_risk == {desk.tickets["due_soon"].pk, desk.tickets["warned_later"].pk}


def test_a_limited_supervisors_totals_link_to_a_search_of_their_teams(desk: Desk, carla: User) -> None:
    lia = limited_supervisor(desk.billing)
    # A Tech ticket assigned to Lia is hers to see, but not a figure of her teams: the list leaves it out.
    desk.tickets["waiting_tech"].assignee = lia
    desk.tickets["waiting_tech"].save(update_fields=["assignee"])
    client = signed_in(lia)
    snapshot = dashboard_snapshot(user=lia)
    expected = {row.key: row.figures for row in (*snapshot.teams, *snapshot.channels, snapshot.total)}
    links = figure_links(client.get("/supervisor/").content.decode())
    assert links["total.open"][0].startswith(f"/inbox/search/?team={desk.billing.pk}&")
    assert _check_links(client, links, expected) == len(expected) * 7
    assert not [key for key in links if key.startswith(f"team.{desk.tech.pk}")]
    assert f"agent.{carla.pk}." not in client.get("/supervisor/").content.decode()


def test_agents_numbers_link_to_their_tickets(desk: Desk, sam: User, alice: User) -> None:
    client = signed_in(sam)
    links = figure_links(client.get("/supervisor/").content.decode())
    mine = {desk.tickets[name].pk for name in ("due_soon", "on_hold", "chat_breached")}
    assert listed(client, links[f"agent.{alice.pk}.open_tickets"][0]) == mine
    assert listed(client, links[f"agent.{alice.pk}.chats"][0]) == {desk.tickets["chat_breached"].pk}
    assert listed(client, links[f"agent.{alice.pk}.solved_today"][0]) == set()


def test_a_dashboard_filter_that_means_nothing_is_refused_with_its_reason(desk: Desk, sam: User) -> None:
    client = signed_in(sam)
    for query, reason in (
        ("sla=late", "sla: 'late' is not one of"),
        ("team=billing", "team: 'billing' is neither"),
        ("assignee=me&assignee=you", "assignee: give it once"),
        ("solved=yesterday", "solved: 'yesterday'"),
        ("kind=Web%20Chat", "kind: a channel kind"),
    ):
        response = client.get(f"/inbox/all/?{query}")
        assert response.status_code == 400 and reason in response.content.decode(), query


def test_the_filter_form_keeps_the_dashboards_narrowing(desk: Desk, sam: User) -> None:
    page = signed_in(sam).get(f"/inbox/all/?team={desk.billing.pk}&sla=risk&status=new&status=open")
    html = page.content.decode()
    for name, value in (("team", desk.billing.pk), ("sla", "risk"), ("status", "new"), ("status", "open")):
        assert f'<input type="hidden" name="{name}" value="{value}">' in html
    assert {ticket.pk for ticket in page.context["tickets"]} == {
        desk.tickets["due_soon"].pk,
        desk.tickets["warned_later"].pk,
    }


def test_the_page_speaks_italian(desk: Desk, sam: User) -> None:
    AgentProfile.objects.filter(user=sam).update(ui_language="it")
    page = signed_in(sam).get("/supervisor/").content.decode()
    assert "In coda" in page and "A rischio SLA" in page and "Attesa più lunga" in page
    assert "Messaggi in arrivo oggi" in page and "Operatori" in page and "Nessun team" not in page


def test_the_data_endpoint_reads_a_fixed_number_of_queries(
    desk: Desk, sam: User, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(sam)
    client.get("/supervisor/data/")
    # Session, user, profile, then the snapshot's own (tickets/tests/test_dashboard.py).
    with django_assert_max_num_queries(14):
        assert client.get("/supervisor/data/").status_code == 200
