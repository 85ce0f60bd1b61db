"""Business time: working hours of a calendar, holidays, overnight shifts and changes of the clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.business_time import (
    WEEKDAYS,
    BusinessHours,
    CalendarError,
    business_add,
    business_between,
    business_hours,
)

ROME = ZoneInfo("Europe/Rome")
OFFICE = {day: [["09:00", "13:00"], ["14:00", "18:00"]] for day in WEEKDAYS[:5]}


def rome(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=ROME)  # type: ignore[misc]


def office(**extra: object) -> BusinessHours:
    return business_hours(time_zone="Europe/Rome", intervals=OFFICE, **extra)  # type: ignore[arg-type]


def test_a_target_counts_only_working_hours_and_skips_the_weekend() -> None:
    hours = office()
    # Friday 17:00 + 4 working hours: 1 h on Friday, then Monday 9-12.
    assert business_add(hours, rome(2026, 11, 27, 17, 0), timedelta(hours=4)) == rome(2026, 11, 30, 12, 0)
    # The lunch break is not working time.
    assert business_add(hours, rome(2026, 11, 30, 12, 0), timedelta(hours=2)) == rome(2026, 11, 30, 15, 0)


def test_a_message_outside_hours_starts_its_clock_at_the_next_opening() -> None:
    hours = office()
    saturday = rome(2026, 11, 28, 11, 0)
    assert not hours.is_open(saturday)
    assert hours.next_open(saturday) == rome(2026, 11, 30, 9, 0)
    assert business_add(hours, saturday, timedelta(minutes=30)) == rome(2026, 11, 30, 9, 30)
    assert business_between(hours, saturday, rome(2026, 11, 30, 9, 30)) == timedelta(minutes=30)


def test_italian_public_holidays_are_built_in_and_a_province_adds_its_patron_saint() -> None:
    national = office(country="IT")
    milan = office(country="IT", subdivision="MI")
    friday = rome(2026, 12, 4, 17, 0)
    # Tuesday 8 December (Immaculate Conception) is off everywhere; Monday 7 (Sant'Ambrogio) in Milan.
    assert business_add(national, friday, timedelta(hours=9)) == rome(2026, 12, 7, 18, 0)
    assert business_add(national, friday, timedelta(hours=9, minutes=1)) == rome(2026, 12, 9, 9, 1)
    assert business_add(milan, friday, timedelta(hours=1, minutes=1)) == rome(2026, 12, 9, 9, 1)
    assert not milan.is_open(rome(2026, 12, 7, 10, 0))
    assert national.is_open(rome(2026, 12, 7, 10, 0))


def test_custom_holidays_once_or_every_year() -> None:
    hours = office(holidays=["2026-11-30", "06-24"])
    assert not hours.is_open(rome(2026, 11, 30, 10, 0))
    assert hours.is_open(rome(2027, 11, 30, 10, 0))
    assert not hours.is_open(rome(2027, 6, 24, 10, 0))  # a Thursday, every year
    assert hours.is_open(rome(2027, 6, 25, 10, 0))


def test_a_holiday_on_a_weekend_changes_nothing() -> None:
    # 1 November 2026 is a Sunday: the week around it has its usual working time.
    hours = office(country="IT")
    assert business_between(hours, rome(2026, 10, 30, 0, 0), rome(2026, 11, 3, 0, 0)) == timedelta(hours=16)


def test_an_overnight_shift_runs_past_midnight_and_belongs_to_the_day_it_starts() -> None:
    hours = business_hours(time_zone="Europe/Rome", intervals={"fri": [["22:00", "06:00"]]})
    assert hours.is_open(rome(2026, 11, 28, 3, 0))  # Saturday 03:00, in Friday's shift
    assert not hours.is_open(rome(2026, 11, 28, 22, 30))
    assert business_add(hours, rome(2026, 11, 27, 23, 0), timedelta(hours=7)) == rome(2026, 11, 28, 6, 0)
    assert business_add(hours, rome(2026, 11, 27, 23, 0), timedelta(hours=8)) == rome(2026, 12, 4, 23, 0)
    # On a holiday the whole shift is off, the part after midnight too.
    christmas = business_hours(time_zone="Europe/Rome", intervals={"fri": [["22:00", "06:00"]]}, country="IT")
    assert not christmas.is_open(rome(2026, 12, 26, 3, 0))  # Christmas 2026 is a Friday


@pytest.mark.parametrize(
    ("night", "length"),
    [
        # Clocks go forward on the night of Saturday 28 to Sunday 29 March 2026, back on 24-25 October.
        (rome(2026, 3, 28, 22, 0), timedelta(hours=7)),
        (rome(2026, 10, 24, 22, 0), timedelta(hours=9)),
        (rome(2026, 10, 17, 22, 0), timedelta(hours=8)),
    ],
)
def test_an_overnight_shift_across_a_change_of_the_clocks_lasts_its_real_length(
    night: datetime, length: timedelta
) -> None:
    hours = business_hours(time_zone="Europe/Rome", intervals={"sat": [["22:00", "06:00"]]})
    assert business_between(hours, night - timedelta(hours=1), night + timedelta(days=1)) == length
    assert business_add(hours, night, length).astimezone(ROME).hour == 6


def test_a_shift_starting_in_the_skipped_hour_starts_when_the_clock_jumps() -> None:
    hours = business_hours(time_zone="Europe/Rome", intervals={"sun": [["02:30", "04:00"]]})
    sunday = rome(2026, 3, 29, 0, 0)
    assert business_between(hours, sunday, sunday + timedelta(days=1)) == timedelta(minutes=30)
    assert hours.next_open(sunday) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_results_are_the_same_instant_whatever_zone_the_input_is_given_in() -> None:
    hours = office()
    start = rome(2026, 11, 27, 17, 0)
    in_utc = business_add(hours, start.astimezone(UTC), timedelta(hours=4))
    in_tokyo = business_add(hours, start.astimezone(ZoneInfo("Asia/Tokyo")), timedelta(hours=4))
    assert in_utc == in_tokyo == rome(2026, 11, 30, 12, 0)


def test_a_calendar_that_cannot_be_used_is_refused_naming_every_field() -> None:
    with pytest.raises(CalendarError) as refused:
        business_hours(
            time_zone="Europe/Atlantis",
            intervals={
                "mon": [["9:00", "18:00"]],
                "monday": [["09:00", "18:00"]],
                "tue": [["25:00", "26:00"]],
            },
            holidays=["2026-02-30", "13-01", 7],
            country="XX",
        )
    errors = refused.value.errors
    assert set(errors) == {"time_zone", "intervals", "holidays", "country"}
    assert "Europe/Atlantis" in errors["time_zone"][0]
    assert any("'monday'" in problem for problem in errors["intervals"])
    assert any("mon:" in problem for problem in errors["intervals"])
    assert any("tue:" in problem for problem in errors["intervals"])
    assert len(errors["holidays"]) == 3
    assert "XX" in errors["country"][0]


def test_a_calendar_with_no_working_hours_or_a_subdivision_without_country_is_refused() -> None:
    with pytest.raises(CalendarError) as empty:
        business_hours(time_zone="Europe/Rome", intervals={"mon": []})
    assert list(empty.value.errors) == ["intervals"]
    with pytest.raises(CalendarError) as shapeless:
        business_hours(time_zone="Europe/Rome", intervals=[["09:00", "18:00"]])  # type: ignore[arg-type]
    assert list(shapeless.value.errors) == ["intervals"]
    with pytest.raises(CalendarError) as orphan:
        business_hours(time_zone="Europe/Rome", intervals=OFFICE, subdivision="MI")
    assert list(orphan.value.errors) == ["subdivision"]
    with pytest.raises(CalendarError) as foreign:
        business_hours(time_zone="Europe/Rome", intervals=OFFICE, country="IT", subdivision="ZZ")
    assert list(foreign.value.errors) == ["subdivision"]


def test_a_whole_day_and_a_shift_to_midnight() -> None:
    hours = business_hours(
        time_zone="Europe/Rome", intervals={"mon": [["00:00", "24:00"]], "tue": [["18:00", "24:00"]]}
    )
    monday = rome(2026, 11, 30, 0, 0)
    assert business_between(hours, monday, monday + timedelta(days=2)) == timedelta(hours=30)


def test_a_calendar_open_around_the_clock_counts_every_hour_however_far() -> None:
    always = business_hours(
        time_zone="Europe/Rome", intervals={day: [["00:00", "24:00"]] for day in WEEKDAYS}
    )
    start = rome(2026, 12, 5, 13, 14)

    assert business_add(always, start, timedelta(minutes=60)) == start + timedelta(minutes=60)
    assert business_add(always, start, timedelta(days=20)) == start + timedelta(days=20)
    assert business_between(always, start, start + timedelta(days=20)) == timedelta(days=20)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        business_between(office(), datetime(2026, 11, 30, 9, 0), rome(2026, 11, 30, 10, 0))  # noqa: DTZ001


def test_negative_durations_are_refused_and_a_zero_one_is_the_start() -> None:
    hours = office()
    saturday = rome(2026, 11, 28, 11, 0)
    assert business_add(hours, saturday, timedelta(0)) == saturday
    with pytest.raises(ValueError, match="negative"):
        business_add(hours, saturday, timedelta(minutes=-1))
    assert business_between(hours, rome(2026, 11, 30, 12, 0), rome(2026, 11, 30, 10, 0)) == timedelta(0)


_CALENDARS = [
    business_hours(time_zone="UTC", intervals={day: [["00:00", "24:00"]] for day in WEEKDAYS}),
    office(country="IT", subdivision="RM"),
    business_hours(
        time_zone="Europe/Rome", intervals={"sat": [["22:00", "06:00"]], "wed": [["08:00", "12:00"]]}
    ),
    business_hours(
        time_zone="America/New_York", intervals={"mon": [["23:30", "01:30"]], "thu": [["01:00", "03:00"]]}
    ),
]
_MOMENTS = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001 - hypothesis draws naive values, made aware below
    max_value=datetime(2028, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@settings(max_examples=300, deadline=None)
@given(
    calendar=st.sampled_from(_CALENDARS),
    start=_MOMENTS,
    minutes=st.integers(min_value=0, max_value=60 * 24 * 30),
)
def test_adding_business_time_then_measuring_it_round_trips(
    calendar: BusinessHours, start: datetime, minutes: int
) -> None:
    duration = timedelta(minutes=minutes)
    due = business_add(calendar, start, duration)
    assert due >= start
    assert business_between(calendar, start, due) == duration
    # Nothing earlier would do: a second less is not enough.
    if duration:
        assert business_between(calendar, start, due - timedelta(seconds=1)) < duration


@settings(max_examples=300, deadline=None)
@given(calendar=st.sampled_from(_CALENDARS), start=_MOMENTS, middle=_MOMENTS, end=_MOMENTS)
def test_business_time_adds_up_over_consecutive_periods(
    calendar: BusinessHours, start: datetime, middle: datetime, end: datetime
) -> None:
    start, middle, end = sorted([start, middle, end])
    whole = business_between(calendar, start, end)
    assert whole == business_between(calendar, start, middle) + business_between(calendar, middle, end)
    assert whole <= end - start
