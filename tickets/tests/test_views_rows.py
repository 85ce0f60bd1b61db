"""The inbox's cached rows: never stale, never another team's, in the reader's language, and cheap."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels_in.models import ChannelAccount
from tests.fixtures.browser import customer_writes
from tests.fixtures.personas import make_api_channel
from tickets.models import AgentProfile, Contact, Team, Ticket
from tickets.services.tickets import ticket_update
from tickets.views import rows


@pytest.fixture(autouse=True)
def empty_row_cache() -> None:
    cache.clear()


def page(client: Client, path: str = "/inbox/unassigned/") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def row_of(client: Client, ticket: Ticket, path: str = "/inbox/unassigned/") -> str:
    response = client.get(path, {"row": ticket.pk})
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def signed_alice(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


Change = Callable[[Ticket], None]


def _rename_contact(ticket: Ticket) -> None:
    Contact.objects.filter(pk=ticket.contact_id).update(name="Renamed Customer")


def _rename_team(ticket: Ticket) -> None:
    Team.objects.filter(pk=ticket.team_id).update(name="Renamed Team")


def _retitle(ticket: Ticket) -> None:
    # Not through a service, and without touching ``seq``: the row must follow whatever wrote the row.
    Ticket.objects.filter(pk=ticket.pk).update(subject="Retitled quietly")


def _reprioritize(ticket: Ticket) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(priority=Ticket.Priority.URGENT)


def _reopen(ticket: Ticket) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.OPEN)


def _retag(ticket: Ticket) -> None:
    ticket_update(ticket=ticket, actor=User.objects.get(username="alice_rossi"), tags=["freshtag"])


def _fall_due(ticket: Ticket) -> None:
    # The row's data-due (what live rows are sorted by in a due-ordered list); its countdown is per request.
    Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=datetime(2030, 1, 1, tzinfo=UTC))


def _rechannel(ticket: Ticket) -> None:
    ChannelAccount.objects.filter(pk=ticket.origin_channel_id).update(kind=ChannelAccount.Kind.TELEGRAM)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "shown"),
    [
        (_rename_contact, "Renamed Customer"),
        (_rename_team, "Renamed Team"),
        (_retitle, "Retitled quietly"),
        (_reprioritize, "badge prio-4"),
        (_reopen, "status-open"),
        (_retag, '<span class="tag">freshtag</span>'),
        (_rechannel, "✈"),
        (_fall_due, 'data-due="1893456000.000000"'),
    ],
)
def test_a_row_follows_every_value_it_shows(
    signed_alice: Client, api_channel: ChannelAccount, change: Change, shown: str
) -> None:
    ticket = customer_writes(api_channel, "hello", sender="a", subject="Original subject")
    before = page(signed_alice)
    assert "Original subject" in before and shown not in before
    change(ticket)
    after = page(signed_alice)
    assert shown in after
    assert shown in row_of(signed_alice, ticket)


@pytest.mark.django_db
def test_assignee_and_their_name_show_at_once(
    signed_alice: Client, alice: User, bob: User, api_channel: ChannelAccount
) -> None:
    ticket = customer_writes(api_channel, "hello", sender="a")
    ticket_update(ticket=ticket, actor=alice, assignee=bob)
    team_page = f"/inbox/team/{api_channel.default_team_id}/"
    # The row alone: the header's team panel names Bob too.
    assert "Bob Bianchi" in row_of(signed_alice, ticket, team_page)
    User.objects.filter(pk=bob.pk).update(first_name="Roberto")
    assert "Roberto Bianchi" in row_of(signed_alice, ticket, team_page)
    ticket.refresh_from_db()
    ticket_update(ticket=ticket, actor=alice, assignee=None)
    html = row_of(signed_alice, ticket, team_page)
    assert "Roberto Bianchi" not in html and 'data-assignee=""' in html


@pytest.mark.django_db
def test_language_switch_changes_the_rows(
    signed_alice: Client, alice: User, api_channel: ChannelAccount
) -> None:
    ticket = customer_writes(api_channel, "hello", sender="a")
    Ticket.objects.filter(pk=ticket.pk).update(awaiting_agent_since=timezone.now() - timedelta(hours=2))
    AgentProfile.objects.filter(user=alice).update(ui_language="en")
    english = row_of(signed_alice, ticket)
    assert ">New<" in english and ">Normal<" in english and "waiting 2" in english
    AgentProfile.objects.filter(user=alice).update(ui_language="it")
    italian = row_of(signed_alice, ticket)
    assert ">Nuovo<" in italian and ">Normale<" in italian and "in attesa da 2" in italian
    assert "in attesa da 2" in page(signed_alice)


@pytest.mark.django_db
def test_waiting_time_is_live_while_the_rest_comes_from_the_cache(
    signed_alice: Client, alice: User, api_channel: ChannelAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    AgentProfile.objects.filter(user=alice).update(ui_language="en")
    ticket = customer_writes(api_channel, "hello", sender="a", subject="Cached one")
    Ticket.objects.filter(pk=ticket.pk).update(awaiting_agent_since=timezone.now() - timedelta(minutes=5))
    assert "waiting 5\xa0minutes" in page(signed_alice)

    def no_render(ticket: Ticket) -> tuple[str, str]:
        raise AssertionError("the row should have come from the cache")

    monkeypatch.setattr(rows, "_render", no_render)
    later = timezone.now() + timedelta(hours=3)
    monkeypatch.setattr(rows.timezone, "now", lambda: later)
    html = page(signed_alice)
    assert "Cached one" in html and "waiting 3\xa0hours" in html


@pytest.mark.django_db
def test_another_teams_cached_row_never_reaches_an_agent(
    client: Client, alice: User, sam: User, tech: Team
) -> None:
    hidden = customer_writes(make_api_channel(team=tech), "secret", sender="a", subject="Tech only")
    client.force_login(sam)
    assert "Tech only" in page(client, "/inbox/all/")  # its row is now in the cache
    client.force_login(alice)
    assert "Tech only" not in page(client, "/inbox/unassigned/")
    assert client.get("/inbox/unassigned/", {"row": hidden.pk}).status_code == 204
    assert client.get(f"/inbox/team/{tech.pk}/").status_code == 404


@pytest.mark.django_db
def test_live_row_is_the_pages_row(signed_alice: Client, api_channel: ChannelAccount) -> None:
    ticket = customer_writes(api_channel, "hello", sender="a", subject="Same <b>markup</b>")
    single = row_of(signed_alice, ticket)
    assert single.startswith(f'<tr class="ticket-row prio-2" id="ticket-row-{ticket.pk}"')
    assert "Same &lt;b&gt;markup&lt;/b&gt;" in single
    assert single in page(signed_alice)


@pytest.mark.django_db
def test_cached_and_fresh_pages_cost_the_same_queries(
    signed_alice: Client, alice: User, api_channel: ChannelAccount
) -> None:
    for n in range(6):
        ticket = customer_writes(api_channel, f"t{n}", sender=f"s{n}")
        ticket_update(ticket=ticket, actor=alice, tags=["x", f"t{n}"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page(signed_alice)
        return len(captured)

    cold = queries()
    warm = queries()
    assert cold == warm


@pytest.mark.django_db
def test_rows_shared_through_redis_follow_changes(
    settings: Any, clean_redis: str, client: Client, alice: User, bob: User, api_channel: ChannelAccount
) -> None:
    """The scaled mode's cache: one web process's rows serve another's agents, and still never go stale."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": clean_redis,
            "KEY_PREFIX": "sportello",
        }
    }
    ticket = customer_writes(api_channel, "hello", sender="a", name="Before Rename", subject="Via Redis")
    client.force_login(alice)
    assert "Before Rename" in page(client)
    stored = redis.Redis.from_url(clean_redis).keys("sportello:*ticket-row*")
    assert len(stored) == 1
    _rename_contact(ticket)
    client.force_login(bob)
    html = page(client)
    assert "Renamed Customer" in html and "Before Rename" not in html
