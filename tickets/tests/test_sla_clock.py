"""SLA clocks: start, pause, resume, fulfil, reopen and alarms, replayed as stories of a ticket."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.business_time import WEEKDAYS, business_hours
from tickets.sla_clock import (
    Alarm,
    Metric,
    SlaState,
    sla_agent_replied,
    sla_alarm_recorded,
    sla_customer_wrote,
    sla_due_times,
    sla_next_alarm,
    sla_pause,
    sla_reopened,
    sla_resume,
    sla_solved,
    sla_start,
    sla_state_from_data,
    sla_state_to_data,
)

ROME = ZoneInfo("Europe/Rome")
HOURS = business_hours(
    time_zone="Europe/Rome", intervals={day: [["09:00", "18:00"]] for day in WEEKDAYS[:5]}, country="IT"
)
TARGETS = {
    Metric.FIRST_RESPONSE: timedelta(hours=1),
    Metric.NEXT_RESPONSE: timedelta(hours=2),
    Metric.RESOLUTION: timedelta(hours=8),
}


def rome(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=ROME)  # type: ignore[misc]


MONDAY_9 = rome(2026, 11, 30, 9, 0)


def test_a_new_ticket_owes_a_first_response_and_a_resolution_in_business_time() -> None:
    state = sla_start(targets=TARGETS, at=rome(2026, 11, 27, 17, 30))  # Friday 17:30
    due = sla_due_times(state, hours=HOURS)
    assert due[Metric.FIRST_RESPONSE] == rome(2026, 11, 30, 9, 30)
    assert due[Metric.RESOLUTION] == rome(2026, 11, 30, 16, 30)
    assert due[Metric.NEXT_RESPONSE] is None


def test_waiting_on_the_customer_pauses_every_clock_and_resuming_keeps_what_was_used() -> None:
    state = sla_start(targets=TARGETS, at=MONDAY_9)
    state = sla_pause(state, hours=HOURS, at=rome(2026, 11, 30, 9, 20))
    assert sla_due_times(state, hours=HOURS) == dict.fromkeys(Metric)
    assert sla_next_alarm(state, hours=HOURS, warning_percent=80) is None
    # Paused again: nothing changes.
    assert sla_pause(state, hours=HOURS, at=rome(2026, 11, 30, 10, 0)) == state
    state = sla_resume(state, at=rome(2026, 11, 30, 14, 0))
    due = sla_due_times(state, hours=HOURS)
    assert due[Metric.FIRST_RESPONSE] == rome(2026, 11, 30, 14, 40)
    assert due[Metric.RESOLUTION] == rome(2026, 12, 1, 12, 40)  # 4 h on Monday, 3 h 40 on Tuesday
    assert sla_resume(state, at=rome(2026, 11, 30, 15, 0)) == state


def test_the_first_reply_fulfils_the_first_response_then_each_wait_gets_a_next_response_clock() -> None:
    state = sla_start(targets=TARGETS, at=MONDAY_9)
    # A second customer message before any reply changes nothing: the first response is still owed.
    assert sla_customer_wrote(state, at=rome(2026, 11, 30, 9, 10)) == state
    state = sla_agent_replied(state, hours=HOURS, at=rome(2026, 11, 30, 9, 45))
    first = state.clocks[Metric.FIRST_RESPONSE]
    assert first.fulfilled_at == rome(2026, 11, 30, 9, 45)
    assert first.used == timedelta(minutes=45)
    assert not first.breached
    state = sla_customer_wrote(state, at=rome(2026, 11, 30, 17, 0))
    assert sla_due_times(state, hours=HOURS)[Metric.NEXT_RESPONSE] == rome(2026, 12, 1, 10, 0)
    # A follow-up while the answer is owed keeps the oldest wait.
    assert sla_customer_wrote(state, at=rome(2026, 11, 30, 17, 30)) == state
    state = sla_agent_replied(state, hours=HOURS, at=rome(2026, 12, 1, 9, 30))
    assert state.clocks[Metric.NEXT_RESPONSE].fulfilled_at == rome(2026, 12, 1, 9, 30)
    # The next wait starts afresh, its alarms unrecorded.
    state = sla_alarm_recorded(state, metric=Metric.NEXT_RESPONSE, alarm=Alarm.WARNING)
    state = sla_customer_wrote(state, at=rome(2026, 12, 1, 10, 0))
    clock = state.clocks[Metric.NEXT_RESPONSE]
    assert (clock.used, clock.warned, clock.fulfilled_at) == (timedelta(0), False, None)


def test_a_customer_writing_during_a_pause_starts_a_clock_that_waits_for_the_resume() -> None:
    state = sla_agent_replied(
        sla_start(targets=TARGETS, at=MONDAY_9), hours=HOURS, at=rome(2026, 11, 30, 9, 5)
    )
    state = sla_pause(state, hours=HOURS, at=rome(2026, 11, 30, 9, 5))
    state = sla_customer_wrote(state, at=rome(2026, 11, 30, 10, 0))
    assert sla_due_times(state, hours=HOURS)[Metric.NEXT_RESPONSE] is None
    state = sla_resume(state, at=rome(2026, 11, 30, 10, 0))
    assert sla_due_times(state, hours=HOURS)[Metric.NEXT_RESPONSE] == rome(2026, 11, 30, 12, 0)


def test_solving_fulfils_everything_owed_and_a_reopen_resumes_the_resolution() -> None:
    state = sla_start(targets=TARGETS, at=MONDAY_9)
    state = sla_solved(state, hours=HOURS, at=rome(2026, 11, 30, 12, 0))
    for metric in (Metric.FIRST_RESPONSE, Metric.RESOLUTION):
        assert state.clocks[metric].fulfilled_at == rome(2026, 11, 30, 12, 0)
    assert state.clocks[Metric.NEXT_RESPONSE].fulfilled_at is None  # never started: nothing was owed
    assert sla_next_alarm(state, hours=HOURS, warning_percent=80) is None
    state = sla_reopened(state, at=rome(2026, 12, 1, 9, 0))
    assert sla_due_times(state, hours=HOURS)[Metric.RESOLUTION] == rome(2026, 12, 1, 14, 0)
    assert state.clocks[Metric.FIRST_RESPONSE].fulfilled_at is not None
    assert sla_reopened(state, at=rome(2026, 12, 1, 10, 0)) == state


def test_alarms_come_in_order_warning_then_breach_and_each_only_once() -> None:
    state = sla_start(targets={Metric.FIRST_RESPONSE: timedelta(hours=1)}, at=MONDAY_9)
    assert sla_next_alarm(state, hours=HOURS, warning_percent=80) == (
        rome(2026, 11, 30, 9, 48),
        Metric.FIRST_RESPONSE,
        Alarm.WARNING,
    )
    state = sla_alarm_recorded(state, metric=Metric.FIRST_RESPONSE, alarm=Alarm.WARNING)
    assert sla_next_alarm(state, hours=HOURS, warning_percent=80) == (
        rome(2026, 11, 30, 10, 0),
        Metric.FIRST_RESPONSE,
        Alarm.BREACH,
    )
    state = sla_alarm_recorded(state, metric=Metric.FIRST_RESPONSE, alarm=Alarm.BREACH)
    assert sla_next_alarm(state, hours=HOURS, warning_percent=80) is None


def test_a_breach_found_late_settles_the_warning_it_skipped() -> None:
    state = sla_start(targets={Metric.RESOLUTION: timedelta(hours=1)}, at=MONDAY_9)
    state = sla_alarm_recorded(state, metric=Metric.RESOLUTION, alarm=Alarm.BREACH)
    clock = state.clocks[Metric.RESOLUTION]
    assert clock.warned and clock.breached
    assert sla_next_alarm(state, hours=HOURS, warning_percent=80) is None


def test_an_overdue_clock_is_due_at_once_after_a_resume() -> None:
    state = sla_start(targets={Metric.FIRST_RESPONSE: timedelta(minutes=30)}, at=MONDAY_9)
    state = sla_pause(state, hours=HOURS, at=rome(2026, 11, 30, 10, 0))
    state = sla_resume(state, at=rome(2026, 11, 30, 11, 0))
    assert sla_due_times(state, hours=HOURS)[Metric.FIRST_RESPONSE] == rome(2026, 11, 30, 11, 0)
    assert sla_next_alarm(state, hours=HOURS, warning_percent=80) == (
        rome(2026, 11, 30, 11, 0),
        Metric.FIRST_RESPONSE,
        Alarm.WARNING,
    )


def test_the_earliest_alarm_across_metrics_comes_first() -> None:
    state = sla_start(
        targets={Metric.FIRST_RESPONSE: timedelta(hours=4), Metric.RESOLUTION: timedelta(hours=2)},
        at=MONDAY_9,
    )
    moment, metric, alarm = sla_next_alarm(state, hours=HOURS, warning_percent=50) or (None, None, None)
    assert (moment, metric, alarm) == (rome(2026, 11, 30, 10, 0), Metric.RESOLUTION, Alarm.WARNING)


def test_a_ticket_created_while_waiting_on_the_customer_starts_paused() -> None:
    state = sla_start(targets=TARGETS, at=MONDAY_9, paused=True)
    assert sla_due_times(state, hours=HOURS) == dict.fromkeys(Metric)
    state = sla_resume(state, at=rome(2026, 11, 30, 10, 0))
    assert sla_due_times(state, hours=HOURS)[Metric.FIRST_RESPONSE] == rome(2026, 11, 30, 11, 0)


def test_the_state_survives_a_round_trip_through_json_and_ignores_unknown_metrics() -> None:
    state = sla_start(targets=TARGETS, at=MONDAY_9)
    state = sla_alarm_recorded(state, metric=Metric.RESOLUTION, alarm=Alarm.WARNING)
    state = sla_pause(state, hours=HOURS, at=rome(2026, 11, 30, 9, 30))
    data = sla_state_to_data(state)
    assert sla_state_from_data(data) == state
    data["clocks"]["satisfaction"] = {"target": 60}
    assert sla_state_from_data(data) == state
    assert sla_state_from_data({}) == SlaState(clocks={})


_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["pause", "resume", "customer", "reply", "solve", "reopen"]),
        st.integers(min_value=0, max_value=60 * 24 * 3),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(steps=_STEPS)
def test_used_time_never_exceeds_the_business_time_elapsed_and_only_running_clocks_have_due_times(
    steps: list[tuple[str, int]],
) -> None:
    at = MONDAY_9
    state = sla_start(targets=TARGETS, at=at)
    for step, minutes in steps:
        at += timedelta(minutes=minutes)
        if step == "pause":
            state = sla_pause(state, hours=HOURS, at=at)
        elif step == "resume":
            state = sla_resume(state, at=at)
        elif step == "customer":
            state = sla_customer_wrote(state, at=at)
        elif step == "reply":
            state = sla_agent_replied(state, hours=HOURS, at=at)
        elif step == "solve":
            state = sla_solved(state, hours=HOURS, at=at)
        else:
            state = sla_reopened(state, at=at)
        elapsed = at - MONDAY_9
        due = sla_due_times(state, hours=HOURS)
        for metric, clock in state.clocks.items():
            assert clock.used_at(HOURS, at) <= elapsed
            assert (due[metric] is not None) == clock.running
            assert not (clock.running and clock.paused)
            if state.paused:
                assert not clock.running
        assert sla_state_from_data(sla_state_to_data(state)) == state


@pytest.mark.parametrize("percent", [1, 50, 80, 99, 100])
def test_the_warning_comes_at_its_share_of_the_target(percent: int) -> None:
    state = sla_start(targets={Metric.FIRST_RESPONSE: timedelta(hours=1)}, at=MONDAY_9)
    moment, _metric, alarm = sla_next_alarm(state, hours=HOURS, warning_percent=percent) or (None, None, None)
    assert alarm is Alarm.WARNING
    assert moment == MONDAY_9 + timedelta(minutes=60 * percent / 100)
