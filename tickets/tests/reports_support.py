"""A small desk with a week of history, made through the services, for the reports' tests; and the
figures computed directly from the tickets, messages and audit rows, the plain way.

Time passes for a ticket by moving every moment it has (its row, its messages, its audit rows, its SLA
history) back together: a story is told step by step at the real clock, with ``elapse`` between the
steps, so the gaps between them are the ones the test wants and the services did every write.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.models import F
from django.utils import timezone

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_api_channel
from tickets.business_time import business_between
from tickets.models import (
    BusinessCalendar,
    Message,
    SlaMetricEvent,
    SLAPolicy,
    Team,
    Ticket,
    TicketEvent,
)
from tickets.reports.filters import ReportFilter, day_start, desk_time_zone
from tickets.services import sla
from tickets.services.messages import message_send_reply, note_add
from tickets.services.sla import policy_hours
from tickets.services.ticket_merge import ticket_merge
from tickets.services.tickets import ticket_update
from tickets.tests.api_support import customer_writes
from tickets.tests.sla_support import due_in

_TICKET_TIMES = (
    "created_at",
    "updated_at",
    "first_response_at",
    "last_customer_message_at",
    "last_agent_message_at",
    "awaiting_agent_since",
    "solved_at",
    "sla_breached_at",
    "sla_due_at",
    "sla_alarm_at",
    "first_response_due_at",
    "next_response_due_at",
    "resolution_due_at",
)
OPEN = set(Ticket.OPEN_STATUSES)


def elapse(ticket: Ticket, delta: timedelta) -> Ticket:
    """``delta`` passes for the ticket: everything that happened to it moves that much into the past."""
    Ticket.objects.filter(pk=ticket.pk).update(**{name: F(name) - delta for name in _TICKET_TIMES})
    Message.objects.filter(ticket_id=ticket.pk).update(
        sent_at=F("sent_at") - delta,
        created_at=F("created_at") - delta,
        status_changed_at=F("status_changed_at") - delta,
    )
    TicketEvent.objects.filter(ticket_id=ticket.pk).update(created_at=F("created_at") - delta)
    SlaMetricEvent.objects.filter(ticket_id=ticket.pk).update(at=F("at") - delta)
    return Ticket.objects.get(pk=ticket.pk)


def now_of(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


@dataclass
class Desk:
    billing: Team
    tech: Team
    alice: User
    bob: User
    carla: User
    email: ChannelAccount  # Billing's
    chat: ChannelAccount  # Tech's
    loose: ChannelAccount  # no team
    office: SLAPolicy  # business hours
    strict: SLAPolicy  # every hour
    tickets: dict[str, Ticket]


def desk_story(*, billing: Team, tech: Team, alice: User, bob: User, carla: User) -> Desk:
    """Nine tickets over six weeks (most in the last five days), on three channels and two teams."""
    email = make_api_channel(team=billing, trust_identities=True)
    chat = make_api_channel(team=tech, trust_identities=True)
    loose = make_api_channel(team=None, trust_identities=True)
    calendar = BusinessCalendar.objects.create(
        name="Office",
        time_zone="Europe/Rome",
        intervals={day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        country="",
    )
    office = SLAPolicy.objects.create(
        name="Office", first_response_minutes=240, resolution_minutes=2400, calendar=calendar
    )
    strict = SLAPolicy.objects.create(name="Strict", first_response_minutes=60)
    tickets: dict[str, Ticket] = {}

    # Answered after two hours, the customer writes again, solved; tagged.
    t = customer_writes(email, sender="anna", text="La fattura è sbagliata").ticket
    t = elapse(t, timedelta(hours=2))
    ticket_update(ticket=t, actor=alice, assignee=alice)
    message_send_reply(ticket=now_of(t), author=alice, text="Controllo subito.")
    note_add(ticket=now_of(t), author=alice, text="Chiesto all'amministrazione.")
    t = elapse(t, timedelta(hours=3))
    customer_writes(email, sender="anna", text="Grazie, attendo.")
    t = elapse(t, timedelta(hours=1))
    ticket_update(ticket=now_of(t), actor=alice, status=Ticket.Status.SOLVED, tags=["invoice"])
    tickets["solved"] = elapse(t, timedelta(days=3, hours=2))

    # Answered by Bob, solved, reopened by the customer the next day, solved again.
    t = customer_writes(email, sender="bruno", text="Non riesco a pagare").ticket
    t = elapse(t, timedelta(minutes=30))
    ticket_update(ticket=t, actor=bob, assignee=bob)
    message_send_reply(ticket=now_of(t), author=bob, text="Riprovi ora.")
    t = elapse(t, timedelta(hours=1))
    ticket_update(ticket=now_of(t), actor=bob, status=Ticket.Status.SOLVED)
    t = elapse(t, timedelta(days=1))
    assert customer_writes(email, sender="bruno", text="Di nuovo errore").ticket_reopened
    t = elapse(t, timedelta(hours=2))
    message_send_reply(ticket=now_of(t), author=bob, text="Sistemato.")
    ticket_update(ticket=now_of(t), actor=bob, status=Ticket.Status.SOLVED)
    tickets["reopened"] = elapse(t, timedelta(days=1, hours=4))

    # Tech, Carla's, never answered: open.
    t = customer_writes(chat, sender="carlo", text="Il router non va").ticket
    ticket_update(ticket=t, actor=carla, assignee=carla)
    tickets["waiting"] = elapse(t, timedelta(days=1, hours=5))

    # Came in on Tech's chat, answered by Carla, then moved to Billing and given to Alice; waits on the
    # customer.
    t = customer_writes(chat, sender="dora", text="Doppio addebito sul conto").ticket
    t = elapse(t, timedelta(minutes=45))
    message_send_reply(ticket=now_of(t), author=carla, text="Giro a Billing.")
    t = elapse(t, timedelta(minutes=10))
    ticket_update(
        ticket=now_of(t),
        actor=carla,
        team=billing,
        assignee=alice,
        tags=["invoice", "vip"],
        status=Ticket.Status.PENDING,
    )
    tickets["moved"] = elapse(t, timedelta(days=2, hours=1))

    # Under the office-hours policy: answered and solved across a night, counted in business time.
    t = customer_writes(email, sender="elio", text="Richiesta rimborso").ticket
    t = _under(t, office)
    t = elapse(t, timedelta(hours=20))
    ticket_update(ticket=now_of(t), actor=bob, assignee=bob)
    message_send_reply(ticket=now_of(t), author=bob, text="Rimborso avviato.")
    t = elapse(t, timedelta(hours=26))
    ticket_update(ticket=now_of(t), actor=bob, status=Ticket.Status.SOLVED)
    tickets["business"] = elapse(t, timedelta(hours=6))

    # Under the strict policy, first response late: the breach fires, then Alice answers and solves.
    t = customer_writes(email, sender="fabio", text="Urgente!").ticket
    t = due_in(t, strict, -timedelta(minutes=5))
    sla.sla_alarms_fire(ticket_id=t.pk)
    assert now_of(t).sla_breached_at is not None
    ticket_update(ticket=now_of(t), actor=alice, assignee=alice)
    message_send_reply(ticket=now_of(t), author=alice, text="Scusi il ritardo.")
    ticket_update(ticket=now_of(t), actor=alice, status=Ticket.Status.SOLVED)
    tickets["breached"] = elapse(t, timedelta(hours=30))

    # Solved, reopened by its customer at once, and another customer's ticket merged into it.
    kept = customer_writes(email, sender="gina", text="Primo messaggio").ticket
    ticket_update(ticket=kept, actor=bob, status=Ticket.Status.SOLVED)
    assert customer_writes(email, sender="gina", text="Ancora io").ticket.pk == kept.pk
    other = customer_writes(email, sender="ugo", text="Anche io").ticket
    ticket_merge(source=now_of(other), target=now_of(kept), actor=bob)
    tickets["merged"] = elapse(other, timedelta(hours=12))
    tickets["merge_target"] = elapse(kept, timedelta(hours=12, minutes=30))

    # Closed as spam straight away; no team of its own (a channel without one).
    t = customer_writes(loose, sender="spam", text="Offerta!!!").ticket
    ticket_update(ticket=t, actor=None, status=Ticket.Status.CLOSED)
    tickets["spam"] = elapse(t, timedelta(hours=8))

    # Six weeks old and still open: in every backlog of the range, created before it.
    t = customer_writes(email, sender="ivo", text="Vecchia questione").ticket
    tickets["old"] = elapse(t, timedelta(days=42))
    return Desk(billing, tech, alice, bob, carla, email, chat, loose, office, strict, tickets)


def _under(ticket: Ticket, policy: SLAPolicy) -> Ticket:
    from django.db import transaction

    with transaction.atomic():
        locked = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("sla_policy__calendar")
            .get(pk=ticket.pk)
        )
        sla.sla_apply(ticket=locked, policy=policy, at=timezone.now())
        locked.save(update_fields=sla.SLA_FIELDS)
    return now_of(ticket)


def last_days(days: int, **scope: Any) -> ReportFilter:
    """The last ``days`` days to today, in the desk's time zone."""
    zone = desk_time_zone()
    today = timezone.now().astimezone(zone).date()
    return ReportFilter(
        start=day_start(today - timedelta(days=days - 1), zone),
        end=day_start(today + timedelta(days=1), zone),
        **scope,
    )


# --- the figures, computed directly from tickets, messages and audit rows -------------------------------


def in_scope(f: ReportFilter) -> list[Ticket]:
    """The tickets the filter selects, by their team, channel, assignee and tags now."""
    found = []
    for ticket in Ticket.objects.prefetch_related("tags"):
        if f.team_ids is not None and ticket.team_id not in f.team_ids:
            continue
        if f.channel_id is not None and ticket.origin_channel_id != f.channel_id:
            continue
        if f.agent_id is not None and ticket.assignee_id != f.agent_id:
            continue
        if f.tag is not None and f.tag not in {tag.name for tag in ticket.tags.all()}:
            continue
        found.append(ticket)
    return found


def status_history(ticket: Ticket) -> list[tuple[datetime, bool]]:
    """``(moment, open)`` from each audit row that records the ticket's status, in order."""
    history = []
    for event in TicketEvent.objects.filter(ticket=ticket).order_by("seq"):
        # The ticket itself is the payload of these two, and under "ticket" in the other ticket events.
        whole = event.type in {"ticket.created", "ticket.reopened"}
        status = event.payload.get("status") if whole else (event.payload.get("ticket") or {}).get("status")
        if status:
            history.append((event.created_at, status in OPEN))
    return history


def moves(ticket: Ticket) -> list[tuple[str, datetime]]:
    """Each time the ticket left the open statuses ("solved") or came back ("reopened")."""
    found, was_open = [], True
    for moment, is_open in status_history(ticket):
        if is_open != was_open:
            found.append(("reopened" if is_open else "solved", moment))
        was_open = is_open
    return found


def open_at(ticket: Ticket, moment: datetime) -> bool:
    if ticket.created_at >= moment:
        return False
    state = True
    for at, is_open in status_history(ticket):
        if at < moment:
            state = is_open
    return state


def seconds(ticket: Ticket, end: datetime) -> int:
    policy = ticket.sla_policy
    if policy is not None and policy.calendar_id is not None:
        return int(business_between(policy_hours(policy), ticket.created_at, end).total_seconds())
    return int((end - ticket.created_at).total_seconds())


def p(values: list[int], fraction: float) -> int | None:
    """The plain definition: linear interpolation between the nearest ranks (as ``percentile_cont``)."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return round({0.5: statistics.median(values), 0.9: cuts[89]}[fraction])


def replies(f: ReportFilter, tickets: list[Ticket]) -> list[Message]:
    """Agents' replies in the range on these tickets (by the author, when the filter names an agent)."""
    return [
        message
        for message in Message.objects.filter(
            ticket__in=[t.pk for t in tickets_any_assignee(f)],
            direction=Message.Direction.OUTBOUND,
            author__isnull=False,
            is_automatic=False,
            sent_at__gte=f.start,
            sent_at__lt=f.end,
        )
        if (f.agent_id is None or message.author_id == f.agent_id)
        and (f.channel_id is None or message.channel_account_id == f.channel_id)
    ]


def tickets_any_assignee(f: ReportFilter) -> list[Ticket]:
    return in_scope(replace(f, channel_id=None, agent_id=None))


def direct_summary(f: ReportFilter) -> dict[str, Any]:
    tickets = in_scope(f)
    answered = [t for t in tickets if t.first_response_at and f.start <= t.first_response_at < f.end]
    resolved = [
        t
        for t in tickets
        if t.status not in OPEN
        and t.merged_into_id is None
        and t.solved_at
        and f.start <= t.solved_at < f.end
    ]
    all_moves = [move for t in tickets for move in moves(t)]
    under = [t for t in tickets if t.sla_policy_id is not None]
    breached = [t for t in under if t.sla_breached_at and f.start <= t.sla_breached_at < f.end]
    met = [t for t in under if t.sla_breached_at is None and t in resolved]
    first = [seconds(t, t.first_response_at) for t in answered if t.first_response_at]
    resolution = [seconds(t, t.solved_at) for t in resolved if t.solved_at]
    # Messages count under the channel they came in on, whatever channel the ticket was opened on.
    inbound = Message.objects.filter(
        ticket__in=[t.pk for t in in_scope(replace(f, channel_id=None))],
        direction=Message.Direction.INBOUND,
        sent_at__gte=f.start,
        sent_at__lt=f.end,
    )
    if f.channel_id is not None:
        inbound = inbound.filter(channel_account_id=f.channel_id)
    return {
        "created": sum(1 for t in tickets if f.start <= t.created_at < f.end),
        "solved": sum(1 for kind, at in all_moves if kind == "solved" and f.start <= at < f.end),
        "reopened": sum(1 for kind, at in all_moves if kind == "reopened" and f.start <= at < f.end),
        "messages_in": inbound.count(),
        "replies_out": len(replies(f, tickets)),
        "first_response": {
            "count": len(first),
            "median_seconds": p(first, 0.5),
            "p90_seconds": p(first, 0.9),
        },
        "resolution": {
            "count": len(resolution),
            "median_seconds": p(resolution, 0.5),
            "p90_seconds": p(resolution, 0.9),
        },
        "sla": {
            "met": len(met),
            "breached": len(breached),
            "compliance_percent": round(100 * len(met) / (len(met) + len(breached)), 1)
            if met or breached
            else None,
        },
        "csat": None,
        "nps": None,
    }


def direct_volume(f: ReportFilter) -> list[dict[str, Any]]:
    tickets = in_scope(f)
    zone = f.time_zone
    days = []
    for day in f.days():
        start, end = day_start(day, zone), day_start(day + timedelta(days=1), zone)
        day_moves = [kind for t in tickets for kind, at in moves(t) if start <= at < end]
        days.append(
            {
                "date": day.isoformat(),
                "created": sum(1 for t in tickets if start <= t.created_at < end),
                "solved": day_moves.count("solved"),
                "reopened": day_moves.count("reopened"),
                "backlog": sum(1 for t in tickets if open_at(t, end)),
            }
        )
    return days


def direct_heatmap(f: ReportFilter) -> list[list[int]]:
    grid = [[0] * 24 for _day in range(7)]
    for ticket in in_scope(f):
        if f.start <= ticket.created_at < f.end:
            local = ticket.created_at.astimezone(f.time_zone)
            grid[local.weekday()][local.hour] += 1
    return grid


def direct_agents(f: ReportFilter) -> list[dict[str, Any]]:
    tickets = in_scope(f)
    rows: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"assigned": 0, "solved": 0, "replies": 0, "first": [], "resolution": []}
    )
    summary_resolved = {t.pk for t in tickets if t.status not in OPEN and t.merged_into_id is None}
    for ticket in tickets:
        if ticket.assignee_id is None:
            continue
        row = rows[ticket.assignee_id]
        row["assigned"] += int(f.start <= ticket.created_at < f.end)
        row["solved"] += sum(1 for kind, at in moves(ticket) if kind == "solved" and f.start <= at < f.end)
        if ticket.first_response_at and f.start <= ticket.first_response_at < f.end:
            row["first"].append(seconds(ticket, ticket.first_response_at))
        if ticket.pk in summary_resolved and ticket.solved_at and f.start <= ticket.solved_at < f.end:
            row["resolution"].append(seconds(ticket, ticket.solved_at))
    for message in replies(f, tickets):
        assert message.author_id is not None
        rows[message.author_id]["replies"] += 1
    result = []
    for agent_id, row in rows.items():
        if not (row["assigned"] or row["solved"] or row["replies"] or row["first"] or row["resolution"]):
            continue
        user = User.objects.get(pk=agent_id)
        result.append(
            {
                "agent_id": agent_id,
                "name": user.get_full_name() or user.username,
                "assigned": row["assigned"],
                "solved": row["solved"],
                "replies": row["replies"],
                "first_response_median_seconds": p(row["first"], 0.5),
                "resolution_median_seconds": p(row["resolution"], 0.5),
            }
        )
    return sorted(result, key=lambda row: (row["name"].casefold(), row["agent_id"]))


def local_day(moment: datetime) -> date:
    return moment.astimezone(desk_time_zone()).date()
