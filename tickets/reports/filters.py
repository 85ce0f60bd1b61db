"""What a report covers: a range of days in the desk's time zone, and optionally a team, a channel, an
agent or a tag, always within the teams the reader supervises.

``report_filter_from`` is the one door from query parameters to a ``ReportFilter``: the page, the API
and the CSV downloads all pass through it, so a bad value is refused the same way everywhere
(``ReportFilterError``: 400) and a team outside a limited supervisor's teams too (``PermissionDenied``:
403).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.access import supervised_team_ids
from tickets.channel_port import channel_account_model
from tickets.models import AgentProfile, BusinessCalendar, Tag, Team

DEFAULT_DAYS = 30
# Two years, a leap day included: a longer range is refused rather than left to run for long.
MAX_DAYS = 731
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ID = re.compile(r"^\d{1,18}$")
_EARLIEST = date(2000, 1, 1)
_LATEST = date(9998, 12, 31)


class ReportFilterError(ValueError):
    """A filter value the reports cannot use: ``field`` names the parameter, ``message`` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ReportFilter:
    """``start`` (inclusive) and ``end`` (exclusive) are aware; days are counted in ``start``'s zone.

    ``team_ids`` is None for every team; a limited supervisor's teams are always applied.
    """

    start: datetime
    end: datetime
    team_ids: frozenset[int] | None = None
    channel_id: int | None = None
    agent_id: int | None = None
    tag: str | None = None

    def __post_init__(self) -> None:
        if timezone.is_naive(self.start) or timezone.is_naive(self.end):
            raise ValueError("a report's start and end are aware datetimes")
        if self.end <= self.start:
            raise ValueError("a report's end comes after its start")

    @property
    def time_zone(self) -> tzinfo:
        zone = self.start.tzinfo
        assert zone is not None
        return zone

    def days(self) -> list[date]:
        """Every day of the range, in its time zone."""
        first = self.start.astimezone(self.time_zone).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(self.time_zone).date()
        return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def desk_time_zone() -> ZoneInfo:
    """The desk's time zone: its first business calendar's (the desk calendar routing rules read), else
    ``settings.TIME_ZONE``."""
    name = BusinessCalendar.objects.order_by("id").values_list("time_zone", flat=True).first()
    for candidate in (name, settings.TIME_ZONE):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ValueError, KeyError):
                continue
    return ZoneInfo("UTC")


def day_start(day: date, zone: tzinfo) -> datetime:
    """The first moment of ``day`` in ``zone`` (midnight, or the first hour a DST change leaves)."""
    return datetime.combine(day, time(0), tzinfo=zone)


def report_filter_from(params: Mapping[str, Any], *, user: Any) -> ReportFilter:
    """The filter these query parameters ask for, for ``user``.

    ``from`` and ``to`` (YYYY-MM-DD, both inclusive; by default the last 30 days), ``team``,
    ``channel``, ``agent`` (ids) and ``tag`` (a name). Raises ``PermissionDenied`` for anyone who
    supervises nothing, or for a team outside a limited supervisor's teams, and ``ReportFilterError``
    for a value that is malformed, unknown or out of range.
    """
    scope = supervised_team_ids(user)
    zone = desk_time_zone()
    first, last = _days(params, zone)
    team_ids = None if scope is None else frozenset(scope)
    team_id = _id(params, "team")
    if team_id is not None:
        if not Team.objects.filter(pk=team_id).exists():
            raise ReportFilterError("team", _("There is no team with this id."))
        if team_ids is not None and team_id not in team_ids:
            raise PermissionDenied(_("You may see the reports of your own teams only."))
        team_ids = frozenset({team_id})
    channel_id = _id(params, "channel")
    if channel_id is not None and not channel_account_model()._default_manager.filter(pk=channel_id).exists():
        raise ReportFilterError("channel", _("There is no channel with this id."))
    agent_id = _id(params, "agent")
    if agent_id is not None and not AgentProfile.objects.filter(user_id=agent_id).exists():
        raise ReportFilterError("agent", _("There is no agent with this id."))
    return ReportFilter(
        start=day_start(first, zone),
        end=day_start(last + timedelta(days=1), zone),
        team_ids=team_ids,
        channel_id=channel_id,
        agent_id=agent_id,
        tag=_tag(params),
    )


def _days(params: Mapping[str, Any], zone: ZoneInfo) -> tuple[date, date]:
    today = timezone.now().astimezone(zone).date()
    last = _date(params, "to") or today
    first = _date(params, "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise ReportFilterError("to", _("The last day comes before the first."))
    if (last - first).days + 1 > MAX_DAYS:
        raise ReportFilterError(
            "from", _("A report covers at most 2 years (%(days)d days).") % {"days": MAX_DAYS}
        )
    return first, last


def _value(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ReportFilterError(name, _("Expected a single value."))
    return value.strip()


def _date(params: Mapping[str, Any], name: str) -> date | None:
    value = _value(params, name)
    if not value:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        raise ReportFilterError(name, _("Expected a date as YYYY-MM-DD.")) from None
    if not _EARLIEST <= day <= _LATEST:
        raise ReportFilterError(name, _("The date is out of range."))
    return day


def _id(params: Mapping[str, Any], name: str) -> int | None:
    value = _value(params, name)
    if not value:
        return None
    if not _ID.match(value) or int(value) > 2**63 - 1:
        raise ReportFilterError(name, _("Expected an id (a whole number)."))
    return int(value)


def _tag(params: Mapping[str, Any]) -> str | None:
    # Tags are stored lower-cased and trimmed (tickets/services/tickets.py), so a name is matched so.
    value = _value(params, "tag").lower()
    if not value:
        return None
    if len(value) > 60 or not Tag.objects.filter(name=value).exists():
        raise ReportFilterError("tag", _("There is no tag with this name."))
    return value
