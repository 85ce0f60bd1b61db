"""Business time: the hours a team works, in its own time zone, and arithmetic over them.

An SLA target of "4 hours" means four working hours of the team's calendar, not four hours of the
clock: a message written on Friday at 17:00 to a desk open 9-18 Monday to Friday is due on Monday at
12:00. ``BusinessHours`` answers the two questions the timers ask — when does a target fall due
(``business_add``), and how much of it has been used (``business_between``) — and the ones the
screens ask: is the desk open now (``is_open``), and when does it open next (``next_open``).

The week is a pattern of local intervals per weekday, several a day; an interval whose end is not
after its start runs past midnight into the next day (an overnight shift). A shift belongs to the day
it starts on: on a holiday, the whole shift is off, including the part after midnight. Holidays are a
country's public holidays (the ``holidays`` package, optionally for one subdivision) plus dates of the
calendar's own, one-off (``2026-12-07``) or every year (``12-07``, a city's patron saint's day).

Working time is elapsed time: a shift across a change of the clocks lasts one hour more or less than
its local times say, and a local time that does not exist on that day (in the hour skipped in
spring) is read with the offset before the change: 02:30 on that day is 03:30 summer time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_data
from django.utils.translation import gettext as _

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How long a search may find no working time before it gives up: a calendar with no working hour is
# refused when saved, but a long list of one-off holidays can still cover every working day for a while.
_HORIZON_DAYS = 3 * 366
# A calendar open around the clock merges into one endless span: without an end to stop at, a span is
# handed out once it is this long, and the next one carries on from where it stops.
_MERGE_LIMIT = timedelta(days=7)
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_YEARLY = re.compile(r"^(\d\d)-(\d\d)$")


class CalendarError(ValueError):
    """A calendar that cannot be used, with the problems per field (``time_zone``, ``intervals``, …)."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{name}: {' '.join(found)}" for name, found in self.errors.items()))


@dataclass(frozen=True)
class BusinessHours:
    """A calendar ready for arithmetic; build it with ``business_hours`` (which validates)."""

    zone: ZoneInfo
    # Per weekday (0 = Monday), the shifts as (start, length) in local wall-clock terms.
    week: tuple[tuple[tuple[time, timedelta], ...], ...]
    country: str = ""
    subdivision: str = ""
    dates: frozenset[date] = field(default_factory=frozenset)
    yearly: frozenset[tuple[int, int]] = field(default_factory=frozenset)

    def is_holiday(self, day: date) -> bool:
        if day in self.dates or (day.month, day.day) in self.yearly:
            return True
        return bool(self.country) and day in _public_holidays(self.country, self.subdivision, day.year)

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` falls inside a working shift."""
        return any(
            start <= at < end for start, end in self.spans(at - timedelta(days=2), at + timedelta(days=1))
        )

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself during working time, else the start of the next shift."""
        for start, end in self.spans(at, None):
            if end > at:
                return max(start, at)
        raise CalendarError(
            {"intervals": [f"no working time within {_HORIZON_DAYS} days of {at.isoformat()}"]}
        )

    def spans(self, start: datetime, end: datetime | None) -> Iterator[tuple[datetime, datetime]]:
        """The working spans (UTC, merged where shifts touch or overlap) that end after ``start``, in
        order, until ``end``; without an end, for as long as the caller reads, unless no working time
        comes for a whole search horizon."""
        _aware(start)
        # A shift that began the day before may still be running at ``start``.
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date() if end is not None else None
        give_up = day + timedelta(days=_HORIZON_DAYS)
        pending: tuple[datetime, datetime] | None = None
        while (day <= last) if last is not None else (day <= give_up):
            for span in self._day_spans(day):
                if span[1] <= start or (end is not None and span[0] >= end):
                    continue
                give_up = day + timedelta(days=_HORIZON_DAYS)
                if pending is None:
                    pending = span
                elif span[0] <= pending[1] and (end is not None or pending[1] - pending[0] < _MERGE_LIMIT):
                    pending = (pending[0], max(pending[1], span[1]))
                else:
                    yield pending
                    pending = span
            day += timedelta(days=1)
        if pending is not None:
            yield pending

    def _day_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        if self.is_holiday(day):
            return []
        found = []
        for clock, length in self.week[day.weekday()]:
            local_start = datetime.combine(day, clock, tzinfo=self.zone)
            local_end = datetime.combine(day, clock, tzinfo=self.zone) + length
            begin, finish = _utc(local_start), _utc(local_end)
            if finish > begin:
                found.append((begin, finish))
        found.sort()
        return found


def business_add(hours: BusinessHours, start: datetime, duration: timedelta) -> datetime:
    """The moment at which ``duration`` of working time has passed since ``start``.

    A zero duration is ``start`` itself; otherwise the clock starts at the next opening and the
    result always lies inside (or at the end of) a working span.
    """
    if duration < timedelta(0):
        raise ValueError("a business duration cannot be negative")
    if duration == timedelta(0):
        return start
    left = duration
    for span_start, span_end in hours.spans(start, None):
        begin = max(span_start, start)
        available = span_end - begin
        if left <= available:
            return begin + left
        left -= available
    raise CalendarError(
        {"intervals": [f"no working time within {_HORIZON_DAYS} days of {start.isoformat()}"]}
    )


def business_between(hours: BusinessHours, start: datetime, end: datetime) -> timedelta:
    """The working time between ``start`` and ``end`` (zero when ``end`` is not after ``start``)."""
    _aware(start)
    _aware(end)
    if end <= start:
        return timedelta(0)
    total = timedelta(0)
    for span_start, span_end in hours.spans(start, end):
        total += min(span_end, end) - max(span_start, start)
    return total


def business_hours(
    *,
    time_zone: str,
    intervals: Mapping[str, Sequence[Sequence[str]]],
    holidays: Sequence[str] = (),
    country: str = "",
    subdivision: str = "",
) -> BusinessHours:
    """A validated calendar; ``CalendarError`` names every field that is wrong, each with its reasons."""
    errors: dict[str, list[str]] = {}
    zone = _zone(time_zone, errors)
    week = _week(intervals, errors)
    dates, yearly = _holidays(holidays, errors)
    _country(country, subdivision, errors)
    if errors:
        raise CalendarError(errors)
    assert zone is not None
    return BusinessHours(
        zone=zone,
        week=week,
        country=country.upper(),
        subdivision=subdivision.upper(),
        dates=frozenset(dates),
        yearly=frozenset(yearly),
    )


def _zone(name: str, errors: dict[str, list[str]]) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        errors.setdefault("time_zone", []).append(
            _("%(zone)r is not a known time zone (e.g. Europe/Rome).") % {"zone": name}
        )
        return None


def _week(
    intervals: Mapping[str, Sequence[Sequence[str]]], errors: dict[str, list[str]]
) -> tuple[tuple[tuple[time, timedelta], ...], ...]:
    problems: list[str] = []
    if not isinstance(intervals, Mapping):
        errors["intervals"] = [_("Expected an object of weekdays (mon … sun) to lists of [start, end].")]
        return ((),) * 7
    unknown = sorted(set(intervals) - set(WEEKDAYS))
    if unknown:
        problems.append(
            _("Unknown day(s) %(days)s: use %(known)s.")
            % {"days": ", ".join(map(repr, unknown)), "known": ", ".join(WEEKDAYS)}
        )
    week: list[tuple[tuple[time, timedelta], ...]] = []
    for name in WEEKDAYS:
        shifts: list[tuple[time, timedelta]] = []
        day = intervals.get(name) or ()
        if not isinstance(day, list | tuple):
            problems.append(_('%(day)s: expected a list of ["HH:MM", "HH:MM"] pairs.') % {"day": name})
            day = ()
        for pair in day:
            shift = _shift(pair)
            if shift is None:
                problems.append(
                    _('%(day)s: %(pair)r is not a ["HH:MM", "HH:MM"] pair.') % {"day": name, "pair": pair}
                )
            else:
                shifts.append(shift)
        shifts.sort()
        week.append(tuple(shifts))
    if not problems and not any(week):
        problems.append(_("The calendar has no working hours: give at least one day an interval."))
    if problems:
        errors["intervals"] = problems
    return tuple(week)


def _shift(pair: object) -> tuple[time, timedelta] | None:
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return None
    start, end = (_clock(value) for value in pair)
    if start is None or end is None or start == (24, 0):
        return None
    minutes = (end[0] * 60 + end[1]) - (start[0] * 60 + start[1])
    if minutes <= 0:
        minutes += 24 * 60  # runs past midnight
    return time(*start), timedelta(minutes=minutes)


def _clock(value: object) -> tuple[int, int] | None:
    if value == "24:00":
        return (24, 0)
    found = _CLOCK.match(value) if isinstance(value, str) else None
    return (int(found[1]), int(found[2])) if found else None


def _holidays(values: Sequence[str], errors: dict[str, list[str]]) -> tuple[set[date], set[tuple[int, int]]]:
    dates: set[date] = set()
    yearly: set[tuple[int, int]] = set()
    problems: list[str] = []
    if isinstance(values, str) or not isinstance(values, Sequence):
        errors["holidays"] = [_('Expected a list of dates ("2026-12-07", or "12-07" for every year).')]
        return dates, yearly
    for value in values:
        if isinstance(value, str) and _YEARLY.match(value):
            month, day = int(value[:2]), int(value[3:])
            try:
                date(2024, month, day)  # a leap year, so that 02-29 is allowed
            except ValueError:
                problems.append(_("%(value)r is not a day of the year.") % {"value": value})
            else:
                yearly.add((month, day))
            continue
        try:
            dates.add(date.fromisoformat(value))
        except (TypeError, ValueError):
            problems.append(
                _('%(value)r is not a date ("2026-12-07", or "12-07" for every year).') % {"value": value}
            )
    if problems:
        errors["holidays"] = problems
    return dates, yearly


def _country(country: str, subdivision: str, errors: dict[str, list[str]]) -> None:
    if not country:
        if subdivision:
            errors["subdivision"] = [_("A subdivision needs a country.")]
        return
    supported = holiday_data.list_supported_countries()
    code = country.upper()
    if code not in supported:
        errors["country"] = [
            _("%(country)r is not a country with known public holidays (e.g. IT).") % {"country": country}
        ]
    elif subdivision and subdivision.upper() not in supported[code]:
        errors["subdivision"] = [
            _("%(subdivision)r is not a subdivision of %(country)s.")
            % {"subdivision": subdivision, "country": code}
        ]


@cache
def _public_holidays(country: str, subdivision: str, year: int) -> frozenset[date]:
    found = holiday_data.country_holidays(country, subdiv=subdivision or None, years=year)
    return frozenset(found)


def _utc(local: datetime) -> datetime:
    # Wall-clock arithmetic above keeps the zone but not the offset: converting here gives each local
    # time its own offset, so a shift across a change of the clocks has its real length.
    return datetime.fromtimestamp(local.timestamp(), tz=UTC)


def _aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError("business time needs timezone-aware datetimes")
