"""Keeping the reports' roll-ups (tickets/models/reporting.py) current, and rebuilding them.

The audit trail says which tickets changed: every change to a ticket appends a ``TicketEvent`` with the
ticket's next ``seq``. ``rollups_fold`` (the ``reports_rollup`` job, every minute) reads the events
recorded since its last run, and folds in again each ticket whose ``seq`` has moved past the one its
``TicketFact`` was made from: its fact row and its activity rows are recomputed whole from the ticket,
its messages and its audit rows, and the hour buckets it touched, before and after, are summed again
from the activity rows. Recomputing rather than adding deltas makes a run safe to repeat, and a
rebuild (``rollups_rebuild``, ``manage.py reports_rebuild``) is the same work over every ticket.

Event ids are given out when a row is inserted, not when its transaction commits, so a row can become
visible below ids already seen. The watermark therefore trails by ``LATE_COMMIT_SECONDS``: the events
above it are looked at again on every run, and the ``seq`` comparison makes that cheap (a ticket
already folded at that ``seq`` is skipped). One run at a time holds the state row's lease; a run that
finds it taken returns at once, so two workers (or a rebuild) never fold together.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from tickets.business_time import BusinessHours, business_between
from tickets.models import (
    Message,
    ReportHour,
    ReportRollupState,
    SLAPolicy,
    Ticket,
    TicketActivity,
    TicketEvent,
    TicketFact,
)
from tickets.reports.filters import day_start, desk_time_zone
from tickets.reports.lease import STATE_ID
from tickets.reports.lease import lease_release as _lease_release
from tickets.reports.lease import lease_renew as _lease_renew
from tickets.reports.lease import lease_take as _lease_take
from tickets.services.sla import policy_hours

logger = logging.getLogger(__name__)

# How long a transaction may hold an audit row it has not committed and still have it folded in
# by the job rather than by the next rebuild (a run looks again at this much of the trail).
LATE_COMMIT_SECONDS = 300
FOLD_LEASE_SECONDS = 600
REBUILD_LEASE_SECONDS = 900
# A run folds at most this many tickets; the rest wait for the next run (a bulk import, a long outage).
FOLD_LIMIT = 20_000
CHUNK = 500
_HOURS_CHUNK = 500
_COUNTS = ("created", "solved", "reopened", "messages_in", "replies_out")
_OPEN = frozenset(Ticket.OPEN_STATUSES)
_TICKET_FIELDS = (
    "pk",
    "seq",
    "team_id",
    "origin_channel_id",
    "assignee_id",
    "status",
    "priority",
    "created_at",
    "updated_at",
    "first_response_at",
    "solved_at",
    "merged_into_id",
    "sla_policy_id",
    "sla_breached_at",
)


@dataclass(frozen=True)
class RebuildOutcome:
    tickets: int
    hours: int


def rollups_fold(*, limit: int = FOLD_LIMIT) -> int:
    """Fold in the tickets the audit trail says changed since the last run; returns how many.

    Returns 0 without doing anything while another run or a rebuild holds the lease.
    """
    owner = _lease_take(seconds=FOLD_LEASE_SECONDS)
    if owner is None:
        return 0
    try:
        started = timezone.now()
        state = ReportRollupState.objects.get(pk=STATE_ID)
        high = TicketEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        dirty = _tickets_changed(low=state.watermark, high=high)
        for chunk in _chunks(dirty[:limit], CHUNK):
            tickets_fold(chunk)
            _lease_renew(owner, seconds=FOLD_LEASE_SECONDS)
        _checkpoint(state, high=high, at=started, complete=len(dirty) <= limit)
        state.folded_at = timezone.now()
        state.save(update_fields=["watermark", "checkpoints", "folded_at"])
        return min(len(dirty), limit)
    finally:
        _lease_release(owner)


def rollups_rebuild(
    *, since: date | None = None, wait_seconds: float = 60.0, progress: Callable[[str], None] | None = None
) -> RebuildOutcome:
    """Recompute the roll-ups from the tickets, their messages and the audit trail.

    ``since`` (a day in the desk's time zone) limits the work to the tickets created or changed from
    that day on, and to the hour buckets from then on. Waits up to ``wait_seconds`` for a running fold
    to finish; raises ``RuntimeError`` if the lease stays taken.
    """
    owner = _lease_take(seconds=REBUILD_LEASE_SECONDS, wait_seconds=wait_seconds)
    if owner is None:
        raise RuntimeError("the report roll-ups are being folded or rebuilt by another process")
    try:
        high = TicketEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        start = day_start(since, desk_time_zone()) if since is not None else None
        folded = 0
        earlier: set[datetime] = set()
        for chunk in _chunks(_tickets_to_rebuild(start), 1000):
            touched = tickets_fold(chunk, buckets=False)
            if start is not None:
                # A ticket changed since ``start`` may have hours before it (created earlier, moved team).
                earlier.update(hour for hour in touched if hour < start)
            folded += len(chunk)
            _lease_renew(owner, seconds=REBUILD_LEASE_SECONDS)
            if progress is not None and folded % 10_000 < len(chunk):
                progress(f"{folded} tickets folded")
        with transaction.atomic():
            buckets_recompute(earlier)
        hours = _buckets_rebuild(start, owner)
        _statistics_refresh()
        state = ReportRollupState.objects.get(pk=STATE_ID)
        _checkpoint(state, high=high, at=timezone.now(), complete=True)
        state.rebuilt_at = timezone.now()
        state.save(update_fields=["watermark", "checkpoints", "rebuilt_at"])
        return RebuildOutcome(tickets=folded, hours=hours)
    finally:
        _lease_release(owner)


def tickets_fold(ticket_ids: Sequence[int], *, buckets: bool = True) -> set[datetime]:
    """Recompute the fact and activity rows of these tickets, and (``buckets``) the hour buckets their
    activity was and is in; returns those hours. The caller holds the lease."""
    try:
        return _tickets_fold(ticket_ids, buckets=buckets)
    except IntegrityError:
        if transaction.get_connection().in_atomic_block:
            raise
        # A ticket deleted between the reads and the writes: read them again, without it.
        return _tickets_fold(ticket_ids, buckets=buckets)


def _tickets_fold(ticket_ids: Sequence[int], *, buckets: bool) -> set[datetime]:
    # The ticket rows first: every audit row up to the ``seq`` read here is already visible to the
    # reads that follow, so the fact is complete up to that ``seq``.
    tickets = list(Ticket.objects.filter(pk__in=ticket_ids).values(*_TICKET_FIELDS))
    ids = [row["pk"] for row in tickets]
    tags = _tags_of(ids)
    transitions = _status_events_of(ids)
    messages = _message_counts_of(ids)
    hours_of = _policy_hours({row["sla_policy_id"] for row in tickets if row["sla_policy_id"]})
    facts: list[TicketFact] = []
    activity: list[TicketActivity] = []
    for row in tickets:
        fact, rows = _ticket_rows(
            row,
            tags=tags.get(row["pk"], []),
            events=transitions.get(row["pk"], []),
            messages=messages.get(row["pk"], []),
            hours=hours_of.get(row["sla_policy_id"]),
        )
        facts.append(fact)
        activity.extend(rows)
    with transaction.atomic():
        old_hours = set(
            TicketActivity.objects.filter(ticket_id__in=ticket_ids).values_list("hour", flat=True).distinct()
        )
        TicketActivity.objects.filter(ticket_id__in=ticket_ids).delete()
        TicketFact.objects.filter(ticket_id__in=ticket_ids).delete()
        TicketFact.objects.bulk_create(facts)
        TicketActivity.objects.bulk_create(activity)
        hours = old_hours | {row.hour for row in activity}
        if buckets:
            buckets_recompute(hours)
    return hours


def buckets_recompute(hours: Iterable[datetime]) -> None:
    """Sum the ``ReportHour`` buckets of these hours again from the activity rows (in the caller's
    transaction)."""
    for chunk in _chunks(sorted(set(hours)), _HOURS_CHUNK):
        ReportHour.objects.filter(hour__in=chunk).delete()
        _buckets_insert(TicketActivity.objects.filter(hour__in=chunk))


def _buckets_rebuild(start: datetime | None, owner: str) -> int:
    """Every bucket from ``start`` (or the first) on, summed again a month of hours at a time."""
    bounds = [
        TicketActivity.objects.aggregate(first=Min("hour"), last=Max("hour")),
        ReportHour.objects.aggregate(first=Min("hour"), last=Max("hour")),
    ]
    firsts = [bound["first"] for bound in bounds if bound["first"] is not None]
    lasts = [bound["last"] for bound in bounds if bound["last"] is not None]
    if not firsts:
        return 0
    cursor = max(start, min(firsts)) if start is not None else min(firsts)
    last = max(lasts)
    written = 0
    while cursor <= last:
        upto = cursor + timedelta(days=31)
        with transaction.atomic():
            ReportHour.objects.filter(hour__gte=cursor, hour__lt=upto).delete()
            written += _buckets_insert(TicketActivity.objects.filter(hour__gte=cursor, hour__lt=upto))
        _lease_renew(owner, seconds=REBUILD_LEASE_SECONDS)
        cursor = upto
    return written


def _buckets_insert(activity: QuerySet[TicketActivity]) -> int:
    """Insert the sums of these activity rows as buckets, in the database: one statement, no rows
    through Python (a fold that touches a thousand hours writes tens of thousands of buckets)."""
    keys = ("hour", "team_id", "channel_id", "agent_id")
    sums = activity.values(*keys).annotate(**{f"sum_{name}": Sum(name) for name in _COUNTS}).order_by()
    select, params = sums.query.get_compiler(using=sums.db).as_sql()
    table = connections[sums.db].ops.quote_name(ReportHour._meta.db_table)
    columns = ", ".join(connections[sums.db].ops.quote_name(name) for name in (*keys, *_COUNTS))
    with connections[sums.db].cursor() as cursor:
        # The names come from the model, the values travel as parameters.
        cursor.execute(f"INSERT INTO {table} ({columns}) {select}", params)
        return max(cursor.rowcount, 0)


def _statistics_refresh() -> None:
    """Let PostgreSQL's planner see the rebuilt tables as they are now, rather than as autovacuum last
    sampled them (empty, after a first rebuild): a plan made for a few rows reads a year of them badly."""
    connection = connections[ReportHour.objects.db]
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(
        connection.ops.quote_name(model._meta.db_table) for model in (TicketFact, TicketActivity, ReportHour)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


def _ticket_rows(
    ticket: dict[str, Any],
    *,
    tags: list[str],
    events: list[tuple[int, datetime, str | None]],
    messages: list[tuple[datetime, str, int | None, int | None, int]],
    hours: BusinessHours | None,
) -> tuple[TicketFact, list[TicketActivity]]:
    """One ticket's fact row and activity rows."""
    created_at: datetime = ticket["created_at"]
    closed = ticket["status"] not in _OPEN
    moves = status_moves(ticket, events)
    solved_at = None
    if closed:
        solved_at = ticket["solved_at"] or next(
            (at for kind, at in reversed(moves) if kind == "solved"), None
        )
    first_response_at = ticket["first_response_at"]
    fact = TicketFact(
        ticket_id=ticket["pk"],
        seq=ticket["seq"],
        team_id=ticket["team_id"],
        channel_id=ticket["origin_channel_id"],
        assignee_id=ticket["assignee_id"],
        status=ticket["status"],
        priority=ticket["priority"],
        created_at=created_at,
        first_response_at=first_response_at,
        first_response_seconds=_seconds(hours, created_at, first_response_at),
        solved_at=solved_at,
        resolution_seconds=None if ticket["merged_into_id"] else _seconds(hours, created_at, solved_at),
        reopened_count=sum(1 for kind, _at in moves if kind == "reopened"),
        business_time=hours is not None,
        sla_policy_id=ticket["sla_policy_id"],
        sla_breached_at=ticket["sla_breached_at"],
        tag_names=",".join(sorted(tags)),
    )
    cells: dict[tuple[datetime, int | None, int | None], list[int]] = defaultdict(lambda: [0] * len(_COUNTS))
    channel, assignee = ticket["origin_channel_id"], ticket["assignee_id"]
    cells[(hour_of(created_at), channel, assignee)][0] += 1
    for kind, at in moves:
        cells[(hour_of(at), channel, assignee)][1 if kind == "solved" else 2] += 1
    for hour, direction, message_channel, author, count in messages:
        if direction == Message.Direction.INBOUND:
            cells[(hour, message_channel, assignee)][3] += count
        else:
            cells[(hour, message_channel, author)][4] += count
    activity = [
        TicketActivity(
            ticket_id=ticket["pk"],
            hour=hour,
            team_id=ticket["team_id"],
            channel_id=cell_channel,
            agent_id=agent,
            **dict(zip(_COUNTS, counts, strict=True)),
        )
        for (hour, cell_channel, agent), counts in cells.items()
    ]
    return fact, activity


def status_moves(
    ticket: dict[str, Any], events: list[tuple[int, datetime, str | None]]
) -> list[tuple[str, datetime]]:
    """When the ticket left the open statuses ("solved": solved, closed or merged) and came back
    ("reopened"), from the status each audit row recorded, in ``seq`` order.

    A ticket is open when created. Rows past the ticket's ``seq`` (committed after it was read) wait
    for the next fold. Should the trail end elsewhere than the ticket's status (a change that wrote no
    audit row), a last move brings it there, so the backlog always ends at the tickets open now.
    """
    created_at: datetime = ticket["created_at"]
    is_open = True
    moves: list[tuple[str, datetime]] = []
    for seq, at, status in events:
        if seq > ticket["seq"] or not status:
            continue
        now_open = status in _OPEN
        if is_open != now_open:
            moves.append(("reopened" if now_open else "solved", max(at, created_at)))
        is_open = now_open
    if is_open != (ticket["status"] in _OPEN):
        at = (
            ticket["updated_at"] if ticket["status"] in _OPEN else ticket["solved_at"] or ticket["updated_at"]
        )
        moves.append(("solved" if is_open else "reopened", max(at, created_at)))
    return moves


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _seconds(hours: BusinessHours | None, start: datetime, end: datetime | None) -> int | None:
    """Whole seconds from ``start`` to ``end``: business time in ``hours``, else wall-clock time."""
    if end is None:
        return None
    if end <= start:
        return 0
    span = business_between(hours, start, end) if hours is not None else end - start
    return int(span.total_seconds())


def _tags_of(ticket_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    through = Ticket.tags.through.objects.filter(ticket_id__in=ticket_ids)
    for ticket_id, name in through.values_list("ticket_id", "tag__name"):
        found[ticket_id].append(name)
    return found


def _status_events_of(ticket_ids: list[int]) -> dict[int, list[tuple[int, datetime, str | None]]]:
    """``(seq, at, status)`` of the ticket audit rows that record the ticket's state, per ticket.

    ``ticket.created`` and ``ticket.reopened`` carry the ticket itself; the other ``ticket.*`` rows carry
    it under ``ticket`` (tickets/event_schema.py). Only the status is read from them.
    """
    rows = (
        TicketEvent.objects.filter(ticket_id__in=ticket_ids, type__startswith="ticket.")
        .annotate(status=Coalesce(KT("payload__ticket__status"), KT("payload__status")))
        .order_by("ticket_id", "seq")
        .values_list("ticket_id", "seq", "created_at", "status")
    )
    found: dict[int, list[tuple[int, datetime, str | None]]] = defaultdict(list)
    for ticket_id, seq, at, status in rows:
        found[ticket_id].append((seq, at, status))
    return found


def _message_counts_of(
    ticket_ids: list[int],
) -> dict[int, list[tuple[datetime, str, int | None, int | None, int]]]:
    """Per ticket, ``(hour, direction, channel, author, count)`` of customer messages and agents' replies
    (outbound, written by an agent: automatic acknowledgments are not replies)."""
    rows = (
        Message.objects.filter(ticket_id__in=ticket_ids)
        .filter(
            Q(direction=Message.Direction.INBOUND)
            | Q(direction=Message.Direction.OUTBOUND, author__isnull=False, is_automatic=False)
        )
        .annotate(hour=TruncHour("sent_at", tzinfo=UTC))
        .values("ticket_id", "hour", "direction", "channel_account_id", "author_id")
        .annotate(count=Count("id"))
        .order_by()
    )
    found: dict[int, list[tuple[datetime, str, int | None, int | None, int]]] = defaultdict(list)
    for row in rows:
        found[row["ticket_id"]].append(
            (row["hour"], row["direction"], row["channel_account_id"], row["author_id"], row["count"])
        )
    return found


def _policy_hours(policy_ids: set[int]) -> dict[int, BusinessHours]:
    """The business hours of the policies that have a calendar; the others count wall-clock time."""
    policies = SLAPolicy.objects.filter(pk__in=policy_ids, calendar__isnull=False).select_related("calendar")
    return {policy.pk: policy_hours(policy) for policy in policies}


def _tickets_changed(*, low: int, high: int) -> list[int]:
    """Tickets with an audit row in ``(low, high]`` whose fact was made from an earlier ``seq``."""
    latest = (
        TicketEvent.objects.filter(id__gt=low, id__lte=high)
        .values("ticket_id")
        .annotate(last=Max("seq"))
        .order_by("ticket_id")
        .values_list("ticket_id", "last")
    )
    changed: list[int] = []
    for chunk in _chunks(list(latest.iterator(chunk_size=5000)), 2000):
        folded = dict(
            TicketFact.objects.filter(ticket_id__in=[ticket_id for ticket_id, _seq in chunk]).values_list(
                "ticket_id", "seq"
            )
        )
        changed.extend(ticket_id for ticket_id, seq in chunk if folded.get(ticket_id, -1) < seq)
    return changed


def _tickets_to_rebuild(start: datetime | None) -> Iterator[int]:
    """Every ticket, or those created or with an audit row from ``start`` on, by id."""
    tickets = Ticket.objects.order_by("pk")
    if start is None:
        yield from tickets.values_list("pk", flat=True).iterator(chunk_size=5000)
        return
    touched = set(
        TicketEvent.objects.filter(created_at__gte=start).values_list("ticket_id", flat=True).distinct()
    )
    touched.update(tickets.filter(created_at__gte=start).values_list("pk", flat=True))
    yield from sorted(touched)


def _checkpoint(state: ReportRollupState, *, high: int, at: datetime, complete: bool) -> None:
    """Note that every audit row up to ``high`` visible at ``at`` is folded in (when ``complete``), and
    move the watermark up to the notes old enough that nothing below them can still commit."""
    points = [list(point) for point in state.checkpoints or []]
    if complete:
        points.append([at.timestamp(), high])
    settled_before = timezone.now().timestamp() - LATE_COMMIT_SECONDS
    settled = [point[1] for point in points if point[0] <= settled_before]
    if settled:
        state.watermark = max(state.watermark, *settled)
    state.checkpoints = [point for point in points if point[0] > settled_before][-100:]


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
