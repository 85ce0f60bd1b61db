"""The API's ticket list sorted by SLA due time: soonest first, in keyset pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_api_channel
from tickets.models import Team
from tickets.tests.api_support import client_for, ids, new_ticket
from tickets.tests.sla_support import due_in, sla_policy

pytestmark = pytest.mark.django_db


def test_sort_due_lists_running_clocks_soonest_first_across_pages(
    alice: User, api_channel: ChannelAccount
) -> None:
    policy = sla_policy(first_response_minutes=600)
    later = due_in(new_ticket(api_channel), policy, timedelta(minutes=50))
    overdue = due_in(new_ticket(api_channel), policy, timedelta(minutes=-5))
    soon = due_in(new_ticket(api_channel), policy, timedelta(minutes=10))
    without_policy = new_ticket(api_channel)
    client = client_for(alice)
    first = client.get("/api/v1/tickets", {"sort": "due", "page_size": 2})
    assert first.status_code == 200
    assert ids(first) == [overdue.pk, soon.pk]
    second = client.get(first.json()["next"])
    assert ids(second) == [later.pk] and second.json()["next"] is None
    assert without_policy.pk in ids(client.get("/api/v1/tickets"))
    assert ids(client.get("/api/v1/tickets", {"sort": "queue"}))[:1] != []


def test_sort_due_keeps_to_the_callers_teams(alice: User, tech: Team, api_channel: ChannelAccount) -> None:
    policy = sla_policy(first_response_minutes=600)
    mine = due_in(new_ticket(api_channel), policy, timedelta(minutes=30))
    due_in(new_ticket(make_api_channel(team=tech, trust_identities=True)), policy, timedelta(minutes=1))
    assert ids(client_for(alice).get("/api/v1/tickets", {"sort": "due"})) == [mine.pk]


def test_an_unknown_sort_or_a_cursor_of_the_other_order_is_a_400(
    alice: User, api_channel: ChannelAccount
) -> None:
    policy = sla_policy(first_response_minutes=600)
    for minutes in (5, 10):
        due_in(new_ticket(api_channel), policy, timedelta(minutes=minutes))
    client = client_for(alice)
    wrong = client.get("/api/v1/tickets", {"sort": "newest"})
    assert wrong.status_code == 400 and "sort" in wrong.json()
    queue_page = client.get("/api/v1/tickets", {"page_size": 1})
    cursor = queue_page.json()["next"].split("cursor=")[1]
    mixed = client.get("/api/v1/tickets", {"sort": "due", "cursor": cursor})
    assert mixed.status_code == 400 and "cursor" in mixed.json()
