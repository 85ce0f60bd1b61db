from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels_in.models import ChannelAccount
from tests.fixtures.browser import customer_writes
from tests.fixtures.personas import make_api_channel
from tickets.models import Team, Ticket
from tickets.services.tickets import ticket_update
from tickets.views.inbox_pages import PAGE_SIZE, decode_cursor


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def rows_of(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [ticket.pk for ticket in response.context["tickets"]]


def counts_of(response) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {view.key: view.count for view in response.context["views"]}


@pytest.mark.django_db
def test_anonymous_is_sent_to_sign_in(client: Client) -> None:
    response = client.get("/inbox/mine/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/inbox/mine/")


@pytest.mark.django_db
def test_user_without_agent_profile_is_refused(client: Client) -> None:
    user = User.objects.create_user("visitor", password="password")
    assert signed_in(client, user).get("/inbox/mine/").status_code == 403


@pytest.mark.django_db
def test_views_hold_the_right_tickets_with_counts(
    client: Client, alice: User, bob: User, carla: User, api_channel: ChannelAccount, tech: Team
) -> None:
    mine = customer_writes(api_channel, "mine", sender="a")
    ticket_update(ticket=mine, actor=alice, assignee=alice)
    bobs = customer_writes(api_channel, "bob's", sender="b")
    ticket_update(ticket=bobs, actor=bob, assignee=bob)
    unassigned = customer_writes(api_channel, "nobody's", sender="c")
    waiting = customer_writes(api_channel, "waiting", sender="d")
    ticket_update(ticket=waiting, actor=alice, status=Ticket.Status.PENDING)
    solved = customer_writes(api_channel, "solved", sender="e")
    ticket_update(ticket=solved, actor=alice, status=Ticket.Status.SOLVED)
    other_team = customer_writes(make_api_channel(team=tech), "tech's", sender="f")

    signed_in(client, alice)
    response = client.get("/inbox/mine/")
    assert rows_of(response) == [mine.pk]
    assert counts_of(response) == {
        "mine": 1,
        "unassigned": 2,  # the waiting ticket is unassigned too
        "breaching": 0,  # no SLA policy here
        f"team-{api_channel.default_team_id}": 4,
        "waiting": 1,
        "solved": 1,
    }
    assert set(rows_of(client.get("/inbox/unassigned/"))) == {unassigned.pk, waiting.pk}
    assert rows_of(client.get("/inbox/waiting/")) == [waiting.pk]
    assert rows_of(client.get("/inbox/solved/")) == [solved.pk]
    assert other_team.pk not in rows_of(client.get(f"/inbox/team/{api_channel.default_team_id}/"))
    assert client.get("/inbox/all/").status_code == 404
    assert client.get(f"/inbox/team/{tech.pk}/").status_code == 404
    assert client.get("/inbox/nonsense/").status_code == 404


@pytest.mark.django_db
def test_supervisor_sees_all_and_every_team(
    client: Client, sam: User, api_channel: ChannelAccount, tech: Team
) -> None:
    billing_ticket = customer_writes(api_channel, "billing", sender="a")
    tech_ticket = customer_writes(make_api_channel(team=tech), "tech", sender="b")
    response = signed_in(client, sam).get("/inbox/all/")
    assert set(rows_of(response)) == {billing_ticket.pk, tech_ticket.pk}
    assert counts_of(response)["all"] == 2
    assert rows_of(client.get(f"/inbox/team/{tech.pk}/")) == [tech_ticket.pk]


@pytest.mark.django_db
def test_sorted_by_priority_then_longest_waiting(
    client: Client, alice: User, api_channel: ChannelAccount
) -> None:
    newest = customer_writes(api_channel, "new", sender="a")
    oldest = customer_writes(api_channel, "old", sender="b")
    urgent = customer_writes(api_channel, "urgent", sender="c")
    Ticket.objects.filter(pk=oldest.pk).update(awaiting_agent_since=timezone.now() - timedelta(hours=3))
    ticket_update(ticket=urgent, actor=alice, priority=Ticket.Priority.URGENT)

    response = signed_in(client, alice).get("/inbox/unassigned/")
    assert rows_of(response) == [urgent.pk, oldest.pk, newest.pk]


@pytest.mark.django_db
def test_filters_narrow_the_list(client: Client, alice: User, api_channel: ChannelAccount) -> None:
    other_channel = make_api_channel(team=api_channel.default_team, trust_identities=True)
    tagged = customer_writes(api_channel, "tagged", sender="a")
    ticket_update(ticket=tagged, actor=alice, tags=["vip"], priority=Ticket.Priority.HIGH)
    elsewhere = customer_writes(other_channel, "elsewhere", sender="b")
    open_one = customer_writes(api_channel, "opened", sender="c")
    ticket_update(ticket=open_one, actor=alice, status=Ticket.Status.OPEN)

    signed_in(client, alice)
    assert rows_of(client.get("/inbox/unassigned/?tag=vip")) == [tagged.pk]
    assert rows_of(client.get("/inbox/unassigned/?priority=3")) == [tagged.pk]
    assert rows_of(client.get(f"/inbox/unassigned/?channel={other_channel.pk}")) == [elsewhere.pk]
    assert rows_of(client.get("/inbox/unassigned/?status=open")) == [open_one.pk]
    # A status outside the view's own gives nothing rather than leaking another view's tickets.
    assert rows_of(client.get("/inbox/unassigned/?status=solved")) == []
    # Nonsense parameters are ignored, not a server error.
    assert client.get("/inbox/unassigned/?priority=x&channel=y&cursor=%%%").status_code == 200
    deep = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode()
    assert client.get(f"/inbox/unassigned/?cursor={deep}").status_code == 200
    impossible = base64.urlsafe_b64encode(b'[2, "9999-12-31T23:59:59-14:00", 1]').decode()
    assert client.get(f"/inbox/unassigned/?cursor={impossible}").status_code == 200


@pytest.mark.django_db
def test_search_finds_subject_message_contact_and_identity_but_never_other_teams(
    client: Client, alice: User, api_channel: ChannelAccount, tech: Team
) -> None:
    by_subject = customer_writes(api_channel, "hello", sender="a", subject="Fattura di marzo")
    by_text = customer_writes(api_channel, "il rimborso non arriva", sender="b")
    by_name = customer_writes(api_channel, "hello", sender="c", name="Giuseppe Verdi")
    by_email = customer_writes(api_channel, "hello", sender="d", email="luigi@example.com")
    hidden = customer_writes(make_api_channel(team=tech), "rimborso anche qui", sender="e")

    signed_in(client, alice)
    assert rows_of(client.get("/inbox/search/?q=fattura")) == [by_subject.pk]
    assert rows_of(client.get("/inbox/search/?q=RIMBORSO")) == [by_text.pk]
    assert rows_of(client.get("/inbox/search/?q=giuseppe")) == [by_name.pk]
    response = client.get("/inbox/search/?q=luigi@example")
    assert rows_of(response) == [by_email.pk]
    assert response.context["current"].count == 1
    assert hidden.pk not in rows_of(client.get("/inbox/search/?q=rimborso"))


@pytest.mark.django_db
def test_cursor_pagination_walks_every_ticket_once(
    client: Client, alice: User, api_channel: ChannelAccount
) -> None:
    created = {customer_writes(api_channel, f"t{n}", sender=f"s{n}").pk for n in range(PAGE_SIZE + 7)}
    signed_in(client, alice)
    first = client.get("/inbox/unassigned/")
    assert len(rows_of(first)) == PAGE_SIZE
    next_query = first.context["next_query"]
    assert next_query and decode_cursor(next_query.split("cursor=")[1]) is not None
    second = client.get(f"/inbox/unassigned/?{next_query}")
    assert len(rows_of(second)) == 7
    assert second.context["next_query"] is None
    assert set(rows_of(first)) | set(rows_of(second)) == created


@pytest.mark.django_db
def test_inbox_query_count_does_not_grow_with_rows(
    client: Client, alice: User, api_channel: ChannelAccount
) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/inbox/unassigned/").status_code == 200
        return len(captured)

    signed_in(client, alice)
    customer_writes(api_channel, "one", sender="a")
    few = queries()
    for n in range(12):
        ticket = customer_writes(api_channel, f"more {n}", sender=f"m{n}")
        ticket_update(ticket=ticket, actor=alice, tags=["x", f"t{n}"])
    assert queries() == few
    # session, user, profile, teams, the visibility rule's team ids (twice), open counts, solved count,
    # page ids, rows, tags, the filter choices (channels, tag names) and the header's team panel:
    # fixed, whatever the page holds.
    assert few <= 14


@pytest.mark.django_db
def test_live_row_answers_only_for_tickets_that_belong_in_the_view(
    client: Client, alice: User, carla: User, api_channel: ChannelAccount
) -> None:
    ticket = customer_writes(api_channel, "x", sender="a", subject="Belongs")
    signed_in(client, alice)
    response = client.get(f"/inbox/unassigned/?row={ticket.pk}")
    assert response.status_code == 200 and b"Belongs" in response.content
    assert client.get(f"/inbox/mine/?row={ticket.pk}").status_code == 204
    # The view's filters apply too: a row that no longer matches them is dropped by the page.
    assert client.get(f"/inbox/unassigned/?priority=4&row={ticket.pk}").status_code == 204
    assert signed_in(client, carla).get(f"/inbox/unassigned/?row={ticket.pk}").status_code == 204


@pytest.mark.django_db
def test_live_counts_partial(client: Client, alice: User, api_channel: ChannelAccount) -> None:
    customer_writes(api_channel, "x", sender="a")
    response = signed_in(client, alice).get("/inbox/mine/?nav=1")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<nav class="views"')
    assert 'data-count="unassigned">1<' in html


@pytest.mark.django_db
def test_solved_count_stops_at_the_cap(
    client: Client, alice: User, api_channel: ChannelAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tickets.views.inbox.COUNT_CAP", 2)
    for n in range(3):
        ticket = customer_writes(api_channel, f"done {n}", sender=f"s{n}")
        ticket_update(ticket=ticket, actor=alice, status=Ticket.Status.SOLVED)
    response = signed_in(client, alice).get("/inbox/solved/")
    assert len(rows_of(response)) == 3
    assert 'data-count="solved">2+<' in response.content.decode()
