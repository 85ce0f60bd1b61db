"""The report figures, read from the roll-ups, equal the same figures computed directly from the
tickets, messages and audit rows, for every kind of filter; the filters themselves refuse what they
cannot use."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation

from tests.fixtures.personas import make_agent
from tickets.models import AgentProfile, Tag, Team
from tickets.reports import figures
from tickets.reports.figures import (
    percentile,
    report_agents,
    report_heatmap,
    report_summary,
    report_volume,
)
from tickets.reports.filters import MAX_DAYS, ReportFilter, ReportFilterError, day_start, report_filter_from
from tickets.reports.rollup import rollups_fold
from tickets.tests.reports_support import (
    Desk,
    desk_story,
    direct_agents,
    direct_heatmap,
    direct_summary,
    direct_volume,
    last_days,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(billing: Team, tech: Team, alice: User, bob: User, carla: User) -> Desk:
    made = desk_story(billing=billing, tech=tech, alice=alice, bob=bob, carla=carla)
    rollups_fold()
    return made


def filters_of(desk: Desk) -> dict[str, ReportFilter]:
    week = last_days(7)
    return {
        "week": week,
        "two months": last_days(60),
        "today": last_days(1),
        "billing": replace(week, team_ids=frozenset({desk.billing.pk})),
        "tech": replace(week, team_ids=frozenset({desk.tech.pk})),
        "both teams": replace(week, team_ids=frozenset({desk.billing.pk, desk.tech.pk})),
        "no team at all": replace(week, team_ids=frozenset()),
        "chat": replace(week, channel_id=desk.chat.pk),
        "alice": replace(week, agent_id=desk.alice.pk),
        "carla": replace(week, agent_id=desk.carla.pk),
        "invoice": replace(week, tag="invoice"),
        "invoice in billing": replace(week, tag="invoice", team_ids=frozenset({desk.billing.pk})),
    }


def test_every_figure_equals_its_direct_computation_under_every_filter(desk: Desk) -> None:
    for name, f in filters_of(desk).items():
        assert report_summary(f) == direct_summary(f), name
        assert report_volume(f) == direct_volume(f), name
        assert report_heatmap(f) == direct_heatmap(f), name
        assert report_agents(f) == direct_agents(f), name


def test_the_figures_tell_the_story(desk: Desk) -> None:
    summary = report_summary(last_days(7))

    # Nine tickets this week, the old one before it; two reopens; a breach and a ticket met in time.
    assert summary["created"] == 9
    assert summary["reopened"] == 2
    assert summary["sla"] == {"met": 1, "breached": 1, "compliance_percent": 50.0}
    assert summary["csat"] is None and summary["nps"] is None
    assert summary["first_response"]["count"] == 5
    volume = report_volume(last_days(7))
    assert len(volume) == 7
    assert volume[-1]["backlog"] == 4  # waiting, moved, the merge target and the old one
    assert volume[0]["backlog"] >= 1  # the old one, created before the range
    heatmap = report_heatmap(last_days(7))
    assert len(heatmap) == 7 and all(len(row) == 24 for row in heatmap)
    assert sum(map(sum, heatmap)) == 9
    names = [row["name"] for row in report_agents(last_days(7))]
    assert names == sorted(names, key=str.casefold) and "Carla Verdi" in names


def test_a_limited_scope_never_counts_another_teams_ticket(desk: Desk) -> None:
    tech_only = replace(last_days(7), team_ids=frozenset({desk.tech.pk}))

    assert report_summary(tech_only)["created"] == 1  # the waiting one; the moved one is Billing's now
    assert [row["agent_id"] for row in report_agents(tech_only)] == [desk.carla.pk]
    nothing = replace(last_days(7), team_ids=frozenset())
    assert report_summary(nothing)["created"] == 0
    assert report_agents(nothing) == []


def test_postgresql_and_python_percentiles_agree(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    on_postgresql = {name: (report_summary(f), report_agents(f)) for name, f in filters_of(desk).items()}
    monkeypatch.setattr(figures, "_postgresql", lambda rows: False)

    elsewhere = {name: (report_summary(f), report_agents(f)) for name, f in filters_of(desk).items()}

    assert elsewhere == on_postgresql


def test_percentile_interpolates_as_percentile_cont() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7], 0.9) == 7
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9) == pytest.approx(91)


def test_the_figures_read_a_few_queries_whatever_the_range(
    desk: Desk, django_assert_max_num_queries: Any
) -> None:
    for f in (last_days(7), last_days(MAX_DAYS), replace(last_days(7), tag="invoice")):
        with django_assert_max_num_queries(3):
            report_summary(f)
        with django_assert_max_num_queries(2):
            report_volume(f)
        with django_assert_max_num_queries(1):
            report_heatmap(f)
        with django_assert_max_num_queries(3):
            report_agents(f)


def test_days_follow_the_desk_time_zone_across_a_change_of_clocks() -> None:
    rome = ZoneInfo("Europe/Rome")
    f = ReportFilter(start=day_start(date(2026, 3, 28), rome), end=day_start(date(2026, 3, 31), rome))

    assert f.days() == [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    assert (
        day_start(date(2026, 3, 30), rome).astimezone(UTC) - day_start(date(2026, 3, 29), rome)
    ) == timedelta(hours=23)
    assert [day["date"] for day in report_volume(f)] == ["2026-03-28", "2026-03-29", "2026-03-30"]
    with pytest.raises(ValueError):
        ReportFilter(start=f.end, end=f.start)


# --- the filter -----------------------------------------------------------------------------------------


def test_the_filter_defaults_to_the_last_thirty_days_of_every_team(sam: User) -> None:
    f = report_filter_from({}, user=sam)

    today = timezone.localdate()
    assert f.days()[0] == today - timedelta(days=29) and f.days()[-1] == today
    assert f.team_ids is None and f.channel_id is None and f.agent_id is None and f.tag is None
    assert f.start.tzinfo == ZoneInfo("Europe/Rome")


def test_the_filter_reads_every_parameter(sam: User, billing: Team, alice: User, api_channel: Any) -> None:
    Tag.objects.create(name="invoice")

    f = report_filter_from(
        {
            "from": "2026-01-01",
            "to": "2026-01-31",
            "team": str(billing.pk),
            "channel": str(api_channel.pk),
            "agent": str(alice.pk),
            "tag": " Invoice ",
        },
        user=sam,
    )

    assert f.start == day_start(date(2026, 1, 1), ZoneInfo("Europe/Rome"))
    assert f.end == day_start(date(2026, 2, 1), ZoneInfo("Europe/Rome"))
    assert (f.team_ids, f.channel_id, f.agent_id, f.tag) == (
        frozenset({billing.pk}),
        api_channel.pk,
        alice.pk,
        "invoice",
    )
    assert report_filter_from({"team": "", "from": ""}, user=sam).team_ids is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-02-01", "to": "2026-01-31"}, "to"),
        ({"from": "2024-01-01", "to": "2026-01-31"}, "from"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "01/02/2026"}, "to"),
        ({"to": "20260102"}, "to"),
        ({"from": "0001-01-01"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"team": "999999"}, "team"),
        ({"team": "abc"}, "team"),
        ({"team": "-1"}, "team"),
        ({"team": "99999999999999999999"}, "team"),
        ({"channel": "999999"}, "channel"),
        ({"agent": "999999"}, "agent"),
        ({"tag": "nowhere"}, "tag"),
        ({"tag": "x" * 61}, "tag"),
        ({"team": ["1", "2"]}, "team"),
    ],
)
def test_the_filter_refuses_what_it_cannot_use(sam: User, params: dict[str, Any], field: str) -> None:
    with pytest.raises(ReportFilterError) as refused:
        report_filter_from(params, user=sam)

    assert refused.value.field == field
    assert refused.value.message


def test_two_years_are_the_longest_range(sam: User) -> None:
    last = date(2026, 6, 30)
    first = last - timedelta(days=MAX_DAYS - 1)

    f = report_filter_from({"from": first.isoformat(), "to": last.isoformat()}, user=sam)

    assert len(f.days()) == MAX_DAYS
    with pytest.raises(ReportFilterError):
        report_filter_from(
            {"from": (first - timedelta(days=1)).isoformat(), "to": last.isoformat()}, user=sam
        )


def test_the_filter_speaks_italian(sam: User) -> None:
    with translation.override("it"), pytest.raises(ReportFilterError) as refused:
        report_filter_from({"from": "2026-02-01", "to": "2026-01-31"}, user=sam)

    assert refused.value.message == "L'ultimo giorno viene prima del primo."


def test_only_supervisors_and_admins_get_a_filter_and_a_limited_one_only_their_teams(
    alice: User, billing: Team, tech: Team
) -> None:
    with pytest.raises(PermissionDenied):
        report_filter_from({}, user=alice)
    lia = make_agent(
        "lia_limitata", role=AgentProfile.Role.SUPERVISOR, teams=[billing], limited_to_teams=True
    )
    ada = make_agent("ada_admin", role=AgentProfile.Role.ADMIN)

    assert report_filter_from({}, user=lia).team_ids == frozenset({billing.pk})
    assert report_filter_from({"team": str(billing.pk)}, user=lia).team_ids == frozenset({billing.pk})
    with pytest.raises(PermissionDenied):
        report_filter_from({"team": str(tech.pk)}, user=lia)
    assert report_filter_from({}, user=ada).team_ids is None
    assert report_filter_from({"team": str(tech.pk)}, user=ada).team_ids == frozenset({tech.pk})
