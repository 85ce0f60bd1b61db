"""The reports page in real Chromium: a supervisor opens it, changes the range, reads the charts and the
tables, and downloads a CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from channels_in.models import ChannelAccount
from tickets.models import Ticket
from tickets.reports.filters import desk_time_zone
from tickets.reports.rollup import rollups_rebuild
from tickets.services.messages import message_send_reply
from tickets.services.tickets import ticket_update
from tickets.tests.api_support import new_ticket

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_a_supervisor_reads_the_reports_and_downloads_the_tickets(
    page_as: Any, sam: User, alice: User, api_channel: ChannelAccount, tmp_path: Path
) -> None:
    solved = new_ticket(api_channel, text="La fattura di marzo non torna")
    ticket_update(ticket=solved, actor=alice, assignee=alice, tags=["fatturazione"])
    message_send_reply(ticket=solved, author=alice, text="Ecco la fattura corretta.")
    ticket_update(ticket=solved, actor=alice, status=Ticket.Status.SOLVED)
    waiting = new_ticket(api_channel, text="Aspetto ancora una risposta")
    rollups_rebuild()
    today = timezone.now().astimezone(desk_time_zone()).date()

    page = page_as(sam)
    page.goto("/inbox/mine/")
    page.click("[data-testid=nav-reports]")
    page.wait_for_selector("[data-testid=report-summary]")
    assert page.inner_text("[data-testid=summary-created]") == "2"

    # A week instead of the default 30 days.
    page.fill("[data-testid=report-from]", (today - timedelta(days=6)).isoformat())
    page.fill("[data-testid=report-to]", today.isoformat())
    page.click("[data-testid=report-show]")
    page.wait_for_url(f"**/reports/?from={(today - timedelta(days=6)).isoformat()}*")
    assert page.inner_text("[data-testid=summary-created]") == "2"
    assert page.inner_text("[data-testid=summary-csat]") == "—"  # no surveys yet

    # Both charts are drawn, each beside a table of the same numbers.
    page.wait_for_selector("[data-testid=chart-volume][data-drawn=true] canvas")
    page.wait_for_selector("[data-testid=chart-backlog][data-drawn=true] canvas")
    page.click("[data-testid=report-volume] summary")
    rows = page.locator("[data-testid=table-volume] tbody tr")
    assert rows.count() == 7
    assert rows.nth(6).locator("td").nth(0).inner_text() == "2"
    heat = page.locator("[data-testid=table-heatmap] tbody tr")
    assert heat.count() == 7
    assert (
        sum(int(text) for text in page.locator("[data-testid=table-heatmap] td.total").all_inner_texts()) == 2
    )
    assert "Alice Rossi" in page.inner_text("[data-testid=table-agents]")

    with page.expect_download() as info:
        page.click("[data-testid=csv-tickets]")
    download = info.value
    first = (today - timedelta(days=6)).isoformat()
    assert download.suggested_filename == f"sportello-tickets-{first}-{today.isoformat()}.csv"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    header, *lines = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert header[0] == "id"
    assert sorted(int(line[0]) for line in lines) == sorted([solved.pk, waiting.pk])

    # A range the reports refuse is explained in the form, and the page still works.
    page.fill("[data-testid=report-from]", today.isoformat())
    page.fill("[data-testid=report-to]", (today - timedelta(days=3)).isoformat())
    page.click("[data-testid=report-show]")
    assert "The last day comes before the first." in page.inner_text("[data-testid=report-error]")
    assert page.locator("[data-testid=report-summary]").count() == 0
    assert page.js_errors == []


def test_an_agent_finds_no_reports(page_as: Any, alice: User) -> None:
    page = page_as(alice)
    page.goto("/inbox/mine/")
    assert page.locator("[data-testid=nav-reports]").count() == 0
    response = page.goto("/reports/")
    assert response is not None and response.status == 403
