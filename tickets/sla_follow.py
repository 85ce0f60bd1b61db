"""Bring a ticket's SLA clocks up to date with what its row says happened (pure, like ``sla_clock``).

The services change a ticket in many places (a reply, a status change, a customer message filed in a
batch, a split, a merge). Rather than each of them driving the clocks, the clocks *follow* the ticket's
facts: its status, when the first response was given, since when a customer message waits for an
answer. ``sla_follow`` is idempotent: run twice on the same facts it changes nothing the second time,
so it can run inline where an agent acts and later, in a task, where a batch of customer messages was
filed without the cost of the clocks on the ingest path.

``sla_metric_changes`` says what moved between two states, as the metric events reports read
(activate, pause, fulfil), in the shape of Zendesk's "ticket metric events".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from tickets.business_time import BusinessHours
from tickets.sla_clock import (
    Metric,
    MetricClock,
    SlaState,
    sla_customer_wrote,
    sla_pause,
    sla_reopened,
    sla_resume,
    sla_solved,
)

ChangeKind = Literal["activate", "pause", "fulfill"]


@dataclass(frozen=True, kw_only=True)
class TicketFacts:
    is_open: bool
    waits_on_customer: bool  # pending or on hold
    first_response_at: datetime | None
    last_agent_message_at: datetime | None
    awaiting_agent_since: datetime | None
    solved_at: datetime | None


@dataclass(frozen=True)
class MetricChange:
    metric: Metric
    kind: ChangeKind
    at: datetime


def sla_follow(state: SlaState, *, facts: TicketFacts, hours: BusinessHours, at: datetime) -> SlaState:
    """The clocks as the facts have them at ``at``."""
    if not facts.is_open:
        return sla_solved(state, hours=hours, at=facts.solved_at or at)
    resolution = state.clock(Metric.RESOLUTION)
    if resolution is not None and resolution.fulfilled_at is not None:
        state = sla_reopened(state, at=at)
    state = sla_pause(state, hours=hours, at=at) if facts.waits_on_customer else sla_resume(state, at=at)
    state = _answers_given(state, facts=facts, hours=hours)
    if facts.awaiting_agent_since is not None:
        state = sla_customer_wrote(state, at=facts.awaiting_agent_since)
    return state


def sla_retarget(state: SlaState, *, targets: dict[Metric, timedelta]) -> SlaState:
    """New targets (the priority changed) on the same clocks: time used and alarms recorded are kept.

    An alarm recorded under the old target is cleared where the new one leaves room for it again, so a
    ticket raised to urgent can warn again sooner, and one lowered is no longer "breached" if it is not.
    """
    clocks: dict[Metric, MetricClock] = {}
    for metric, clock in state.clocks.items():
        target = targets.get(metric)
        if target is None:
            continue
        if target > clock.target:
            clock = replace(clock, warned=False, breached=False)
        clocks[metric] = replace(clock, target=target)
    return SlaState(clocks=clocks, paused=state.paused)


def sla_metric_changes(before: SlaState, after: SlaState, *, at: datetime) -> list[MetricChange]:
    """What each clock did between the two states, in metric order."""
    changes: list[MetricChange] = []
    for metric in Metric:
        old, new = before.clock(metric), after.clock(metric)
        if new is None:
            continue
        if new.fulfilled_at is not None and (old is None or old.fulfilled_at != new.fulfilled_at):
            changes.append(MetricChange(metric, "fulfill", new.fulfilled_at))
        elif new.running and (old is None or not old.running or old.running_since != new.running_since):
            changes.append(MetricChange(metric, "activate", new.running_since or at))
        elif new.paused and (old is None or not old.paused):
            changes.append(MetricChange(metric, "pause", at))
    return changes


def _answers_given(state: SlaState, *, facts: TicketFacts, hours: BusinessHours) -> SlaState:
    changed: dict[Metric, MetricClock] = {}
    first = state.clock(Metric.FIRST_RESPONSE)
    if first is not None and first.active and facts.first_response_at is not None:
        changed[Metric.FIRST_RESPONSE] = _fulfilled(first, hours, facts.first_response_at)
    following = state.clock(Metric.NEXT_RESPONSE)
    replied = facts.last_agent_message_at
    if following is not None and following.active and facts.awaiting_agent_since is None and replied:
        changed[Metric.NEXT_RESPONSE] = _fulfilled(following, hours, replied)
    return SlaState(clocks={**state.clocks, **changed}, paused=state.paused) if changed else state


def _fulfilled(clock: MetricClock, hours: BusinessHours, at: datetime) -> MetricClock:
    # A reply seen late (the clock was started after it) is counted at the clock's own start: no time.
    stop = max(at, clock.running_since) if clock.running_since is not None else at
    return replace(clock, used=clock.used_at(hours, stop), running_since=None, paused=False, fulfilled_at=at)
