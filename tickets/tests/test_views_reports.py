"""The reports page and its CSV downloads: who may open them, what each supervisor sees, the filters,
the refusals, and the files."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_agent, make_api_channel
from tickets.models import AgentProfile, Team, Ticket
from tickets.reports.export import REPORTS
from tickets.reports.filters import desk_time_zone
from tickets.reports.rollup import rollups_rebuild
from tickets.services.messages import message_send_reply
from tickets.services.tickets import ticket_update
from tickets.tests.api_support import new_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def lia(billing: Team) -> User:
    """Lia supervises Billing only."""
    return make_agent(
        "lia_limitata", role=AgentProfile.Role.SUPERVISOR, teams=[billing], limited_to_teams=True
    )


@pytest.fixture
def tech_channel(tech: Team) -> ChannelAccount:
    return make_api_channel(team=tech, trust_identities=True)


@pytest.fixture
def desk(
    alice: User, carla: User, api_channel: ChannelAccount, tech_channel: ChannelAccount
) -> dict[str, Ticket]:
    """Billing: one ticket answered and solved by Alice (tagged), one waiting; Tech: one solved by Carla."""
    tickets = {
        "billing_solved": _worked(api_channel, alice, tags=["fatturazione"]),
        "billing_waiting": new_ticket(api_channel, text="Nessuno mi ha ancora risposto"),
        "tech_solved": _worked(tech_channel, carla),
    }
    rollups_rebuild()
    return tickets


def _worked(channel: ChannelAccount, agent: User, *, tags: list[str] | None = None) -> Ticket:
    ticket = new_ticket(channel, text="La fattura non torna")
    ticket_update(ticket=ticket, actor=agent, assignee=agent, tags=tags or [])
    message_send_reply(ticket=ticket, author=agent, text="Ecco la fattura corretta.")
    return ticket_update(ticket=ticket, actor=agent, status=Ticket.Status.SOLVED)


def client_as(user: User | None, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_login(user)
    return client


def csv_of(response: Any) -> list[list[str]]:
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


# --- who may open them ---------------------------------------------------------------------------------


def test_signed_out_visitors_are_sent_to_sign_in() -> None:
    for path in ("/reports/", "/reports/tickets.csv"):
        response = client_as(None).get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=/reports/")


def test_an_agent_is_refused_the_page_and_the_files(alice: User, desk: dict[str, Ticket]) -> None:
    client = client_as(alice)
    assert client.get("/reports/").status_code == 403
    for report in REPORTS:
        assert client.get(f"/reports/{report}.csv").status_code == 403
    assert b'data-testid="nav-reports"' not in client.get("/inbox/mine/").content


def test_supervisors_find_the_page_in_the_navigation(sam: User, lia: User) -> None:
    for user in (sam, lia):
        page = client_as(user).get("/inbox/mine/")
        assert b'data-testid="nav-reports"' in page.content and b'href="/reports/"' in page.content


# --- what each supervisor sees -------------------------------------------------------------------------


def test_a_supervisor_sees_every_team(sam: User, desk: dict[str, Ticket], alice: User, carla: User) -> None:
    response = client_as(sam).get("/reports/")

    assert response.status_code == 200
    summary = response.context["summary"]
    assert (summary["created"], summary["solved"], summary["reopened"]) == (3, 2, 0)
    assert summary["first_response"]["count"] == 2 and summary["resolution"]["count"] == 2
    assert (summary["csat"], summary["nps"]) == ("—", "—")
    assert [row["agent_id"] for row in response.context["agents"]] == [alice.pk, carla.pk]
    html = response.content.decode()
    assert 'data-testid="summary-created">3<' in html
    assert html.count('class="heat-') == 7 * 24
    # The charts' numbers travel as JSON blocks (no inline script), the same numbers as the table's.
    volume = response.context["volume"]
    assert 'id="report-volume-data" type="application/json"' in html
    assert sum(volume["chart"]["series"][0]["values"]) == 3 == sum(row["created"] for row in volume["rows"])
    assert volume["backlog_chart"]["series"][0]["values"][-1] == 1
    assert len(volume["rows"]) == 30  # the last 30 days by default
    # Every download repeats the days shown, spelled out.
    today = timezone.now().astimezone(desk_time_zone()).date()
    first = (today - timedelta(days=29)).isoformat()
    links = {link["report"]: link["url"] for link in response.context["downloads"]}
    assert set(links) == set(REPORTS)
    assert links["tickets"] == f"/reports/tickets.csv?from={first}&to={today.isoformat()}"


def test_a_limited_supervisor_sees_only_their_teams(
    lia: User, desk: dict[str, Ticket], alice: User, tech: Team, billing: Team, carla: User
) -> None:
    client = client_as(lia)
    response = client.get("/reports/")

    assert response.status_code == 200
    assert response.context["summary"]["created"] == 2
    assert [row["agent_id"] for row in response.context["agents"]] == [alice.pk]
    form = response.context["form"]
    assert form["teams"] == [(billing.pk, billing.name)]
    assert carla.pk not in [pk for pk, _name in form["agents"]]
    rows = csv_of(client.get("/reports/tickets.csv"))
    assert sorted(int(row[0]) for row in rows[1:]) == sorted(
        [desk["billing_solved"].pk, desk["billing_waiting"].pk]
    )
    # Another team's figures are refused outright, on the page and in the files.
    assert client.get(f"/reports/?team={tech.pk}").status_code == 403
    assert client.get(f"/reports/agents.csv?team={tech.pk}").status_code == 403


# --- filters -------------------------------------------------------------------------------------------


def test_the_filters_narrow_the_figures(
    sam: User, desk: dict[str, Ticket], tech: Team, carla: User, tech_channel: ChannelAccount
) -> None:
    client = client_as(sam)

    def created(query: str) -> int:
        response = client.get(f"/reports/?{query}")
        assert response.status_code == 200, response.content
        return int(response.context["summary"]["created"])

    assert created(f"team={tech.pk}") == 1
    assert created(f"channel={tech_channel.pk}") == 1
    assert created(f"agent={carla.pk}") == 1
    assert created("tag=fatturazione") == 1
    assert created("tag=FATTURAZIONE") == 1
    # A range before any ticket: nothing created, the form shows the days asked for.
    old = client.get("/reports/?from=2020-01-01&to=2020-01-31")
    assert old.context["summary"]["created"] == 0
    assert old.context["form"]["values"]["from"] == "2020-01-01"
    assert len(old.context["volume"]["rows"]) == 31


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("from=2026-05-10&to=2026-05-01", "to", "before the first"),
        ("from=2020-01-01&to=2025-01-01", "from", "at most 2 years"),
        ("from=2026-13-01", "from", "YYYY-MM-DD"),
        ("from=yesterday", "from", "YYYY-MM-DD"),
        ("team=999999999", "team", "no team"),
        ("team=billing", "team", "whole number"),
        ("channel=999999999", "channel", "no channel"),
        ("agent=999999999", "agent", "no agent"),
        ("tag=never-used", "tag", "no tag"),
    ],
)
def test_a_bad_filter_is_explained_in_the_form(
    sam: User, desk: dict[str, Ticket], query: str, field: str, words: str
) -> None:
    client = client_as(sam)

    page = client.get(f"/reports/?{query}")

    assert page.status_code == 400
    html = page.content.decode()
    assert 'data-testid="report-error"' in html and words in html
    assert page.context["form"]["error"].field == field
    assert 'aria-invalid="true"' in html
    assert 'data-testid="report-summary"' not in html  # no figures for a filter that was refused
    download = client.get(f"/reports/tickets.csv?{query}")
    assert download.status_code == 400
    assert download["Content-Type"].startswith("text/plain")
    assert download.content.decode().startswith(f"{field}: ") and words in download.content.decode()


def test_a_bad_filter_is_explained_in_italian(sam: User) -> None:
    page = client_as(sam, "it").get("/reports/?from=2026-05-10&to=2026-05-01")

    assert page.status_code == 400
    html = page.content.decode()
    assert "Rapporti" in html and "Impossibile preparare il rapporto" in html


def test_the_page_reads_in_italian(sam: User, desk: dict[str, Ticket]) -> None:
    html = client_as(sam, "it").get("/reports/").content.decode()

    for words in ("Rapporti", "Volume per giorno", "Ore più intense", "Scarica in CSV", "Lunedì", "Creati"):
        assert words in html, words


# --- the files -----------------------------------------------------------------------------------------


def test_every_report_downloads_as_csv(sam: User, desk: dict[str, Ticket]) -> None:
    client = client_as(sam)
    today = timezone.now().astimezone(desk_time_zone()).date().isoformat()
    query = f"from={today}&to={today}"

    files = {}
    for report in REPORTS:
        response = client.get(f"/reports/{report}.csv?{query}")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"] == (
            f'attachment; filename="sportello-{report}-{today}-{today}.csv"'
        )
        files[report] = csv_of(response)

    assert files["summary"][0] == ["metric", "value"] and ["created", "3"] in files["summary"]
    assert files["volume"][1][:2] == [today, "3"]
    assert files["heatmap"][0][0] == "weekday" and len(files["heatmap"]) == 8
    assert len(files["agents"]) == 3
    header, *rows = files["tickets"]
    assert header[:3] == ["id", "created_at", "team"]
    assert sorted(int(row[0]) for row in rows) == sorted(ticket.pk for ticket in desk.values())
    solved = next(row for row in rows if int(row[0]) == desk["billing_solved"].pk)
    assert solved[header.index("status")] == "solved"
    assert solved[header.index("first_response_seconds")].isdigit()
    assert solved[header.index("tags")] == "fatturazione"


def test_an_unknown_report_is_not_found(sam: User) -> None:
    assert client_as(sam).get("/reports/everything.csv").status_code == 404


def test_the_page_costs_the_same_for_more_tickets(
    sam: User, desk: dict[str, Ticket], api_channel: ChannelAccount, django_assert_max_num_queries: Any
) -> None:
    client = client_as(sam)
    client.get("/reports/")  # sessions, the language and the desk's zone read once
    for _ in range(5):
        new_ticket(api_channel)
    rollups_rebuild()

    with django_assert_max_num_queries(30):
        response = client.get("/reports/")

    assert response.context["summary"]["created"] == 8
