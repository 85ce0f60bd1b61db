"""SLA on the ticket's row: the policy applied, the clocks kept in step, the alarms fired on time.

The clocks are pure (``tickets.sla_clock``, ``tickets.sla_follow``); this module reads and writes them.
A ticket's ``sla_state`` holds the clocks, and copies of what queues and timers need sit in indexed
columns: each metric's due time, the earliest of them (``sla_due_at``) and the next warning or breach
to fire (``sla_alarm_at``). Timers (``tickets.tasks.sla_tick``) read that last index only, so watching
costs what is due, not what is open.

Every function that changes a ticket expects its row locked by the caller's transaction, and leaves
the caller to save ``SLA_FIELDS``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.utils import timezone

from tickets import events
from tickets.business_time import WEEKDAYS, BusinessHours, CalendarError, business_hours
from tickets.models import BusinessCalendar, SlaMetricEvent, SLAPolicy, Ticket
from tickets.reasons import Reason
from tickets.services.serialize import ticket_data
from tickets.sla_clock import (
    Alarm,
    Metric,
    SlaState,
    sla_alarm_recorded,
    sla_due_times,
    sla_next_alarm,
    sla_start,
    sla_state_from_data,
    sla_state_to_data,
)
from tickets.sla_follow import TicketFacts, sla_follow, sla_metric_changes, sla_retarget

logger = logging.getLogger(__name__)

SLA_FIELDS = (
    "sla_policy",
    "sla_state",
    "sla_due_at",
    "sla_alarm_at",
    "sla_breached_at",
    "first_response_due_at",
    "next_response_due_at",
    "resolution_due_at",
    "seq",  # the audit rows recorded on the way
)
_DUE_FIELDS = {
    Metric.FIRST_RESPONSE: "first_response_due_at",
    Metric.NEXT_RESPONSE: "next_response_due_at",
    Metric.RESOLUTION: "resolution_due_at",
}
# A policy without a calendar counts every hour of every day.
ALWAYS = business_hours(time_zone="UTC", intervals={day: [["00:00", "24:00"]] for day in WEEKDAYS})
ALARM_EVENTS = {Alarm.WARNING: "ticket.sla_warning", Alarm.BREACH: "ticket.sla_breached"}


def policy_hours(policy: SLAPolicy | None) -> BusinessHours:
    """The policy's calendar ready for arithmetic; one that no longer validates counts every hour."""
    return calendar_hours(policy.calendar if policy is not None and policy.calendar_id else None)


def calendar_hours(calendar: BusinessCalendar | None) -> BusinessHours:
    """A calendar ready for arithmetic (cached per content); none, or one that does not validate, counts
    every hour."""
    if calendar is None:
        return ALWAYS
    try:
        return _calendar_hours(*_calendar_key(calendar))
    except CalendarError:
        logger.warning("calendar %s %r does not validate; counting every hour", calendar.pk, calendar.name)
        return ALWAYS


def sla_apply(
    *,
    ticket: Ticket,
    policy: SLAPolicy | None,
    at: datetime,
    reason: Reason | None = None,
    since: datetime | None = None,
) -> bool:
    """Give the ticket ``policy`` (or none): clocks counted from its creation (or ``since``), then caught
    up with what has happened to it.

    Records the change on the audit trail; returns whether anything changed.
    """
    if policy is not None and ticket.sla_policy_id == policy.pk and ticket.sla_state:
        return False
    if policy is None and ticket.sla_policy_id is None:
        return False
    ticket.sla_policy = policy
    if policy is None:
        _store(ticket, SlaState(clocks={}), ALWAYS)
        return True
    hours = policy_hours(policy)
    started = sla_start(targets=policy.targets_for(ticket.priority), at=since or ticket.created_at)
    state = sla_follow(started, facts=ticket_facts(ticket), hours=hours, at=at)
    changes = sla_metric_changes(SlaState(clocks={}), state, at=at)
    rows = [SlaMetricEvent(ticket=ticket, kind=SlaMetricEvent.Kind.APPLIED, at=at, policy=policy)]
    rows += _change_rows(ticket, changes, state, hours, policy)
    SlaMetricEvent.objects.bulk_create(rows)
    _store(ticket, state, hours)
    events.ticket_event_record(
        ticket=ticket,
        type="ticket.sla_applied",
        data={"policy_id": policy.pk, **sla_data(ticket), "ticket": ticket_data(ticket)},
        reason=reason or Reason("sla.policy", {"policy": policy.name}),
        save_seq=False,
    )
    return True


def sla_sync(*, ticket: Ticket, at: datetime | None = None) -> bool:
    """Move the clocks on to what the ticket's row says; returns whether the stored copy changed."""
    policy = ticket.sla_policy if ticket.sla_policy_id else None
    if policy is None or not ticket.sla_state:
        return False
    at = at or timezone.now()
    hours = policy_hours(policy)
    before = sla_state_from_data(ticket.sla_state)
    state = sla_follow(before, facts=ticket_facts(ticket), hours=hours, at=at)
    if state == before:
        return False
    SlaMetricEvent.objects.bulk_create(
        _change_rows(ticket, sla_metric_changes(before, state, at=at), state, hours, policy)
    )
    _store(ticket, state, hours)
    return True


def sla_priority_changed(*, ticket: Ticket) -> None:
    """The ticket's priority changed: its policy's targets for the new priority apply to the same clocks."""
    policy = ticket.sla_policy if ticket.sla_policy_id else None
    if policy is None or not ticket.sla_state:
        return
    state = sla_retarget(sla_state_from_data(ticket.sla_state), targets=policy.targets_for(ticket.priority))
    _store(ticket, state, policy_hours(policy))


def sla_tickets_sync(*, ticket_ids: Sequence[int]) -> int:
    """Keep the clocks of these tickets in step (after customer messages filed in bulk); returns how
    many changed. Each ticket is locked in turn; one a writer holds is left to the next change or sweep."""
    changed = 0
    for ticket_id in ticket_ids:
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(of=("self",))
                .select_related("sla_policy__calendar")
                .filter(pk=ticket_id, sla_policy__isnull=False)
                .first()
            )
            if ticket is not None and sla_sync(ticket=ticket):
                ticket.save(update_fields=SLA_FIELDS)
                sla_published(ticket)
                changed += 1
    return changed


def sla_alarms_due(*, until: datetime, limit: int = 1000) -> list[tuple[int, datetime]]:
    """``(ticket id, alarm time)`` of alarms due by ``until``, soonest first: a walk of one index."""
    rows = (
        Ticket.objects.filter(sla_alarm_at__lte=until)
        .order_by("sla_alarm_at")
        .values_list("pk", "sla_alarm_at")[:limit]
    )
    return [(pk, at) for pk, at in rows if at is not None]


def sla_alarms_fire(*, ticket_id: int, now: datetime | None = None) -> list[tuple[Metric, Alarm]]:
    """Record every alarm of the ticket that is due by ``now``, each with its escalation.

    Safe to run twice and from several timers at once: the row lock and the alarms recorded in the
    clocks make a second run find nothing due.
    """
    from tickets.services.sla_escalation import escalate

    now = now or timezone.now()
    fired: list[tuple[Metric, Alarm]] = []
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("sla_policy__calendar")
            .filter(pk=ticket_id)
            .first()
        )
        if ticket is None or ticket.sla_alarm_at is None or ticket.sla_alarm_at > now:
            return fired
        policy = ticket.sla_policy if ticket.sla_policy_id else None
        if policy is None or not ticket.is_open:
            ticket.sla_alarm_at = None
            ticket.save(update_fields=["sla_alarm_at"])
            return fired
        hours = policy_hours(policy)
        state = sla_state_from_data(ticket.sla_state)
        while (due := sla_next_alarm(state, hours=hours, warning_percent=policy.warning_percent)) is not None:
            moment, metric, alarm = due
            if moment > now:
                break
            state = sla_alarm_recorded(state, metric=metric, alarm=alarm)
            fired.append((metric, alarm))
            clock = state.clocks[metric]
            SlaMetricEvent.objects.create(
                ticket=ticket,
                metric=str(metric),
                kind=SlaMetricEvent.Kind.BREACHED if alarm is Alarm.BREACH else SlaMetricEvent.Kind.WARNING,
                at=moment,
                due_at=clock.due_at(hours),
                policy=policy,
            )
            if alarm is Alarm.BREACH and ticket.sla_breached_at is None:
                ticket.sla_breached_at = moment
            events.ticket_event_record(
                ticket=ticket,
                type=ALARM_EVENTS[alarm],
                data={
                    "metric": str(metric),
                    "due_at": _iso(clock.due_at(hours)),
                    "alarm_at": moment.isoformat(),
                    "notify": bool((policy.escalations or {}).get(str(alarm), {}).get("notify", True)),
                    "ticket": ticket_data(ticket),
                },
                reason=Reason(f"sla.{alarm}", {"metric": str(metric), "policy": policy.name}),
                save_seq=False,
            )
        _store(ticket, state, hours)
        ticket.save(update_fields=SLA_FIELDS)
        for metric, alarm in fired:
            escalate(ticket=ticket, policy=policy, metric=metric, alarm=alarm)
    return fired


def ticket_facts(ticket: Ticket) -> TicketFacts:
    return TicketFacts(
        is_open=ticket.is_open,
        waits_on_customer=ticket.status in (Ticket.Status.PENDING, Ticket.Status.ON_HOLD),
        first_response_at=ticket.first_response_at,
        last_agent_message_at=ticket.last_agent_message_at,
        awaiting_agent_since=ticket.awaiting_agent_since,
        solved_at=ticket.solved_at,
    )


def sla_data(ticket: Ticket) -> dict[str, Any]:
    """The ticket's SLA as the API and live events show it."""
    state = sla_state_from_data(ticket.sla_state or {})
    return {
        "sla_policy_id": ticket.sla_policy_id,
        "sla_due_at": _iso(ticket.sla_due_at),
        "sla_breached_at": _iso(ticket.sla_breached_at),
        "sla_paused": state.paused,
        "sla_metrics": {
            str(metric): {
                "due_at": _iso(getattr(ticket, _DUE_FIELDS[metric])),
                "fulfilled_at": _iso(clock.fulfilled_at),
                "breached": clock.breached,
                "warned": clock.warned,
            }
            for metric, clock in state.clocks.items()
        },
    }


def sla_published(ticket: Ticket) -> None:
    """Tell the staff screens the ticket's due times moved (live only: the row is the record)."""
    events.publish_on_commit(
        groups=events.ticket_staff_groups(ticket),
        event=events.ephemeral_event("ticket.sla_changed", ticket_id=ticket.pk, **sla_data(ticket)),
    )


def _store(ticket: Ticket, state: SlaState, hours: BusinessHours) -> None:
    policy = ticket.sla_policy if ticket.sla_policy_id else None
    ticket.sla_state = sla_state_to_data(state) if state.clocks else {}
    due = sla_due_times(state, hours=hours)
    for metric, field in _DUE_FIELDS.items():
        setattr(ticket, field, due[metric])
    running = [moment for moment in due.values() if moment is not None]
    ticket.sla_due_at = min(running) if running and ticket.is_open else None
    alarm = sla_next_alarm(state, hours=hours, warning_percent=policy.warning_percent) if policy else None
    ticket.sla_alarm_at = alarm[0] if alarm is not None and ticket.is_open else None


def _change_rows(
    ticket: Ticket, changes: Iterable[Any], state: SlaState, hours: BusinessHours, policy: SLAPolicy
) -> list[SlaMetricEvent]:
    rows = []
    for change in changes:
        clock = state.clocks[change.metric]
        rows.append(
            SlaMetricEvent(
                ticket=ticket,
                metric=str(change.metric),
                kind=change.kind,
                at=change.at,
                due_at=clock.due_at(hours) if change.kind == "activate" else None,
                policy=policy,
            )
        )
    return rows


def _calendar_key(calendar: BusinessCalendar) -> tuple[Any, ...]:
    # Everything the arithmetic depends on, as hashable values: an edited calendar is a new key.
    return (
        calendar.time_zone,
        _frozen(calendar.intervals),
        _frozen(calendar.holidays),
        calendar.country,
        calendar.subdivision,
    )


@lru_cache(maxsize=256)
def _calendar_hours(
    time_zone: str, intervals: Any, holidays: Any, country: str, subdivision: str
) -> BusinessHours:
    return business_hours(
        time_zone=time_zone,
        intervals=_thawed(intervals),
        holidays=_thawed(holidays),
        country=country,
        subdivision=subdivision,
    )


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return ("__dict__", tuple(sorted((str(key), _frozen(item)) for key, item in value.items())))
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    return value


def _thawed(value: Any) -> Any:
    if isinstance(value, tuple) and value[:1] == ("__dict__",):
        return {key: _thawed(item) for key, item in value[1]}
    if isinstance(value, tuple):
        return [_thawed(item) for item in value]
    return value


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
