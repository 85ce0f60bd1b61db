"""Agents see time: countdowns on rows and the ticket's header, queues sorted by due time, and the
"Breaching soon" view, each within the one visibility rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_api_channel
from tickets.models import AgentProfile, SLAPolicy, Team, Ticket
from tickets.selectors import TicketFilters, ticket_list, tickets_due_first
from tickets.services.messages import message_send_reply
from tickets.services.tickets import ticket_update
from tickets.tests.api_support import new_ticket
from tickets.tests.sla_support import due_in, sla_policy
from tickets.views import rows

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english_rows(alice: User, sam: User) -> None:
    cache.clear()
    AgentProfile.objects.filter(user__in=[alice, sam]).update(ui_language="en")


@pytest.fixture
def policy() -> SLAPolicy:
    return sla_policy(first_response_minutes=60)


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def rows_of(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    return [ticket.pk for ticket in response.context["tickets"]]


def counts_of(response) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {view.key: view.count for view in response.context["views"]}


def test_sorting_by_due_time_puts_the_soonest_first_then_the_rest_in_queue_order(
    client: Client, alice: User, api_channel: ChannelAccount, policy: SLAPolicy
) -> None:
    later = due_in(new_ticket(api_channel), policy, timedelta(minutes=30))
    soon = due_in(new_ticket(api_channel), policy, timedelta(minutes=5))
    late = due_in(new_ticket(api_channel), policy, -timedelta(minutes=10))
    urgent_without = new_ticket(api_channel)
    ticket_update(ticket=urgent_without, actor=alice, priority=Ticket.Priority.URGENT)
    paused = due_in(new_ticket(api_channel), policy, timedelta(minutes=1))
    ticket_update(ticket=paused, actor=alice, status=Ticket.Status.PENDING)

    signed_in(client, alice)
    by_due = client.get("/inbox/unassigned/?sort=due")
    assert rows_of(by_due) == [late.pk, soon.pk, later.pk, urgent_without.pk, paused.pk]
    assert 'data-order="due"' in by_due.content.decode()
    assert rows_of(client.get("/inbox/unassigned/"))[0] == urgent_without.pk
    # Anything else than "due" is the queue order.
    assert rows_of(client.get("/inbox/unassigned/?sort=nonsense"))[0] == urgent_without.pk


def test_due_ordered_pages_walk_every_ticket_once_across_both_stretches(
    client: Client,
    alice: User,
    api_channel: ChannelAccount,
    policy: SLAPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("tickets.views.inbox_pages.PAGE_SIZE", 3)
    with_due = [due_in(new_ticket(api_channel), policy, timedelta(minutes=50 - n)).pk for n in range(4)]
    without = [new_ticket(api_channel).pk for _n in range(3)]

    signed_in(client, alice)
    seen: list[int] = []
    path = "/inbox/unassigned/?sort=due"
    for _page in range(5):
        response = client.get(path)
        seen += rows_of(response)
        if response.context["next_query"] is None:
            break
        path = f"/inbox/unassigned/?{response.context['next_query']}"
    assert seen == [*reversed(with_due), *without]
    # A cursor of another order, or made up, starts again from the top rather than failing.
    assert rows_of(client.get("/inbox/unassigned/?sort=due&cursor=WzEsMiwzXQ"))[0] == with_due[-1]


def test_breaching_soon_holds_open_tickets_due_within_the_hour_soonest_first(
    client: Client, alice: User, api_channel: ChannelAccount, policy: SLAPolicy
) -> None:
    within = due_in(new_ticket(api_channel), policy, timedelta(minutes=40))
    late = due_in(new_ticket(api_channel), policy, -timedelta(minutes=5))
    mine = due_in(new_ticket(api_channel), policy, timedelta(minutes=10))
    ticket_update(ticket=mine, actor=alice, assignee=alice)
    far = due_in(new_ticket(api_channel), sla_policy(first_response_minutes=600), timedelta(hours=3))
    paused = due_in(new_ticket(api_channel), policy, timedelta(minutes=2))
    ticket_update(ticket=paused, actor=alice, status=Ticket.Status.PENDING)
    solved = due_in(new_ticket(api_channel), policy, timedelta(minutes=2))
    ticket_update(ticket=solved, actor=alice, status=Ticket.Status.SOLVED)
    new_ticket(api_channel)  # no policy

    response = signed_in(client, alice).get("/inbox/breaching/")
    assert rows_of(response) == [late.pk, mine.pk, within.pk]
    assert far.pk not in rows_of(response)
    assert counts_of(response)["breaching"] == 3
    html = response.content.decode()
    assert 'data-view-link="breaching"' in html and "Breaching soon" in html
    assert 'data-testid="sort-select"' not in html  # always by due time
    assert 'data-testid="sort-select"' in client.get("/inbox/mine/").content.decode()


def test_breaching_soon_shows_only_what_the_agent_may_see(
    client: Client,
    alice: User,
    carla: User,
    sam: User,
    api_channel: ChannelAccount,
    tech: Team,
    policy: SLAPolicy,
) -> None:
    billing_ticket = due_in(new_ticket(api_channel), policy, timedelta(minutes=20))
    tech_ticket = due_in(new_ticket(make_api_channel(team=tech)), policy, timedelta(minutes=10))

    alices = signed_in(client, alice).get("/inbox/breaching/")
    assert rows_of(alices) == [billing_ticket.pk] and counts_of(alices)["breaching"] == 1
    assert client.get(f"/inbox/breaching/?row={tech_ticket.pk}").status_code == 204
    assert rows_of(signed_in(client, carla).get("/inbox/breaching/")) == [tech_ticket.pk]
    assert rows_of(signed_in(client, sam).get("/inbox/breaching/")) == [tech_ticket.pk, billing_ticket.pk]


def test_a_ticket_answered_leaves_breaching_soon_live(
    client: Client, alice: User, api_channel: ChannelAccount
) -> None:
    policy = sla_policy(first_response_minutes=60, resolution_minutes=24 * 60)
    ticket = due_in(new_ticket(api_channel), policy, timedelta(minutes=15))
    signed_in(client, alice)
    assert client.get(f"/inbox/breaching/?row={ticket.pk}").status_code == 200
    message_send_reply(ticket=ticket, author=alice, text="Eccomi")
    assert client.get(f"/inbox/breaching/?row={ticket.pk}").status_code == 204


def test_rows_count_down_with_words_and_a_time_element(
    client: Client,
    alice: User,
    api_channel: ChannelAccount,
    policy: SLAPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    running = due_in(new_ticket(api_channel), policy, timedelta(minutes=11, seconds=30))
    late = due_in(new_ticket(api_channel), policy, -timedelta(minutes=4, seconds=30))
    paused = due_in(new_ticket(api_channel), policy, timedelta(minutes=30))
    ticket_update(ticket=paused, actor=alice, status=Ticket.Status.PENDING)

    signed_in(client, alice)
    row = client.get(f"/inbox/unassigned/?row={running.pk}").content.decode()
    assert f'<time datetime="{running.sla_due_at.isoformat()}">reply within 12 min</time>' in row
    assert 'class="sla-due sla-running"' in row and "data-due=" in row
    late_row = client.get(f"/inbox/unassigned/?row={late.pk}").content.decode()
    assert "overdue by 5 min" in late_row and "sla-breached" in late_row
    paused_row = client.get(f"/inbox/unassigned/?row={paused.pk}").content.decode()
    assert "SLA paused" in paused_row and "<time" not in paused_row

    # The countdown is worked out on every request, while the rest of the row comes from the cache.
    def no_render(ticket: Ticket) -> tuple[str, str, str]:
        raise AssertionError("the row should have come from the cache")

    monkeypatch.setattr(rows, "_render", no_render)
    later = timezone.now() + timedelta(minutes=20)
    monkeypatch.setattr(rows.timezone, "now", lambda: later)
    again = client.get(f"/inbox/unassigned/?row={running.pk}").content.decode()
    assert "overdue by 9 min" in again and "sla-breached" in again


def test_the_ticket_header_counts_down_too(
    client: Client, alice: User, api_channel: ChannelAccount, policy: SLAPolicy
) -> None:
    ticket = due_in(new_ticket(api_channel), policy, timedelta(minutes=25))
    signed_in(client, alice)
    for path in (f"/tickets/{ticket.pk}/", f"/tickets/{ticket.pk}/actions/"):
        html = client.get(path).content.decode()
        assert 'data-testid="ticket-sla"' in html and "reply within 25 min" in html


def test_sorted_and_breaching_pages_cost_a_fixed_number_of_queries(
    client: Client, alice: User, api_channel: ChannelAccount, policy: SLAPolicy
) -> None:
    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured)

    signed_in(client, alice)
    due_in(new_ticket(api_channel), policy, timedelta(minutes=5))
    new_ticket(api_channel)
    queue = queries("/inbox/unassigned/")
    by_due, breaching = queries("/inbox/unassigned/?sort=due"), queries("/inbox/breaching/")
    for n in range(8):
        due_in(new_ticket(api_channel), policy, timedelta(minutes=10 + n))
        new_ticket(api_channel)
    assert queries("/inbox/unassigned/?sort=due") == by_due
    assert queries("/inbox/breaching/") == breaching
    # The due order reads the tickets without a clock too: one more id query than the queue order.
    assert by_due == queue + 1 and breaching == queue


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_the_due_order_is_a_walk_of_the_partial_index(
    alice: User, sam: User, api_channel: ChannelAccount, policy: SLAPolicy
) -> None:
    due_in(new_ticket(api_channel), policy, timedelta(minutes=5))
    with connection.cursor() as cursor:
        # The test tables are tiny: without this the planner would rightly read them whole.
        cursor.execute("SET LOCAL enable_seqscan = off")
        # Statistics as they are now, not as other tests left them: the plan must not hang on them.
        cursor.execute("ANALYZE tickets_ticket")
    for user in (sam, alice):
        tickets = ticket_list(user=user, filters=TicketFilters(statuses=list(Ticket.OPEN_STATUSES)))
        plan = tickets_due_first(tickets).values_list("pk", flat=True)[:51].explain()
        assert "ticket_sla_due" in plan, plan
