"""The reports page (``/reports/``) and its CSV downloads (``/reports/<report>.csv``).

Supervisors and admins only (``supervised_team_ids`` is the gate: an agent gets 403, anyone signed out
goes to the sign-in page). The figures are read from the roll-ups by ``tickets.reports``; this module
reads the filter from the query, puts the figures into words and chart data, and streams the CSV. A
filter the reports refuse is shown in the form with its reason, with status 400.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from tickets.access import supervised_team_ids
from tickets.channel_port import channel_account_model
from tickets.models import Tag, Team
from tickets.reports.export import REPORTS, csv_response, csv_rows
from tickets.reports.figures import report_agents, report_heatmap, report_summary, report_volume
from tickets.reports.filters import ReportFilter, ReportFilterError, report_filter_from
from tickets.sla_display import duration_words, sla_words

FILTER_FIELDS = ("from", "to", "team", "channel", "agent", "tag")
HEAT_LEVELS = 5
QUICK_RANGES = (7, 30, 90)
_TAG_CHOICES = 200


@login_required
def reports_page(request: HttpRequest) -> HttpResponse:
    scope = supervised_team_ids(request.user)
    try:
        report_filter = report_filter_from(request.GET, user=request.user)
    except ReportFilterError as error:
        refused = {"form": _form(request.GET, scope=scope, error=error)}
        return render(request, "reports/reports.html", refused, status=400)
    shown = _shown_values(request.GET, report_filter)
    context: dict[str, Any] = {
        "form": _form(shown, scope=scope),
        "summary": _summary(report_summary(report_filter)),
        "volume": _volume(report_volume(report_filter)),
        "heatmap": _heatmap(report_heatmap(report_filter)),
        "agents": _agents(report_agents(report_filter)),
        "downloads": _downloads(shown),
        "quick_ranges": _quick_ranges(shown, report_filter),
        "period": _period(report_filter),
    }
    return render(request, "reports/reports.html", context)


@login_required
def report_csv(request: HttpRequest, report: str) -> HttpResponseBase:
    supervised_team_ids(request.user)
    if report not in REPORTS:
        raise Http404("No such report.")
    try:
        report_filter = report_filter_from(request.GET, user=request.user)
    except ReportFilterError as error:
        return HttpResponse(
            f"{error.field}: {error.message}\n", status=400, content_type="text/plain; charset=utf-8"
        )
    first, last = _first_last(report_filter)
    filename = f"sportello-{report}-{first.isoformat()}-{last.isoformat()}.csv"
    return csv_response(csv_rows(report_filter, report), filename=filename)


# --- the form ------------------------------------------------------------------------------------------


def _first_last(report_filter: ReportFilter) -> tuple[date, date]:
    zone = report_filter.time_zone
    first = report_filter.start.astimezone(zone).date()
    last = (report_filter.end - timedelta(microseconds=1)).astimezone(zone).date()
    return first, last


def _shown_values(params: Any, report_filter: ReportFilter) -> dict[str, str]:
    """The filter as the form shows it and the downloads repeat it: the days spelled out, so a download
    made after midnight still covers the days on screen."""
    first, last = _first_last(report_filter)
    values = {name: str(params.get(name, "")).strip() for name in FILTER_FIELDS}
    values.update({"from": first.isoformat(), "to": last.isoformat()})
    return values


def _form(values: Any, *, scope: list[int] | None, error: ReportFilterError | None = None) -> dict[str, Any]:
    teams = Team.objects.order_by("name", "id")
    agents = User.objects.filter(agent__isnull=False, is_active=True)
    if scope is not None:
        teams = teams.filter(pk__in=scope)
        agents = agents.filter(agent__teams__in=scope)
    channels = channel_account_model()._default_manager.order_by("name", "pk").values_list("pk", "name")
    return {
        "values": {name: str(values.get(name, "") or "").strip() for name in FILTER_FIELDS},
        "error": error,
        "teams": list(teams.values_list("pk", "name")),
        "channels": list(channels),
        "agents": [
            (pk, f"{first} {last}".strip() or username)
            for pk, first, last, username in agents.distinct()
            .order_by("first_name", "last_name", "username")
            .values_list("pk", "first_name", "last_name", "username")
        ],
        "tags": list(Tag.objects.order_by("name").values_list("name", flat=True)[:_TAG_CHOICES]),
    }


def _downloads(values: dict[str, str]) -> list[dict[str, str]]:
    query = urlencode({name: value for name, value in values.items() if value})
    labels = {
        "summary": pgettext("reports", "Summary"),
        "volume": pgettext("reports", "Volume by day"),
        "heatmap": pgettext("reports", "Busiest hours"),
        "agents": pgettext("reports", "Agents"),
        "tickets": _("Every ticket, with its timings"),
    }
    return [
        {
            "report": report,
            "label": labels.get(report, report),
            "url": f"{reverse('report_csv', args=[report])}?{query}",
        }
        for report in REPORTS
    ]


def _quick_ranges(values: dict[str, str], report_filter: ReportFilter) -> list[dict[str, Any]]:
    today = timezone.now().astimezone(report_filter.time_zone).date()
    kept = {name: value for name, value in values.items() if value and name not in ("from", "to")}
    ranges = []
    for days in QUICK_RANGES:
        first = today - timedelta(days=days - 1)
        query = urlencode({**kept, "from": first.isoformat(), "to": today.isoformat()})
        current = values["from"] == first.isoformat() and values["to"] == today.isoformat()
        ranges.append({"days": days, "url": f"?{query}", "current": current})
    return ranges


def _period(report_filter: ReportFilter) -> dict[str, Any]:
    first, last = _first_last(report_filter)
    return {"first": first, "last": last, "time_zone": str(report_filter.time_zone)}


# --- the figures in words ------------------------------------------------------------------------------


def _duration(seconds: float | None, words: dict[str, str]) -> str:
    return "—" if seconds is None else duration_words(seconds, words)


def _summary(summary: dict[str, Any]) -> dict[str, Any]:
    words = sla_words()
    timings = {}
    for key in ("first_response", "resolution"):
        figures = summary.get(key) or {}
        timings[key] = {
            "count": figures.get("count") or 0,
            "median": _duration(figures.get("median_seconds"), words),
            "p90": _duration(figures.get("p90_seconds"), words),
        }
    sla = summary.get("sla") or {}
    compliance = sla.get("compliance_percent")
    return {
        "created": summary.get("created", 0),
        "solved": summary.get("solved", 0),
        "reopened": summary.get("reopened", 0),
        "messages_in": summary.get("messages_in", 0),
        "replies_out": summary.get("replies_out", 0),
        "first_response": timings["first_response"],
        "resolution": timings["resolution"],
        "sla_met": sla.get("met", 0),
        "sla_breached": sla.get("breached", 0),
        "sla_compliance": "—" if compliance is None else f"{formats.number_format(compliance, 1)} %",
        "csat": "—" if summary.get("csat") is None else summary["csat"],
        "nps": "—" if summary.get("nps") is None else summary["nps"],
    }


def _volume(days: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [{**day, "date": _as_date(day["date"])} for day in days]
    # uPlot reads times as seconds; each day is drawn at its midnight in UTC and labelled in UTC, so
    # the label is the day whatever the browser's own zone.
    x = [int(datetime.combine(row["date"], time(0), tzinfo=UTC).timestamp()) for row in rows]
    return {
        "rows": rows,
        "chart": {
            "x": x,
            "x_label": pgettext("reports", "Day"),
            "series": [
                {
                    "key": "created",
                    "label": pgettext("reports", "Created"),
                    "values": [row["created"] for row in rows],
                },
                {
                    "key": "solved",
                    "label": pgettext("reports", "Solved"),
                    "values": [row["solved"] for row in rows],
                },
                {
                    "key": "reopened",
                    "label": pgettext("reports", "Reopened"),
                    "values": [row["reopened"] for row in rows],
                },
            ],
        },
        "backlog_chart": {
            "x": x,
            "x_label": pgettext("reports", "Day"),
            "series": [
                {
                    "key": "backlog",
                    "label": _("Open at the end of the day"),
                    "values": [row["backlog"] for row in rows],
                }
            ],
        },
    }


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _heatmap(grid: list[list[int]]) -> dict[str, Any]:
    peak = max((count for row in grid for count in row), default=0)
    names = [
        pgettext("weekday", "Monday"),
        pgettext("weekday", "Tuesday"),
        pgettext("weekday", "Wednesday"),
        pgettext("weekday", "Thursday"),
        pgettext("weekday", "Friday"),
        pgettext("weekday", "Saturday"),
        pgettext("weekday", "Sunday"),
    ]
    rows = []
    for name, counts in zip(names, grid, strict=False):
        cells = [
            {
                "count": count,
                "level": 0 if not count or not peak else max(1, round(HEAT_LEVELS * count / peak)),
            }
            for count in counts
        ]
        rows.append({"weekday": name, "cells": cells, "total": sum(counts)})
    return {"hours": list(range(24)), "rows": rows, "peak": peak}


def _agents(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    words = sla_words()
    return [
        {
            **row,
            "first_response": _duration(row.get("first_response_median_seconds"), words),
            "resolution": _duration(row.get("resolution_median_seconds"), words),
        }
        for row in rows
    ]
