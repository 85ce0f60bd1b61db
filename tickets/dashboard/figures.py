"""The queue and activity figures of the supervisor's dashboard, counted per team and per channel.

Reads only. Each figure comes from a GROUP BY over rows an index finds: open tickets (their partial
indexes), today's messages (``message_delivery_state``), today's solved tickets (``ticket_status_updated``).
One pass gives every team's and every channel's numbers and the total; they are added up here, so the
three always agree.

A ticket counts under its team and the channel it began on (``origin_channel``); a message under its
ticket's team and the channel it came in on or went out to.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from tickets.models import Message, Ticket
from tickets.selectors import BREACHING_SOON

OPEN: list[str] = list(Ticket.OPEN_STATUSES)
# "Open" on the dashboard: the tickets that wait on the desk, as opposed to pending and on hold.
ACTIVE: list[str] = [Ticket.Status.NEW, Ticket.Status.OPEN]
CLOSED: list[str] = [Ticket.Status.SOLVED, Ticket.Status.CLOSED]
# Every status a message can have. Naming them all lets PostgreSQL read ``message_delivery_state``
# (status, status_changed_at) for a range of the second column; before version 18 it cannot skip the first.
MESSAGE_STATUSES: list[str] = list(Message.Status.values)


def scope_q(team_ids: list[int] | None, *, prefix: str = "") -> Q:
    """Tickets of the supervised teams (``None``: every ticket, with a team or not)."""
    return Q() if team_ids is None else Q(**{f"{prefix}team_id__in": team_ids})


def sla_breached_q() -> Q:
    """Open tickets that have missed a target (``sla_breached_at`` is set by the first breach)."""
    return Q(status__in=OPEN, sla_breached_at__isnull=False)


def sla_at_risk_q(*, now: datetime) -> Q:
    """Open tickets not breached yet whose running clock is due within ``BREACHING_SOON`` (or already
    past, the breach not yet recorded), or whose warning has fired.

    "Warning fired" is read from the columns rather than the clocks' JSON: the next alarm
    (``sla_alarm_at``) is no earlier than the due time once the clock due first has had its warning,
    and earlier while that warning is still to come (``tickets.sla_clock``: a warning falls due before
    its breach). Every open ticket is tested, so a per-row JSON read would be the costliest part of the
    dashboard.
    """
    return Q(status__in=OPEN, sla_due_at__isnull=False) & _at_risk_if_open(now=now)


def _at_risk_if_open(*, now: datetime) -> Q:
    # What ``sla_at_risk_q`` asks of a ticket already known to be open, as few tests as each row needs
    # (a comparison with a null due time is not true).
    return Q(sla_breached_at__isnull=True) & (
        Q(sla_due_at__lte=now + BREACHING_SOON) | Q(sla_alarm_at__gte=F("sla_due_at"))
    )


@dataclass
class Figures:
    """One row of the dashboard: a team, a channel or the total."""

    waiting: int = 0
    oldest_waiting_since: datetime | None = None
    open: int = 0
    pending: int = 0
    on_hold: int = 0
    at_risk: int = 0
    breached: int = 0
    first_responses: int = 0
    first_response_seconds: float = 0.0
    messages_in: int = 0
    replies_out: int = 0
    solved_today: int = 0

    def add(self, **values: Any) -> None:
        for name, value in values.items():
            if name == "oldest_waiting_since":
                if value is not None and (
                    self.oldest_waiting_since is None or value < self.oldest_waiting_since
                ):
                    self.oldest_waiting_since = value
            else:
                setattr(self, name, getattr(self, name) + value)

    @property
    def first_response_average_seconds(self) -> float | None:
        return self.first_response_seconds / self.first_responses if self.first_responses else None

    def is_empty(self) -> bool:
        return all(not getattr(self, item.name) for item in fields(self))


Key = int | None


@dataclass
class Breakdown:
    """The same figures by team, by channel, and in total."""

    total: Figures = field(default_factory=Figures)
    teams: dict[Key, Figures] = field(default_factory=dict)
    channels: dict[Key, Figures] = field(default_factory=dict)

    def add(self, *, team_id: Key, channel_id: Key, **values: Any) -> None:
        for figures in (
            self.total,
            self.teams.setdefault(team_id, Figures()),
            self.channels.setdefault(channel_id, Figures()),
        ):
            figures.add(**values)


@dataclass(frozen=True)
class QueueGroup:
    """Open tickets of one team, channel and assignee: what the agents panel reads too."""

    team_id: Key
    channel_id: Key
    assignee_id: Key
    total: int


@dataclass(frozen=True)
class OpenTickets:
    groups: list[QueueGroup]
    # When a ticket next enters the last hour before its due time by time alone (no event says so):
    # the page fetches its figures again then.
    next_due_change: datetime | None


def open_tickets_count(breakdown: Breakdown, *, team_ids: list[int] | None, now: datetime) -> OpenTickets:
    """Add the open tickets' figures to ``breakdown``; return their counts by assignee. One query."""
    # Grouped by status too rather than counted with a filter per status: one pass, fewer expressions
    # per row, over every open ticket (no index holds the channel).
    rows = (
        Ticket.objects.filter(scope_q(team_ids), status__in=OPEN)
        .values("team_id", "origin_channel_id", "assignee_id", "status")
        .annotate(
            total=Count("pk"),
            oldest=Min(Coalesce("awaiting_agent_since", "created_at")),
            at_risk=Count("pk", filter=_at_risk_if_open(now=now)),
            breached=Count("sla_breached_at"),
            next_due=Min("sla_due_at", filter=Q(sla_due_at__gt=now + BREACHING_SOON)),
        )
        .order_by()
    )
    groups: dict[tuple[Key, Key, Key], int] = {}
    next_due: datetime | None = None
    for row in rows:
        if row["next_due"] is not None and (next_due is None or row["next_due"] < next_due):
            next_due = row["next_due"]
        unassigned, status = row["assignee_id"] is None, row["status"]
        breakdown.add(
            team_id=row["team_id"],
            channel_id=row["origin_channel_id"],
            waiting=row["total"] if unassigned else 0,
            oldest_waiting_since=row["oldest"] if unassigned else None,
            open=row["total"] if status in ACTIVE else 0,
            pending=row["total"] if status == Ticket.Status.PENDING else 0,
            on_hold=row["total"] if status == Ticket.Status.ON_HOLD else 0,
            at_risk=row["at_risk"],
            breached=row["breached"],
        )
        key = (row["team_id"], row["origin_channel_id"], row["assignee_id"])
        groups[key] = groups.get(key, 0) + row["total"]
    return OpenTickets(
        [QueueGroup(*key, total) for key, total in groups.items()],
        next_due - BREACHING_SOON if next_due is not None else None,
    )


def messages_between(*, team_ids: list[int] | None, start: datetime, end: datetime) -> QuerySet[Message]:
    """Customer messages and replies filed in ``[start, end)``, automatic ones left out.

    A message's ``status_changed_at`` is never before its ``created_at`` (it starts equal and only moves
    on), so the index range from ``start`` holds every message created since.
    """
    return Message.objects.filter(
        scope_q(team_ids, prefix="ticket__"),
        Q(direction=Message.Direction.INBOUND)
        | Q(direction=Message.Direction.OUTBOUND, author__isnull=False),
        status__in=MESSAGE_STATUSES,
        status_changed_at__gte=start,
        created_at__gte=start,
        created_at__lt=end,
        is_automatic=False,
    )


@dataclass(frozen=True)
class ReplyGroup:
    """Today's replies of one agent: how many, and the latest."""

    author_id: int
    count: int
    last_at: datetime


def messages_count(
    breakdown: Breakdown, *, team_ids: list[int] | None, start: datetime, end: datetime
) -> list[ReplyGroup]:
    """Add messages in and replies out to ``breakdown``; return the replies by agent. One query."""
    rows = (
        messages_between(team_ids=team_ids, start=start, end=end)
        .values("ticket__team_id", "channel_account_id", "direction", "author_id")
        .annotate(count=Count("pk"), last=Max("created_at"))
        .order_by()
    )
    replies: dict[int, ReplyGroup] = {}
    for row in rows:
        inbound = row["direction"] == Message.Direction.INBOUND
        breakdown.add(
            team_id=row["ticket__team_id"],
            channel_id=row["channel_account_id"],
            messages_in=row["count"] if inbound else 0,
            replies_out=0 if inbound else row["count"],
        )
        if not inbound:
            author = row["author_id"]
            known = replies.get(author)
            replies[author] = ReplyGroup(
                author,
                row["count"] + (known.count if known else 0),
                max(row["last"], known.last_at) if known else row["last"],
            )
    return list(replies.values())


def first_responses_count(
    breakdown: Breakdown, *, team_ids: list[int] | None, start: datetime, end: datetime
) -> None:
    """Add today's first responses (how many, and their time from creation) to ``breakdown``. One query.

    A first response is a reply, so the tickets are found from today's replies rather than by a scan of
    ``first_response_at``, which has no index.
    """
    replied = messages_between(team_ids=team_ids, start=start, end=end).filter(
        direction=Message.Direction.OUTBOUND
    )
    taken = ExpressionWrapper(F("first_response_at") - F("created_at"), output_field=DurationField())
    rows = (
        Ticket.objects.filter(
            scope_q(team_ids),
            pk__in=replied.values("ticket_id"),
            first_response_at__gte=start,
            first_response_at__lt=end,
        )
        .values("team_id", "origin_channel_id")
        .annotate(count=Count("pk"), taken=Sum(taken))
        .order_by()
    )
    for row in rows:
        breakdown.add(
            team_id=row["team_id"],
            channel_id=row["origin_channel_id"],
            first_responses=row["count"],
            first_response_seconds=row["taken"].total_seconds() if row["taken"] is not None else 0.0,
        )


def solved_between(*, team_ids: list[int] | None, start: datetime, end: datetime) -> Q:
    """Tickets solved (or closed) in ``[start, end)`` and still so, merged ones left out.

    ``updated_at`` is set with ``solved_at`` and never before it, so ``ticket_status_updated``
    (status, updated_at) finds them without reading the closed history.
    """
    return scope_q(team_ids) & Q(
        status__in=CLOSED,
        updated_at__gte=start,
        solved_at__gte=start,
        solved_at__lt=end,
        merged_into__isnull=True,
    )


def solved_count(
    breakdown: Breakdown, *, team_ids: list[int] | None, start: datetime, end: datetime
) -> dict[int, int]:
    """Add the tickets solved today to ``breakdown``; return them by assignee. One query."""
    rows = (
        Ticket.objects.filter(solved_between(team_ids=team_ids, start=start, end=end))
        .values("team_id", "origin_channel_id", "assignee_id")
        .annotate(count=Count("pk"))
        .order_by()
    )
    by_agent: dict[int, int] = {}
    for row in rows:
        breakdown.add(team_id=row["team_id"], channel_id=row["origin_channel_id"], solved_today=row["count"])
        if row["assignee_id"] is not None:
            by_agent[row["assignee_id"]] = by_agent.get(row["assignee_id"], 0) + row["count"]
    return by_agent
