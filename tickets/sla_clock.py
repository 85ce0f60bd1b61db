"""The clocks of a ticket's SLA: pure state, moved on by what happens to the ticket.

A policy sets up to three targets, each counted in business time (``tickets.business_time``):

- **first response**: from the ticket's creation to the first public reply of an agent;
- **next response**: from a customer message that waits for an answer to the next reply (a new clock
  for each such wait, once the first response is given);
- **resolution**: from creation to the ticket being solved; a reopen resumes it where it stopped.

Each metric is a ``MetricClock``: running (with the moment it last started and the business time used
before), paused (waiting on the customer: pending or on hold), fulfilled, and whether its warning
and breach have been recorded. Due times are derived, never stored as the truth: pausing and resuming
move them, and a calendar change recomputes them. The ticket keeps a copy of each due time and of the
next alarm (``next_alarm``) in indexed columns so queues sort by them and a sweep finds what is due.

Everything here is a function of its arguments: no database, no clock of its own (``at`` is always
given), so the services decide when and the tests can replay any story.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tickets.business_time import BusinessHours, business_add, business_between


class Metric(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class Alarm(StrEnum):
    WARNING = "warning"
    BREACH = "breach"


@dataclass(frozen=True)
class MetricClock:
    target: timedelta
    used: timedelta = timedelta(0)
    # When the clock last started or resumed; None while stopped.
    running_since: datetime | None = None
    # Stopped by a pause (the ticket waits on the customer): it runs again when the pause ends.
    paused: bool = False
    fulfilled_at: datetime | None = None
    warned: bool = False
    breached: bool = False

    @property
    def running(self) -> bool:
        return self.running_since is not None

    @property
    def active(self) -> bool:
        """Counting now or held by a pause: not yet fulfilled, not idle."""
        return self.running or self.paused

    def used_at(self, hours: BusinessHours, at: datetime) -> timedelta:
        """Business time used by ``at``, including the running stretch."""
        if self.running_since is None:
            return self.used
        return self.used + business_between(hours, self.running_since, at)

    def due_at(self, hours: BusinessHours) -> datetime | None:
        """When the target is reached if the clock keeps running; None unless it runs."""
        return self._reached(hours, self.target)

    def alarm_at(self, hours: BusinessHours, alarm: Alarm, warning_percent: int) -> datetime | None:
        """When ``alarm`` falls due, unless it has been recorded or the clock is stopped."""
        if self.breached or (alarm is Alarm.WARNING and self.warned):
            return None
        share = self.target if alarm is Alarm.BREACH else self.target * warning_percent / 100
        return self._reached(hours, share)

    def _reached(self, hours: BusinessHours, share: timedelta) -> datetime | None:
        if self.running_since is None:
            return None
        left = share - self.used
        if left <= timedelta(0):
            return self.running_since
        return business_add(hours, self.running_since, left)


@dataclass(frozen=True)
class SlaState:
    clocks: Mapping[Metric, MetricClock]
    # The ticket waits on the customer (pending, on hold): no clock counts.
    paused: bool = False

    def clock(self, metric: Metric) -> MetricClock | None:
        return self.clocks.get(metric)

    def _with(self, changed: Mapping[Metric, MetricClock], *, paused: bool | None = None) -> SlaState:
        return SlaState(clocks={**self.clocks, **changed}, paused=self.paused if paused is None else paused)


def sla_start(*, targets: Mapping[Metric, timedelta], at: datetime, paused: bool = False) -> SlaState:
    """A ticket created (or given its policy) at ``at``: first response and resolution start counting.

    The next-response target waits, idle, for a customer message after the first response.
    """
    clocks: dict[Metric, MetricClock] = {}
    for metric, target in targets.items():
        if metric is Metric.NEXT_RESPONSE:
            clocks[metric] = MetricClock(target=target)
        else:
            clocks[metric] = _started(MetricClock(target=target), at, paused=paused)
    return SlaState(clocks=clocks, paused=paused)


def sla_pause(state: SlaState, *, hours: BusinessHours, at: datetime) -> SlaState:
    """The ticket now waits on the customer: every running clock stops, to run again on resume."""
    if state.paused:
        return state
    changed = {
        metric: replace(clock, used=clock.used_at(hours, at), running_since=None, paused=True)
        for metric, clock in state.clocks.items()
        if clock.running
    }
    return state._with(changed, paused=True)


def sla_resume(state: SlaState, *, at: datetime) -> SlaState:
    """The ticket waits on us again: the clocks the pause stopped count on from what they had used."""
    if not state.paused:
        return state
    changed = {
        metric: replace(clock, running_since=at, paused=False)
        for metric, clock in state.clocks.items()
        if clock.paused
    }
    return state._with(changed, paused=False)


def sla_customer_wrote(state: SlaState, *, at: datetime) -> SlaState:
    """A customer message now waits for an answer: a next-response clock starts, once the first
    response is given; while one already counts, the oldest unanswered message keeps it."""
    first = state.clock(Metric.FIRST_RESPONSE)
    following = state.clock(Metric.NEXT_RESPONSE)
    if following is None or following.active or (first is not None and first.fulfilled_at is None):
        return state
    fresh = _started(MetricClock(target=following.target), at, paused=state.paused)
    return state._with({Metric.NEXT_RESPONSE: fresh})


def sla_agent_replied(state: SlaState, *, hours: BusinessHours, at: datetime) -> SlaState:
    """A public reply: the first response (the first time) and the waiting next response are given."""
    changed: dict[Metric, MetricClock] = {
        metric: _fulfilled(clock, hours, at)
        for metric, clock in state.clocks.items()
        if metric is not Metric.RESOLUTION and clock.active
    }
    return state._with(changed)


def sla_solved(state: SlaState, *, hours: BusinessHours, at: datetime) -> SlaState:
    """Solved: resolution is fulfilled, and so is any response still owed (the answer was the fix)."""
    changed = {metric: _fulfilled(clock, hours, at) for metric, clock in state.clocks.items() if clock.active}
    return state._with(changed, paused=False)


def sla_reopened(state: SlaState, *, at: datetime) -> SlaState:
    """Reopened: resolution counts on from what it had used, its recorded alarms kept."""
    resolution = state.clock(Metric.RESOLUTION)
    if resolution is None or resolution.active:
        return state
    # Reopened straight into waiting on the customer (pending), it stays held until that ends.
    resumed = _started(replace(resolution, fulfilled_at=None), at, paused=state.paused)
    return state._with({Metric.RESOLUTION: resumed})


def sla_alarm_recorded(state: SlaState, *, metric: Metric, alarm: Alarm) -> SlaState:
    """Mark ``alarm`` of ``metric`` as recorded; a breach also settles a warning never sent."""
    clock = state.clocks[metric]
    if alarm is Alarm.BREACH:
        return state._with({metric: replace(clock, warned=True, breached=True)})
    return state._with({metric: replace(clock, warned=True)})


def sla_due_times(state: SlaState, *, hours: BusinessHours) -> dict[Metric, datetime | None]:
    """Each metric's due time while its clock runs (None when stopped, fulfilled or absent)."""
    due: dict[Metric, datetime | None] = dict.fromkeys(Metric)
    for metric, clock in state.clocks.items():
        due[metric] = clock.due_at(hours)
    return due


def sla_next_alarm(
    state: SlaState, *, hours: BusinessHours, warning_percent: int
) -> tuple[datetime, Metric, Alarm] | None:
    """The first alarm still to be recorded: when, for which metric, warning or breach."""
    found: list[tuple[datetime, int, Metric, Alarm]] = []
    for metric, clock in state.clocks.items():
        for order, alarm in enumerate((Alarm.WARNING, Alarm.BREACH)):
            moment = clock.alarm_at(hours, alarm, warning_percent)
            if moment is not None:
                found.append((moment, order, metric, alarm))
    if not found:
        return None
    moment, _order, metric, alarm = min(found)
    return moment, metric, alarm


def sla_state_to_data(state: SlaState) -> dict[str, Any]:
    """A JSON-ready copy, for the ticket's row."""
    return {
        "paused": state.paused,
        "clocks": {
            str(metric): {
                "target": clock.target.total_seconds(),
                "used": clock.used.total_seconds(),
                "running_since": _iso(clock.running_since),
                "paused": clock.paused,
                "fulfilled_at": _iso(clock.fulfilled_at),
                "warned": clock.warned,
                "breached": clock.breached,
            }
            for metric, clock in state.clocks.items()
        },
    }


def sla_state_from_data(data: Mapping[str, Any]) -> SlaState:
    """The state ``sla_state_to_data`` wrote; metrics this version does not know are dropped."""
    known = {str(metric): metric for metric in Metric}
    clocks = {
        known[name]: MetricClock(
            target=timedelta(seconds=raw["target"]),
            used=timedelta(seconds=raw.get("used", 0)),
            running_since=_parse(raw.get("running_since")),
            paused=bool(raw.get("paused")),
            fulfilled_at=_parse(raw.get("fulfilled_at")),
            warned=bool(raw.get("warned")),
            breached=bool(raw.get("breached")),
        )
        for name, raw in (data.get("clocks") or {}).items()
        if name in known
    }
    return SlaState(clocks=clocks, paused=bool(data.get("paused")))


def _started(clock: MetricClock, at: datetime, *, paused: bool) -> MetricClock:
    return replace(clock, paused=True) if paused else replace(clock, running_since=at)


def _fulfilled(clock: MetricClock, hours: BusinessHours, at: datetime) -> MetricClock:
    return replace(clock, used=clock.used_at(hours, at), running_since=None, paused=False, fulfilled_at=at)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
