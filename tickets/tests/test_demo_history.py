"""The demo desk's history: made through the services at times in the past, and the reports' roll-ups
built from it say what the tickets say."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from channels_in.api import demo as api_demo
from channels_in.email.demo import mailbox_ensure
from channels_in.models import ChannelAccount
from channels_in.webchat.demo import DEMO_CHANNEL_KEY, demo_config
from tickets import demo, demo_history, demo_sla
from tickets.demo import DemoContext, DemoPeople
from tickets.models import Message, SlaMetricEvent, Ticket, TicketEvent, TicketFact
from tickets.reports.figures import report_heatmap, report_summary, report_volume
from tickets.reports.filters import ReportFilter, day_start, desk_time_zone

# Committed for real: routing, SLA policies and delivery run after commit, as they do when the demo seeds.
pytestmark = pytest.mark.django_db(transaction=True)

# A fixed moment, so the plan (drawn from a fixed seed) is the same desk on every run: a Wednesday noon.
NOW = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
DAYS = 14


@pytest.fixture
def people() -> DemoPeople:
    """The demo's people, policies and rules, and its two customer channels, without its conversations."""
    people = demo.demo_people_seed()
    api_channel = api_demo.api_channel_ensure(team=people.teams[demo.TECH])
    context = DemoContext(
        supervisor=people.supervisor, agents=people.agents, teams=people.teams, api_channel=api_channel
    )
    demo_sla.sla_demo_seed(people, channel_id=api_channel.pk)
    mailbox_ensure(context)
    ChannelAccount.objects.create(
        key=DEMO_CHANNEL_KEY,
        kind=ChannelAccount.Kind.WEBCHAT,
        name="Chat del sito",
        default_team=people.teams[demo.TECH],
        config=demo_config(context),
    )
    return people


def history_tickets() -> list[Ticket]:
    ids = Message.objects.filter(external_id__startswith=demo_history.EXTERNAL_PREFIX).values("ticket_id")
    return list(Ticket.objects.filter(pk__in=ids).select_related("origin_channel").order_by("created_at"))


def test_the_history_is_weeks_of_desk_work_in_the_past(people: DemoPeople) -> None:
    added = demo_history.history_seed(people, days=DAYS, now=NOW)

    tickets = history_tickets()
    assert added == len(tickets) >= 3 * DAYS
    zone = desk_time_zone()
    assert NOW - timedelta(days=DAYS + 1) < tickets[0].created_at
    assert tickets[-1].created_at < NOW - timedelta(hours=6)
    # Every step lay in the past, in order: replies after the message they answer, solved after.
    for ticket in tickets:
        assert ticket.status == Ticket.Status.SOLVED
        assert ticket.created_at < ticket.first_response_at < ticket.solved_at < NOW
        assert ticket.assignee is not None and ticket.team is not None and ticket.sla_policy is not None
    events = TicketEvent.objects.filter(ticket__in=tickets)
    assert events.filter(created_at__gte=NOW).count() == 0
    # Busy weekdays, quiet weekends; both channels; every agent; some come back, some breach.
    per_day = Counter(ticket.created_at.astimezone(zone).weekday() for ticket in tickets)
    assert min(per_day[day] for day in range(5)) > max(per_day[5], per_day[6])
    assert {ticket.origin_channel.kind for ticket in tickets} == {"email", "webchat"}
    assert {ticket.assignee.username for ticket in tickets} == set(demo.AGENTS)
    assert any(ticket.reopened_count for ticket in tickets)
    assert any(ticket.sla_breached_at for ticket in tickets)
    assert SlaMetricEvent.objects.filter(ticket__in=tickets, kind=SlaMetricEvent.Kind.BREACHED).exists()
    # Replies went out long ago: none waits for the server to send it.
    replies = Message.objects.filter(ticket__in=tickets, direction=Message.Direction.OUTBOUND)
    assert set(replies.values_list("status", flat=True)) == {Message.Status.SENT}
    # The real clock is back, for the services and the models' default times alike.
    assert abs(timezone.now() - datetime.now(UTC)) < timedelta(minutes=1)
    assert Ticket._meta.get_field("created_at").get_default() > NOW


def test_the_rollups_say_what_the_tickets_say(people: DemoPeople) -> None:
    demo_history.history_seed(people, days=DAYS, now=NOW)

    tickets = history_tickets()
    assert TicketFact.objects.count() == Ticket.objects.count()
    zone = desk_time_zone()
    first_day = (NOW - timedelta(days=DAYS)).astimezone(zone).date()
    report = ReportFilter(start=day_start(first_day, zone), end=day_start(NOW.astimezone(zone).date(), zone))
    summary = report_summary(report)
    assert summary["created"] == len(tickets)
    assert summary["reopened"] == sum(ticket.reopened_count for ticket in tickets)
    assert summary["solved"] == len(tickets) + summary["reopened"]
    assert summary["first_response"]["count"] == len(tickets)
    assert summary["sla"]["breached"] == sum(1 for ticket in tickets if ticket.sla_breached_at)
    created = Counter(ticket.created_at.astimezone(zone).date().isoformat() for ticket in tickets)
    assert {day["date"]: day["created"] for day in report_volume(report) if day["created"]} == created
    assert report_volume(report)[-1]["backlog"] == 0
    heatmap = report_heatmap(report)
    for ticket in tickets:
        local = ticket.created_at.astimezone(zone)
        heatmap[local.weekday()][local.hour] -= 1
    assert all(count == 0 for row in heatmap for count in row)


def test_seeding_the_history_again_adds_nothing(people: DemoPeople) -> None:
    demo_history.history_seed(people, days=3, now=NOW)
    before = (Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count())

    assert demo_history.history_seed(people, days=3, now=NOW) == 0
    assert (Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count()) == before


def test_the_past_clock_is_the_seeding_threads_alone() -> None:
    elsewhere: list[datetime] = []
    with demo_history._past_clock() as clock_set:
        clock_set(NOW)
        reader = threading.Thread(target=lambda: elsewhere.append(timezone.now()))
        reader.start()
        reader.join()
        assert timezone.now() == NOW
        assert TicketEvent._meta.get_field("created_at").get_default() == NOW
    # A server thread in the same process kept the real time meanwhile.
    assert elsewhere[0] > NOW + timedelta(days=1)
    assert timezone.now() > NOW + timedelta(days=1)
