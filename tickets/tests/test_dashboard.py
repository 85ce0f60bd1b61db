"""The dashboard's selectors: each figure equals a direct count, in a fixed number of queries, and a
supervisor limited to a team counts only that team's tickets and agents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from tests.fixtures.browser import customer_writes
from tests.fixtures.personas import make_agent, make_api_channel
from tickets.dashboard import dashboard_snapshot, snapshot_data
from tickets.dashboard.figures import OPEN, Figures
from tickets.dashboard.intraday import BUCKETS, bucket_of, day_bounds
from tickets.dashboard.snapshot import Snapshot
from tickets.models import Message, Team, Ticket
from tickets.services.capacity import agent_loads
from tickets.services.messages import message_send_reply
from tickets.services.tickets import ticket_update
from tickets.tests.dashboard_support import Desk, limited_supervisor, messages_today, two_team_desk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    # A week-old day's chart series is cached (tickets/dashboard/intraday.py); each test reads its own.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def desk(billing: Team, tech: Team, alice: User, bob: User, carla: User) -> Desk:
    return two_team_desk(billing=billing, tech=tech, alice=alice, bob=bob, carla=carla)


def team_row(snapshot: Snapshot, team: Team) -> Figures:
    return next(row.figures for row in snapshot.teams if row.id == team.pk)


def direct(team: Team) -> dict[str, int]:
    """The figures of ``team`` counted straight from the tables, one question each."""
    tickets = Ticket.objects.filter(team=team)
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "waiting": tickets.filter(assignee__isnull=True, status__in=OPEN).count(),
        "open": tickets.filter(status__in=["new", "open"]).count(),
        "pending": tickets.filter(status="pending").count(),
        "on_hold": tickets.filter(status="on_hold").count(),
        "breached": tickets.filter(status__in=OPEN, sla_breached_at__isnull=False).count(),
        "first_responses": tickets.filter(first_response_at__gte=start).count(),
        "messages_in": messages_today(ticket__team=team, direction=Message.Direction.INBOUND),
        "replies_out": messages_today(ticket__team=team, direction=Message.Direction.OUTBOUND),
        "solved_today": tickets.filter(status__in=["solved", "closed"], solved_at__gte=start).count(),
    }


def test_every_figure_equals_a_direct_count(desk: Desk, sam: User) -> None:
    snapshot = dashboard_snapshot(user=sam)
    for team in (desk.billing, desk.tech):
        figures = team_row(snapshot, team)
        assert {name: getattr(figures, name) for name in direct(team)} == direct(team), team.name
    billing, tech, total = (
        team_row(snapshot, desk.billing),
        team_row(snapshot, desk.tech),
        snapshot.total.figures,
    )
    assert (billing.waiting, billing.open, billing.pending, billing.on_hold) == (2, 4, 1, 1)
    assert (billing.at_risk, billing.breached, billing.solved_today) == (2, 1, 1)
    assert (billing.messages_in, billing.replies_out, billing.first_responses) == (7, 2, 2)
    assert (tech.waiting, tech.open, tech.at_risk, tech.breached, tech.solved_today) == (1, 2, 0, 0, 1)
    for name in (
        "waiting",
        "open",
        "pending",
        "on_hold",
        "at_risk",
        "breached",
        "messages_in",
        "replies_out",
    ):
        assert getattr(total, name) == getattr(billing, name) + getattr(tech, name), name
    # The longest wait is the ticket whose customer has waited since 40 minutes ago.
    waited = desk.tickets["waiting_new"]
    waited.refresh_from_db()
    assert billing.oldest_waiting_since == waited.awaiting_agent_since == total.oldest_waiting_since
    replied = Ticket.objects.filter(first_response_at__isnull=False, team=desk.billing)
    expected = sum((t.first_response_at - t.created_at).total_seconds() for t in replied) / replied.count()
    assert billing.first_response_average_seconds == pytest.approx(expected)


def test_at_risk_is_due_within_the_hour_or_warned_and_never_breached(desk: Desk, sam: User) -> None:
    snapshot = dashboard_snapshot(user=sam)
    assert team_row(snapshot, desk.billing).at_risk == 2
    # Due in five hours, no warning yet: not at risk; it will be an hour before its due time, which is
    # when the page is told to look again (or earlier, for the warned one due in three hours).
    due_later, warned = desk.tickets["due_later"], desk.tickets["warned_later"]
    assert team_row(snapshot, desk.tech).at_risk == 0
    expected = min(warned.sla_due_at - timedelta(hours=1), snapshot.day_end)
    assert snapshot.next_change_at == expected
    later = dashboard_snapshot(user=sam, now=due_later.sla_due_at - timedelta(minutes=59))
    assert team_row(later, desk.tech).at_risk == 1


def test_channels_count_tickets_where_they_began_and_messages_where_they_came(desk: Desk, sam: User) -> None:
    channels = {row.id: row.figures for row in dashboard_snapshot(user=sam).channels}
    chat, billing = channels[desk.chat_channel.pk], channels[desk.billing_channel.pk]
    assert (chat.open, chat.breached, chat.messages_in) == (1, 1, 0)
    assert billing.messages_in == 7 and billing.open == 3
    assert channels[desk.tech_channel.pk].messages_in == 3


def test_the_agents_panel(desk: Desk, sam: User, alice: User, bob: User, carla: User) -> None:
    agents = {row.user_id: row for row in dashboard_snapshot(user=sam).agents}
    assert set(agents) == {alice.pk, bob.pk, carla.pk, sam.pk}
    # A live chat weighs three (ROUTING_CHANNEL_WEIGHTS), the API channel one: as routing counts it.
    assert agent_loads(user_ids=agents) == {pk: row.load for pk, row in agents.items()}
    mine = agents[alice.pk]
    assert (mine.load, mine.open_tickets, mine.chats, mine.capacity) == (5, 3, 1, 10)
    assert mine.replies_today == 1 and mine.last_reply_at is not None and mine.solved_today == 0
    assert (agents[bob.pk].solved_today, agents[carla.pk].solved_today) == (1, 1)
    last = Message.objects.filter(author=alice, direction=Message.Direction.OUTBOUND).latest("created_at")
    assert mine.last_reply_at == last.created_at
    assert agents[sam.pk].presence == "offline" and agents[sam.pk].last_reply_at is None


def test_a_limited_supervisor_counts_only_their_teams(desk: Desk, sam: User, carla: User) -> None:
    lia = limited_supervisor(desk.billing)
    mine, everyone = dashboard_snapshot(user=lia), dashboard_snapshot(user=sam)
    assert [row.id for row in mine.teams] == [desk.billing.pk]
    billing = team_row(everyone, desk.billing)
    assert mine.total.figures == billing == team_row(mine, desk.billing)
    assert carla.pk not in {agent.user_id for agent in mine.agents}
    # Another team's channel is listed (its name is no secret) with nothing in it.
    tech_channel = next(row for row in mine.channels if row.id == desk.tech_channel.pk)
    assert tech_channel.figures.is_empty()
    assert sum(mine.intraday.today.arrivals) == 7 and sum(everyone.intraday.today.arrivals) == 10


def test_an_agent_holding_a_limited_teams_ticket_counts_it_there_only(desk: Desk, carla: User) -> None:
    # Carla (Tech) takes a Billing ticket: Billing's supervisor sees her with that ticket alone.
    ticket_update(ticket=desk.tickets["waiting_new"], actor=carla, assignee=carla)
    lia = limited_supervisor(desk.billing)
    agents = {row.user_id: row for row in dashboard_snapshot(user=lia).agents}
    assert agents[carla.pk].open_tickets == 1
    assert agents[carla.pk].solved_today == 0 and agents[carla.pk].replies_today == 0


def test_agents_and_strangers_are_refused(desk: Desk, alice: User) -> None:
    with pytest.raises(PermissionDenied):
        dashboard_snapshot(user=alice)
    with pytest.raises(PermissionDenied):
        dashboard_snapshot(user=User.objects.create_user("mario"))


def test_the_intraday_series_put_each_message_in_its_quarter_hour(desk: Desk, sam: User) -> None:
    zone = timezone.get_default_timezone()
    now = timezone.now()
    # A week ago at 10:35: the 43rd slot (10:30-10:45) of last week's series.
    ago = datetime.combine((now - timedelta(days=7)).astimezone(zone).date(), datetime.min.time(), zone)
    moment = ago + timedelta(hours=10, minutes=35)
    old = Message.objects.filter(direction=Message.Direction.INBOUND, ticket__team=desk.billing).first()
    assert old is not None
    Message.objects.filter(pk=old.pk).update(created_at=moment, status_changed_at=moment, sent_at=moment)
    snapshot = dashboard_snapshot(user=sam, now=now)
    series = snapshot.intraday
    assert len(series.last_week.arrivals) == BUCKETS and series.last_week.arrivals[42] == 1
    assert sum(series.last_week.arrivals) == 1 and sum(series.last_week.answers) == 0
    start, _end = day_bounds(now.astimezone(zone).date(), zone)
    expected = [0] * (bucket_of(now, zone) + 1)
    for message in Message.objects.filter(direction=Message.Direction.INBOUND, created_at__gte=start):
        expected[bucket_of(message.created_at, zone)] += 1
    assert series.today.arrivals == expected and sum(expected) == 9


def test_the_snapshot_takes_the_same_queries_whatever_the_desk(
    desk: Desk, sam: User, django_assert_num_queries: object
) -> None:
    lia = limited_supervisor(desk.billing)
    for user in (sam, lia):
        user = User.objects.get(pk=user.pk)
        with django_assert_num_queries(QUERIES[user.agent.limited_to_teams]):  # type: ignore[operator]
            dashboard_snapshot(user=user)
        # Last week's series is read once in a while, not on every snapshot.
        with django_assert_num_queries(QUERIES[user.agent.limited_to_teams] - 1):  # type: ignore[operator]
            dashboard_snapshot(user=user)
    cache.clear()
    # More teams, agents, channels, tickets and messages: not one query more.
    for number in range(3):
        team = Team.objects.create(name=f"Extra {number}")
        agent = make_agent(f"extra_{number}", teams=[team, desk.billing])
        channel = make_api_channel(team=team, trust_identities=True)
        for sender in range(3):
            ticket = customer_writes(channel, "altro", sender=f"x{number}-{sender}")
            ticket_update(ticket=ticket, actor=agent, assignee=agent)
            message_send_reply(ticket=ticket, author=agent, text="ok")
    for user in (sam, lia):
        user = User.objects.get(pk=user.pk)
        with django_assert_num_queries(QUERIES[user.agent.limited_to_teams]):  # type: ignore[operator]
            dashboard_snapshot(user=user)


# For a limited supervisor, their teams; then teams, channels, open tickets, today's messages, first
# responses, solved today, the agents, and two days of the chart (the profile is read before, as the
# request's middleware does).
QUERIES = {False: 9, True: 10}


def test_the_json_shape_names_every_figure(desk: Desk, sam: User) -> None:
    data = snapshot_data(dashboard_snapshot(user=sam))
    assert set(data["total"]) == {
        "waiting",
        "oldest_waiting_since",
        "open",
        "pending",
        "on_hold",
        "at_risk",
        "breached",
        "first_responses",
        "first_response_average_seconds",
        "messages_in",
        "replies_out",
        "messages_in_per_hour",
        "replies_out_per_hour",
        "solved_today",
    }
    assert data["all_teams"] is True and data["team_ids"] is None
    assert [row["name"] for row in data["teams"]] == ["Billing", "Tech"]
    assert data["total"]["waiting"] == 3 and data["time_zone"] == "Europe/Rome"
    assert len(data["intraday"]["last_week"]["arrivals"]) == BUCKETS
