"""The demo desk's past: four weeks of tickets, so the dashboard and the reports have something to show.

Made the way the desk makes them: customers write through the one ingest entry (``inbound_items_file``),
agents take, answer and solve tickets through the services, and SLA alarms fire when they fall due, as
the timers would. The services read the time from ``django.utils.timezone.now`` (the models' default
times call the same function), so each step runs under a clock set to its moment in the past
(``_past_clock``), in the order the moments fall, across tickets. A reply is recorded as sent in the
transaction that writes it, so the server never sends weeks-old mail.

The plan is drawn from a fixed seed: every run makes the same desk, its times counted back from the
moment of seeding. Arrivals follow the office's week (busy weekday mornings and afternoons, quiet
nights and weekends) on the demo's email and web-chat channels; each agent answers at their own pace,
a few tickets come back after they were solved, and slow answers breach their SLA. Idempotent: nothing
is added when the history's first message is there. Ends by rebuilding the reports' roll-ups.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tickets.channel_port import ChannelAccountLike, channel_account_model
from tickets.demo import AGENTS, DemoPeople
from tickets.demo_history_texts import FIRST_NAMES, LAST_NAMES, REOPEN_ANSWER, REOPENING, TOPICS, Topic
from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
from tickets.models import Message, Ticket
from tickets.reports.filters import desk_time_zone
from tickets.reports.rollup import rollups_rebuild
from tickets.services import sla
from tickets.services.inbound_file import inbound_items_file
from tickets.services.messages import message_send_reply, message_status_update
from tickets.services.tickets import ticket_update

HISTORY_DAYS = 28
EXTERNAL_PREFIX = "history-"
_SEED = 2718
# New tickets a day, Monday first; each day varies around it.
_WEEK = (6, 5, 5, 5, 4, 1, 1)
# How busy each hour of the day is (desk time, relative weights); weekends are flatter.
_WEEKDAY_HOURS = (2, 1, 1, 1, 1, 2, 5, 15, 30, 60, 70, 60, 40, 30, 50, 50, 40, 30, 20, 15, 12, 10, 6, 4)
_WEEKEND_HOURS = (3, 2, 1, 1, 1, 1, 2, 5, 10, 20, 30, 30, 25, 20, 20, 20, 20, 20, 20, 20, 20, 15, 10, 6)
# Each agent's typical minutes to answer an email in office hours (a chat takes a fraction of it).
_PACE = {"giulia": 20.0, "marco": 75.0, "luca": 40.0, "anna": 28.0}
_OFFICE = (time(9), time(18))
_CHAT_SHARE = 0.35
_FOLLOW_UP_SHARE = 0.45
_REOPEN_SHARE = 0.08


@dataclass(frozen=True)
class Step:
    at: datetime
    kind: str  # "in" (the customer writes), "take", "reply", "solve"
    text: str = ""


@dataclass
class Plan:
    number: int
    channel: ChannelAccountLike
    name: str
    address: str  # an email address, or a web-chat visitor id
    topic: Topic
    agent: str
    steps: list[Step] = field(default_factory=list)
    ticket_id: int | None = None
    written: int = 0


def history_seed(people: DemoPeople, *, days: int = HISTORY_DAYS, now: datetime | None = None) -> int:
    """File ``days`` of history before ``now`` on the demo's email and web-chat channels unless it is
    there; returns how many tickets it added (0 when present, or when neither channel exists)."""
    channels = _channels()
    if not channels or _present(channels):
        return 0
    now = now or timezone.now()
    plans = _plans(random.Random(_SEED), days=days, now=now, channels=channels, people=people)
    with _past_clock() as clock_set:
        steps = sorted(((step, plan) for plan in plans for step in plan.steps), key=lambda pair: pair[0].at)
        for step, owner in steps:
            clock_set(step.at)
            _step_run(owner, step, people)
    rollups_rebuild()
    return len(plans)


def _channels() -> list[ChannelAccountLike]:
    model = channel_account_model()
    found: list[ChannelAccountLike] = []
    for kind in ("email", "webchat"):
        account = model._default_manager.filter(kind=kind, active=True).order_by("pk").first()
        if account is not None:
            found.append(account)  # type: ignore[arg-type]  # a ChannelAccount, read through the port
    return found


def _present(channels: Sequence[ChannelAccountLike]) -> bool:
    return Message.objects.filter(
        channel_account_id__in=[channel.pk for channel in channels],
        external_id__startswith=EXTERNAL_PREFIX,
    ).exists()


# --- the plan ------------------------------------------------------------------------------------------


def _plans(
    rng: random.Random,
    *,
    days: int,
    now: datetime,
    channels: Sequence[ChannelAccountLike],
    people: DemoPeople,
) -> list[Plan]:
    zone = desk_time_zone()
    today = now.astimezone(zone).date()
    # Every step lies in the past, before the demo's own conversations of the last hours begin.
    latest = now - timedelta(hours=6)
    plans: list[Plan] = []
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        count = max(0, round(_WEEK[day.weekday()] * rng.uniform(0.75, 1.3)))
        for arrival in sorted(_arrival(rng, day, zone) for _ in range(count)):
            plan = _plan(rng, len(plans) + 1, arrival, channels, people, zone=zone)
            if plan.steps[-1].at <= latest:
                plans.append(plan)
    return plans


def _arrival(rng: random.Random, day: date, zone: ZoneInfo) -> datetime:
    weights = _WEEKDAY_HOURS if day.weekday() < 5 else _WEEKEND_HOURS
    hour = rng.choices(range(24), weights=weights)[0]
    local = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=zone)
    return local.astimezone(UTC)


def _plan(
    rng: random.Random,
    number: int,
    arrival: datetime,
    channels: Sequence[ChannelAccountLike],
    people: DemoPeople,
    *,
    zone: ZoneInfo,
) -> Plan:
    chat = len(channels) > 1 and rng.random() < _CHAT_SHARE
    channel = channels[-1] if chat else channels[0]
    topic = rng.choices(TOPICS, weights=[topic.weight for topic in TOPICS])[0]
    team_agents = sorted(username for username in people.agents if AGENTS[username][2] == topic.team)
    agent = rng.choice(team_agents) if team_agents else people.supervisor.username
    given, family = FIRST_NAMES[number % len(FIRST_NAMES)], LAST_NAMES[(number * 7) % len(LAST_NAMES)]
    if channel.kind == "webchat":
        address = f"v-hist{number:028d}"
    else:
        address = f"{given}.{family}.{number}@example.org".lower().replace(" ", "")
    plan = Plan(number, channel, f"{given} {family}", address, topic, agent)
    pace = _PACE.get(agent, 45.0) / (8 if chat else 1)

    def answer_after(moment: datetime) -> datetime:
        return _answer_at(rng, moment, pace=pace / 2 if topic.urgent else pace, zone=zone)

    plan.steps.append(Step(arrival, "in", topic.opening))
    answered = answer_after(arrival)
    taken = max(arrival + timedelta(seconds=10), answered - timedelta(seconds=rng.randint(20, 240)))
    plan.steps.append(Step(taken, "take"))
    plan.steps.append(Step(answered, "reply", topic.answers[0]))
    last = answered
    if rng.random() < _FOLLOW_UP_SHARE:
        written = last + timedelta(minutes=_lognormal(rng, 3 if chat else 50, 1.0))
        last = answer_after(written)
        plan.steps += [Step(written, "in", topic.follow_up), Step(last, "reply", topic.answers[1])]
    solved = _solve_at(rng, last, chat=chat, zone=zone)
    plan.steps.append(Step(solved, "solve"))
    window_hours = settings.REOPEN_WINDOW_DAYS * 24
    if window_hours > 6 and rng.random() < _REOPEN_SHARE:
        # Back within the reopen window, so the customer's message reopens the solved ticket.
        back = solved + timedelta(hours=rng.uniform(3, min(72, window_hours - 3)))
        again = answer_after(back)
        plan.steps += [
            Step(back, "in", rng.choice(REOPENING)),
            Step(again, "reply", REOPEN_ANSWER),
            Step(_solve_at(rng, again, chat=chat, zone=zone), "solve"),
        ]
    return plan


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median), sigma)


def _office_open(moment: datetime, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone)
    return local.weekday() < 5 and _OFFICE[0] <= local.time() < _OFFICE[1]


def _next_opening(moment: datetime, zone: ZoneInfo) -> datetime:
    local = moment.astimezone(zone)
    day = local.date() if local.time() < _OFFICE[0] else local.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, _OFFICE[0], tzinfo=zone).astimezone(UTC)


def _answer_at(rng: random.Random, moment: datetime, *, pace: float, zone: ZoneInfo) -> datetime:
    """When an agent answers a message written at ``moment``: at their pace in office hours, else after
    the office opens (the queue of the night is worked through in the first hour or two)."""
    if not _office_open(moment, zone):
        moment = _next_opening(moment, zone) + timedelta(minutes=rng.uniform(0, 90))
    answered = moment + timedelta(minutes=max(1.0, _lognormal(rng, pace, 0.9)))
    if not _office_open(answered, zone):
        answered = _next_opening(answered, zone) + timedelta(minutes=rng.uniform(5, 60))
    return answered


def _solve_at(rng: random.Random, moment: datetime, *, chat: bool, zone: ZoneInfo) -> datetime:
    if chat:
        return moment + timedelta(minutes=rng.uniform(1, 8))
    solved = moment + timedelta(minutes=_lognormal(rng, 120, 1.1))
    if not _office_open(solved, zone):
        solved = _next_opening(solved, zone) + timedelta(minutes=rng.uniform(10, 120))
    return solved


# --- running it ----------------------------------------------------------------------------------------


def _step_run(plan: Plan, step: Step, people: DemoPeople) -> None:
    agent = people.agents.get(plan.agent, people.supervisor)
    if step.kind == "in":
        _customer_writes(plan, step)
        return
    assert plan.ticket_id is not None, "a plan starts with the customer's message"
    ticket = Ticket.objects.get(pk=plan.ticket_id)
    if ticket.sla_alarm_at is not None and ticket.sla_alarm_at <= step.at:
        # The alarms that fell due before this moment fire first, as the timers would have fired them.
        sla.sla_alarms_fire(ticket_id=ticket.pk, now=step.at)
        ticket.refresh_from_db()
    if step.kind == "take":
        tags = {*ticket.tags.values_list("name", flat=True), *plan.topic.tags}
        ticket_update(
            ticket=ticket, actor=agent, team=people.teams[plan.topic.team], assignee=agent, tags=sorted(tags)
        )
    elif step.kind == "reply":
        with transaction.atomic():
            reply = message_send_reply(ticket=ticket, author=agent, text=step.text)
            # Sent long ago: recorded before the delivery task runs, which then finds nothing to send.
            message_status_update(message=reply, status=Message.Status.SENT)
    elif step.kind == "solve":
        ticket_update(ticket=ticket, actor=agent, status=Ticket.Status.SOLVED)


def _customer_writes(plan: Plan, step: Step) -> None:
    plan.written += 1
    if plan.channel.kind == "webchat":
        sender = IdentityClaim(IdentityKind.WEBCHAT, plan.address)
    else:
        sender = IdentityClaim(IdentityKind.EMAIL, plan.address)
    inbound = InboundMessage(
        channel_account_id=plan.channel.pk,
        external_id=f"{EXTERNAL_PREFIX}{plan.number}-{plan.written}",
        sender=sender,
        sender_name=plan.name,
        subject=plan.topic.subject if plan.written == 1 else "",
        text=step.text,
        sent_at=step.at,
    )
    (filed,) = inbound_items_file(items=[(inbound, plan.channel)])
    assert filed.ticket_id is not None, filed.reason
    assert plan.ticket_id in (None, filed.ticket_id), "a history ticket's messages stay on it"
    plan.ticket_id = filed.ticket_id


@contextmanager
def _past_clock() -> Iterator[Callable[[datetime], None]]:
    """Make ``timezone.now()`` (and the models' default times) answer the moment last set, on this
    thread only: a server sharing the process (a test's) keeps the real time. The real clock is back
    when the block ends."""
    real_now = timezone.now
    seeding = threading.get_ident()
    moment = [real_now()]

    def now() -> datetime:
        return moment[0] if threading.get_ident() == seeding else real_now()

    def clock_set(at: datetime) -> None:
        moment[0] = at

    defaults = [
        model_field
        for model in apps.get_models()
        for model_field in model._meta.concrete_fields
        if getattr(model_field, "default", None) is real_now
    ]
    _defaults_set(defaults, now)
    timezone.now = now
    try:
        yield clock_set
    finally:
        timezone.now = real_now
        _defaults_set(defaults, real_now)


def _defaults_set(fields: list[Any], default: Callable[[], datetime]) -> None:
    for model_field in fields:
        model_field.default = default
        # A field keeps the function it read first (a cached property): forget it so the new one is read.
        model_field.__dict__.pop("_get_default", None)
