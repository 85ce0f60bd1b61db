"""Every report as CSV rows, and the rows behind them (one per ticket), streamed.

``csv_rows`` yields lists of strings, the header first; ``csv_response`` streams them as a download.
The tickets' rows are read with a server-side cursor a chunk at a time and written out as they come,
so a year of tickets never sits in memory. Headers are stable machine names (English, as the API's
fields), times are ISO 8601 in the desk's time zone, durations whole seconds.

A cell of free text (a name, a tag) that a spreadsheet would take for a formula is prefixed with an
apostrophe: a tag typed as ``=HYPERLINK(...)`` stays text when the file is opened.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import datetime, tzinfo
from typing import Any

from django.contrib.auth.models import User
from django.http import StreamingHttpResponse

from tickets.channel_port import channel_account_model
from tickets.models import Team, Ticket
from tickets.reports.figures import (
    facts_in_scope,
    report_agents,
    report_heatmap,
    report_summary,
    report_volume,
)
from tickets.reports.filters import ReportFilter

REPORTS: tuple[str, ...] = ("summary", "volume", "heatmap", "agents", "tickets")
TICKET_COLUMNS = (
    "id",
    "created_at",
    "team",
    "channel",
    "assignee",
    "status",
    "priority",
    "first_response_at",
    "first_response_seconds",
    "solved_at",
    "resolution_seconds",
    "reopened",
    "sla_breached",
    "tags",
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CHUNK_ROWS = 2000
_FLUSH_BYTES = 64 * 1024
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PRIORITIES = {
    value: name.lower() for value, name in zip(Ticket.Priority.values, Ticket.Priority.names, strict=True)
}


def csv_rows(f: ReportFilter, report: str) -> Iterator[list[str]]:
    """The rows of ``report`` (one of ``REPORTS``) for ``f``, the header first."""
    if report not in REPORTS:
        raise ValueError(f"unknown report {report!r}")
    return _ROWS[report](f)


def csv_response(rows: Iterable[list[str]], *, filename: str) -> StreamingHttpResponse:
    """A download of ``rows`` as CSV, written as it is read."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:100] or "report.csv"
    response = StreamingHttpResponse(_encoded(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class _Pieces:
    """The pseudo-buffer ``csv.writer`` writes into: it keeps what it is given until taken."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.size = 0

    def write(self, text: str) -> None:
        self.pieces.append(text)
        self.size += len(text)

    def take(self) -> bytes:
        data = "".join(self.pieces).encode()
        self.pieces, self.size = [], 0
        return data


def _encoded(rows: Iterable[list[str]]) -> Iterator[bytes]:
    # Written in pieces of some tens of kilobytes: one network write per row would cost more than the row.
    buffer = _Pieces()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(row)
        if buffer.size >= _FLUSH_BYTES:
            yield buffer.take()
    if buffer.size:
        yield buffer.take()


def _summary_rows(f: ReportFilter) -> Iterator[list[str]]:
    summary = report_summary(f)
    yield ["metric", "value"]
    for name in ("created", "solved", "reopened", "messages_in", "replies_out"):
        yield [name, _number(summary[name])]
    for timing in ("first_response", "resolution"):
        for key in ("count", "median_seconds", "p90_seconds"):
            yield [f"{timing}_{key}", _number(summary[timing][key])]
    for key in ("met", "breached", "compliance_percent"):
        yield [f"sla_{key}", _number(summary["sla"][key])]
    yield ["csat", _number(summary["csat"])]
    yield ["nps", _number(summary["nps"])]


def _volume_rows(f: ReportFilter) -> Iterator[list[str]]:
    yield ["date", "created", "solved", "reopened", "backlog"]
    for day in report_volume(f):
        yield [day["date"], *(_number(day[key]) for key in ("created", "solved", "reopened", "backlog"))]


def _heatmap_rows(f: ReportFilter) -> Iterator[list[str]]:
    yield ["weekday", *(f"{hour:02d}" for hour in range(24))]
    for weekday, counts in zip(WEEKDAYS, report_heatmap(f), strict=True):
        yield [weekday, *(str(count) for count in counts)]


def _agents_rows(f: ReportFilter) -> Iterator[list[str]]:
    columns = (
        "agent_id",
        "name",
        "assigned",
        "solved",
        "replies",
        "first_response_median_seconds",
        "resolution_median_seconds",
    )
    yield list(columns)
    for row in report_agents(f):
        yield [_text(row[key]) if key == "name" else _number(row[key]) for key in columns]


def _ticket_rows(f: ReportFilter) -> Iterator[list[str]]:
    """One row per ticket created in the range, oldest first."""
    yield list(TICKET_COLUMNS)
    zone = f.time_zone
    teams: dict[int | None, str] = dict(Team.objects.values_list("pk", "name"))
    channels: dict[int | None, str] = dict(channel_account_model()._default_manager.values_list("pk", "name"))
    people = _people()
    facts = (
        facts_in_scope(f)
        .filter(created_at__gte=f.start, created_at__lt=f.end)
        .order_by("created_at", "ticket_id")
        .values_list(
            "ticket_id",
            "created_at",
            "team_id",
            "channel_id",
            "assignee_id",
            "status",
            "priority",
            "first_response_at",
            "first_response_seconds",
            "solved_at",
            "resolution_seconds",
            "reopened_count",
            "sla_policy_id",
            "sla_breached_at",
            "tag_names",
        )
    )
    for (
        ticket_id,
        created_at,
        team_id,
        channel_id,
        assignee_id,
        status,
        priority,
        first_response_at,
        first_response_seconds,
        solved_at,
        resolution_seconds,
        reopened_count,
        sla_policy_id,
        sla_breached_at,
        tag_names,
    ) in facts.iterator(chunk_size=_CHUNK_ROWS):
        yield [
            str(ticket_id),
            _moment(created_at, zone),
            _text(teams.get(team_id, "")),
            _text(channels.get(channel_id, "")),
            _text(_person(people, assignee_id)),
            status,
            _PRIORITIES.get(priority, str(priority)),
            _moment(first_response_at, zone),
            _number(first_response_seconds),
            _moment(solved_at, zone),
            _number(resolution_seconds),
            str(reopened_count),
            "" if sla_policy_id is None else ("1" if sla_breached_at is not None else "0"),
            _text(tag_names),
        ]


def _people() -> dict[int, str]:
    return {
        pk: f"{first} {last}".strip() or username
        for pk, first, last, username in User.objects.values_list("pk", "first_name", "last_name", "username")
    }


def _person(people: dict[int, str], user_id: int | None) -> str:
    if user_id is None:
        return ""
    return people.get(user_id, f"#{user_id}")


def _moment(moment: datetime | None, zone: tzinfo) -> str:
    return "" if moment is None else moment.astimezone(zone).isoformat(timespec="seconds")


def _number(value: Any) -> str:
    return "" if value is None else str(value)


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


_ROWS = {
    "summary": _summary_rows,
    "volume": _volume_rows,
    "heatmap": _heatmap_rows,
    "agents": _agents_rows,
    "tickets": _ticket_rows,
}
