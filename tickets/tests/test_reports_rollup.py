"""The reports' roll-ups: folded in from the audit trail by the job, equal to what the tickets, messages
and audit rows say, the same after a rebuild, and safe to run twice, concurrently and across commits
that land out of order."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from celery import current_app
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from tickets import tasks
from tickets.models import (
    Message,
    ReportHour,
    ReportRollupState,
    Team,
    Ticket,
    TicketActivity,
    TicketEvent,
    TicketFact,
)
from tickets.reports import rollup
from tickets.reports.rollup import rollups_fold, rollups_rebuild
from tickets.services.tickets import ticket_update
from tickets.tests.api_support import new_ticket
from tickets.tests.reports_support import Desk, desk_story, local_day, moves, now_of, seconds

pytestmark = pytest.mark.django_db

_COUNTS = ("created", "solved", "reopened", "messages_in", "replies_out")


@pytest.fixture
def desk(billing: Team, tech: Team, alice: User, bob: User, carla: User) -> Desk:
    return desk_story(billing=billing, tech=tech, alice=alice, bob=bob, carla=carla)


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def direct_buckets() -> dict[tuple[Any, ...], int]:
    """Every count of every (hour, team, channel, agent), from the tickets, messages and audit rows."""
    cells: Counter[tuple[Any, ...]] = Counter()
    for ticket in Ticket.objects.all():
        where = (ticket.team_id, ticket.origin_channel_id, ticket.assignee_id)
        cells[(hour_of(ticket.created_at), *where, "created")] += 1
        for kind, at in moves(ticket):
            cells[(hour_of(at), *where, kind)] += 1
    for message in Message.objects.select_related("ticket"):
        ticket = message.ticket
        if message.direction == Message.Direction.INBOUND:
            cells[
                (
                    hour_of(message.sent_at),
                    ticket.team_id,
                    message.channel_account_id,
                    ticket.assignee_id,
                    "messages_in",
                )
            ] += 1
        elif (
            message.direction == Message.Direction.OUTBOUND and message.author_id and not message.is_automatic
        ):
            cells[
                (
                    hour_of(message.sent_at),
                    ticket.team_id,
                    message.channel_account_id,
                    message.author_id,
                    "replies_out",
                )
            ] += 1
    return dict(cells)


def stored_buckets() -> dict[tuple[Any, ...], int]:
    cells: dict[tuple[Any, ...], int] = {}
    for row in ReportHour.objects.all():
        for name in _COUNTS:
            if getattr(row, name):
                key = (row.hour, row.team_id, row.channel_id, row.agent_id, name)
                assert key not in cells, f"two buckets for {key}"
                cells[key] = getattr(row, name)
    return cells


def snapshot() -> tuple[list[tuple[Any, ...]], ...]:
    facts = sorted(
        tuple(row.values())
        for row in TicketFact.objects.values(
            "ticket_id",
            "seq",
            "team_id",
            "channel_id",
            "assignee_id",
            "status",
            "first_response_seconds",
            "solved_at",
            "resolution_seconds",
            "reopened_count",
            "sla_breached_at",
            "tag_names",
        )
    )
    activity = sorted(
        tuple(row.values())
        for row in TicketActivity.objects.values(
            "ticket_id", "hour", "team_id", "channel_id", "agent_id", *_COUNTS
        )
    )
    return facts, activity, sorted(stored_buckets().items())


def test_the_hour_buckets_equal_the_counts_made_from_tickets_messages_and_audit_rows(desk: Desk) -> None:
    assert rollups_fold() == Ticket.objects.count()

    expected = direct_buckets()
    assert stored_buckets() == expected
    # The story is all there: tickets in three channels, replies by the author, a reopen and a move.
    assert sum(n for key, n in expected.items() if key[-1] == "reopened") == 2
    moved = desk.tickets["moved"]
    assert expected[(hour_of(moved.created_at), desk.billing.pk, desk.chat.pk, desk.alice.pk, "created")] == 1
    carla_replies = [key for key in expected if key[-1] == "replies_out" and key[3] == desk.carla.pk]
    assert [key[1] for key in carla_replies] == [desk.billing.pk]  # the ticket's team now


def test_each_fact_says_what_its_ticket_and_the_audit_trail_say(desk: Desk) -> None:
    rollups_fold()

    for ticket in Ticket.objects.select_related("sla_policy__calendar").prefetch_related("tags"):
        fact = TicketFact.objects.get(ticket=ticket)
        assert fact.seq == ticket.seq
        assert (fact.team_id, fact.channel_id, fact.assignee_id) == (
            ticket.team_id,
            ticket.origin_channel_id,
            ticket.assignee_id,
        )
        assert fact.first_response_seconds == (
            seconds(ticket, ticket.first_response_at) if ticket.first_response_at else None
        )
        resolved = ticket.status not in Ticket.OPEN_STATUSES and ticket.merged_into_id is None
        assert fact.resolution_seconds == (
            seconds(ticket, ticket.solved_at) if resolved and ticket.solved_at else None
        )
        assert fact.reopened_count == [kind for kind, _at in moves(ticket)].count("reopened")
        assert fact.tag_names == ",".join(sorted(tag.name for tag in ticket.tags.all()))
        assert fact.sla_breached_at == ticket.sla_breached_at
    business = TicketFact.objects.get(ticket=desk.tickets["business"])
    assert business.business_time
    # Twenty hours of wall-clock time hold at most a working day of nine hours.
    assert business.first_response_seconds is not None and business.first_response_seconds <= 9 * 3600
    assert TicketFact.objects.get(ticket=desk.tickets["merged"]).resolution_seconds is None
    assert TicketFact.objects.get(ticket=desk.tickets["reopened"]).reopened_count == 1


def test_a_rebuild_makes_what_the_job_made_and_the_job_then_has_nothing_to_do(desk: Desk) -> None:
    rollups_fold()
    folded = snapshot()

    ReportHour.objects.all().delete()
    TicketFact.objects.filter(ticket=desk.tickets["solved"]).delete()
    outcome = rollups_rebuild()

    assert snapshot() == folded
    assert outcome.tickets == Ticket.objects.count()
    assert rollups_fold() == 0
    assert snapshot() == folded


def test_a_change_refolds_only_its_ticket_and_moves_it_between_teams(desk: Desk) -> None:
    rollups_fold()
    waiting = desk.tickets["waiting"]
    created_key = (hour_of(waiting.created_at), desk.tech.pk, desk.chat.pk, desk.carla.pk, "created")
    assert stored_buckets()[created_key] == 1

    ticket_update(ticket=now_of(waiting), actor=desk.carla, team=desk.billing, assignee=desk.bob)

    assert rollups_fold() == 1
    buckets = stored_buckets()
    assert created_key not in buckets
    assert buckets[(hour_of(waiting.created_at), desk.billing.pk, desk.chat.pk, desk.bob.pk, "created")] == 1
    assert buckets == direct_buckets()
    assert rollups_fold() == 0


def test_a_fold_waits_for_no_one_while_another_holds_the_lease(desk: Desk) -> None:
    holder = rollup._lease_take(seconds=60)
    assert holder is not None

    assert rollups_fold() == 0
    assert not TicketFact.objects.exists()
    with pytest.raises(RuntimeError):
        rollups_rebuild(wait_seconds=0)
    with pytest.raises(CommandError, match="another process"):
        call_command("reports_rebuild", "--wait", "0")

    rollup._lease_release(holder)
    assert rollups_fold() == Ticket.objects.count()


def test_an_expired_lease_is_taken_over(desk: Desk) -> None:
    ReportRollupState.objects.update_or_create(
        pk=rollup.STATE_ID,
        defaults={"lease_owner": "gone", "lease_until": timezone.now() - timedelta(seconds=1)},
    )
    assert rollups_fold() == Ticket.objects.count()
    assert ReportRollupState.objects.get().lease_owner == ""


def test_the_watermark_trails_until_late_commits_can_no_longer_land_below_it(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    rollups_fold()
    state = ReportRollupState.objects.get()
    assert state.watermark == 0 and len(state.checkpoints) == 1

    monkeypatch.setattr(rollup, "LATE_COMMIT_SECONDS", 0)
    rollups_fold()

    state = ReportRollupState.objects.get()
    assert state.watermark == TicketEvent.objects.order_by("-id").values_list("id", flat=True).first()
    assert state.checkpoints == []


@pytest.mark.django_db(transaction=True)
def test_an_audit_row_committed_below_ids_already_folded_is_folded_in_by_the_next_run(
    api_channel: Any, alice: User
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers and their commit order are PostgreSQL's")
    slow, quick = new_ticket(api_channel), new_ticket(api_channel)
    rollups_fold()
    written, go = threading.Event(), threading.Event()

    def slow_change() -> None:
        try:
            with transaction.atomic():
                ticket_update(ticket=slow, actor=alice, priority=Ticket.Priority.URGENT)
                written.set()
                go.wait(10)
        finally:
            connection.close()

    worker = threading.Thread(target=slow_change)
    worker.start()
    assert written.wait(10)
    # A later id, committed first: the run sees it and notes the highest id seen.
    ticket_update(ticket=quick, actor=alice, priority=Ticket.Priority.HIGH)
    assert rollups_fold() == 1
    go.set()
    worker.join(10)

    assert rollups_fold() == 1
    assert TicketFact.objects.get(ticket=slow).priority == Ticket.Priority.URGENT
    assert TicketFact.objects.get(ticket=quick).priority == Ticket.Priority.HIGH


def test_the_command_rebuilds_from_a_day_and_refuses_a_bad_one(desk: Desk) -> None:
    rollups_fold()
    folded = snapshot()
    since = local_day(timezone.now()) - timedelta(days=2)
    ReportHour.objects.filter(hour__gte=datetime.combine(since, datetime.min.time(), tzinfo=UTC)).delete()

    call_command("reports_rebuild", "--since", since.isoformat())

    assert snapshot() == folded
    with pytest.raises(CommandError, match="since"):
        call_command("reports_rebuild", "--since", "2026/01/01")


def test_the_job_runs_from_the_beat_every_minute(desk: Desk) -> None:
    entries = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert entries["tickets.tasks.reports_rollup"] == 60.0
    beat = {entry["task"] for entry in current_app.conf.beat_schedule.values()}
    assert "tickets.tasks.reports_rollup" in beat

    tasks.reports_rollup.delay()

    assert TicketFact.objects.count() == Ticket.objects.count()


def test_a_deleted_ticket_leaves_the_buckets_at_the_next_rebuild(desk: Desk) -> None:
    rollups_fold()
    spam = desk.tickets["spam"]
    Message.objects.filter(ticket=spam).delete()
    Ticket.objects.filter(pk=spam.pk).delete()

    rollups_rebuild()

    assert stored_buckets() == direct_buckets()
    assert not ReportHour.objects.filter(team_id=None, channel_id=desk.loose.pk).exists()
