"""CSV rows of every report and of the tickets behind them: the same numbers as the figures, one row per
ticket with its timings in the desk's time zone, formula-safe text, streamed in pieces with memory that
does not grow with the rows."""

from __future__ import annotations

import csv
import io
import tracemalloc
from dataclasses import replace
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from tickets.models import Contact, Team, Ticket, TicketFact
from tickets.reports import export
from tickets.reports.export import REPORTS, TICKET_COLUMNS, csv_response, csv_rows
from tickets.reports.figures import report_agents, report_heatmap, report_summary, report_volume
from tickets.reports.rollup import rollups_fold, rollups_rebuild
from tickets.services.tickets import ticket_update
from tickets.tests.reports_support import Desk, desk_story, last_days, now_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(billing: Team, tech: Team, alice: User, bob: User, carla: User) -> Desk:
    made = desk_story(billing=billing, tech=tech, alice=alice, bob=bob, carla=carla)
    rollups_fold()
    return made


def test_every_report_has_its_header_first_and_the_figures_numbers(desk: Desk) -> None:
    f = last_days(7)
    assert REPORTS == ("summary", "volume", "heatmap", "agents", "tickets")

    summary = dict(list(csv_rows(f, "summary"))[1:])
    figures = report_summary(f)
    assert summary["created"] == str(figures["created"])
    assert summary["first_response_median_seconds"] == str(figures["first_response"]["median_seconds"])
    assert summary["sla_compliance_percent"] == str(figures["sla"]["compliance_percent"])
    assert summary["csat"] == "" and summary["nps"] == ""

    volume = list(csv_rows(f, "volume"))
    assert volume[0] == ["date", "created", "solved", "reopened", "backlog"]
    assert volume[1:] == [
        [day["date"], str(day["created"]), str(day["solved"]), str(day["reopened"]), str(day["backlog"])]
        for day in report_volume(f)
    ]

    heatmap = list(csv_rows(f, "heatmap"))
    assert heatmap[0] == ["weekday", *(f"{hour:02d}" for hour in range(24))]
    assert [row[0] for row in heatmap[1:]] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert [[int(n) for n in row[1:]] for row in heatmap[1:]] == report_heatmap(f)

    agents = list(csv_rows(f, "agents"))
    assert agents[0][:2] == ["agent_id", "name"]
    assert [row[1] for row in agents[1:]] == [row["name"] for row in report_agents(f)]


def test_the_tickets_rows_are_one_per_ticket_created_in_the_range_with_its_timings(desk: Desk) -> None:
    f = last_days(7)

    rows = list(csv_rows(f, "tickets"))

    assert rows[0] == list(TICKET_COLUMNS)
    by_id = {int(row[0]): dict(zip(TICKET_COLUMNS, row, strict=True)) for row in rows[1:]}
    created_in_range = Ticket.objects.filter(created_at__gte=f.start, created_at__lt=f.end)
    assert set(by_id) == set(created_in_range.values_list("pk", flat=True))
    assert desk.tickets["old"].pk not in by_id
    solved = now_of(desk.tickets["solved"])
    row = by_id[solved.pk]
    assert row["created_at"] == solved.created_at.astimezone(f.time_zone).isoformat(timespec="seconds")
    assert row["created_at"].endswith(("+01:00", "+02:00"))  # the desk's time zone
    assert row["team"] == "Billing" and row["assignee"] == "Alice Rossi"
    assert (row["status"], row["priority"], row["tags"]) == ("solved", "normal", "invoice")
    assert row["first_response_seconds"] == str(TicketFact.objects.get(ticket=solved).first_response_seconds)
    assert int(row["first_response_seconds"]) == pytest.approx(2 * 3600, abs=60)
    assert int(row["resolution_seconds"]) == pytest.approx(6 * 3600, abs=60)
    assert row["sla_breached"] == ""  # no policy
    assert by_id[desk.tickets["breached"].pk]["sla_breached"] == "1"
    assert by_id[desk.tickets["business"].pk]["sla_breached"] == "0"
    assert by_id[desk.tickets["reopened"].pk]["reopened"] == "1"
    waiting = by_id[desk.tickets["waiting"].pk]
    assert waiting["solved_at"] == "" and waiting["resolution_seconds"] == ""
    created = [row[1] for row in rows[1:]]
    assert created == sorted(created)


def test_the_tickets_rows_keep_to_the_filters_scope(desk: Desk) -> None:
    tech_only = replace(last_days(7), team_ids=frozenset({desk.tech.pk}))

    rows = list(csv_rows(tech_only, "tickets"))[1:]

    assert [int(row[0]) for row in rows] == [desk.tickets["waiting"].pk]
    assert list(csv_rows(replace(last_days(7), team_ids=frozenset()), "tickets")) == [list(TICKET_COLUMNS)]


def test_text_a_spreadsheet_would_run_stays_text(desk: Desk) -> None:
    ticket_update(ticket=now_of(desk.tickets["waiting"]), actor=desk.carla, tags=["=hyperlink(x)", "+1"])
    rollups_fold()

    row = next(row for row in csv_rows(last_days(7), "tickets") if row[0] == str(desk.tickets["waiting"].pk))

    assert row[TICKET_COLUMNS.index("tags")] == "'+1,=hyperlink(x)"


def test_an_unknown_report_is_refused(desk: Desk) -> None:
    with pytest.raises(ValueError, match="unknown report"):
        csv_rows(last_days(7), "everything")


def test_the_download_streams_csv_in_pieces(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "_FLUSH_BYTES", 200)

    response = csv_response(csv_rows(last_days(7), "tickets"), filename='tickets "7 days"/../x.csv')

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="tickets__7_days__.._x.csv"'
    pieces = list(response.streaming_content)
    assert len(pieces) > 2
    parsed = list(csv.reader(io.StringIO(b"".join(pieces).decode())))
    assert parsed == list(csv_rows(last_days(7), "tickets"))


def _tickets_made(count: int) -> None:
    contact = Contact.objects.create(name="Molti Ticket")
    now = timezone.now()
    Ticket.objects.bulk_create(
        Ticket(
            contact=contact,
            subject=f"#{number}",
            status=Ticket.Status.SOLVED,
            created_at=now - timedelta(minutes=number),
            solved_at=now,
        )
        for number in range(count)
    )


def _peak_while_exporting() -> tuple[int, int]:
    tracemalloc.start()
    try:
        rows = sum(1 for _row in csv_rows(last_days(30), "tickets"))
        return rows, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_however_many_tickets_are_exported(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "_CHUNK_ROWS", 250)
    _tickets_made(1500)
    rollups_rebuild()
    few_rows, few_peak = _peak_while_exporting()
    _tickets_made(6000)
    rollups_rebuild()

    many_rows, many_peak = _peak_while_exporting()

    assert (few_rows, many_rows) == (1501, 7501)
    # Five times the rows, read a fixed number at a time: a list of them would take five times the memory.
    assert many_peak < 2 * few_peak, (few_peak, many_peak)


def test_the_tickets_are_read_through_a_server_side_cursor(desk: Desk) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("server-side cursors are PostgreSQL's")
    rows = csv_rows(last_days(7), "tickets")
    next(rows), next(rows)

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        (open_cursors,) = cursor.fetchone()

    assert open_cursors == 1
    assert len(list(rows)) == 8
