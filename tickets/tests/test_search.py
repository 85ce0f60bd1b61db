"""Ticket text search: full-text on PostgreSQL, substring on SQLite, the same answers from both."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import connection

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_api_channel
from tickets.models import Message, Team, Ticket
from tickets.search import full_text_available, ticket_search_q, tsquery_text
from tickets.selectors import TicketFilters, ticket_list, ticket_timeline
from tickets.tests.api_support import client_for, customer_writes, ids, new_ticket

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="full-text search and its indexes are PostgreSQL's"
)


def found(user: User, text: str) -> list[int]:
    return sorted(ticket.pk for ticket in ticket_list(user=user, filters=TicketFilters(q=text)))


@pytest.fixture(params=["database", "substring"])
def either_search(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every answer below must hold for this database's search and for the substring fallback."""
    if request.param == "database":
        yield request.param
        return
    with mock.patch("tickets.search.full_text_available", return_value=False):
        yield request.param


def test_query_words_become_quoted_prefixes() -> None:
    assert tsquery_text("Rimborso ordine") == "'rimborso':* & 'ordine':*"
    assert tsquery_text("perché è rotto") == "'perché':* & 'è':* & 'rotto':*"


def test_tsquery_operators_in_the_input_are_only_words() -> None:
    assert tsquery_text("a:* | !b & (c) <-> 'd'") == "'a':* & 'b':* & 'c':* & 'd':*"
    assert tsquery_text("@ - ! ()") == ""


@pytest.mark.django_db
def test_search_finds_subject_messages_contact_and_identities_in_italian_and_english(
    either_search: str, api_channel: ChannelAccount, alice: User
) -> None:
    by_subject = new_ticket(api_channel, subject="Fattura di marzo errata")
    italian = new_ticket(api_channel, text="Il pacco è arrivato rotto, perché?")
    english = new_ticket(api_channel, text="The refund never arrived")
    by_name = new_ticket(api_channel, name="Giuseppe Verdi")
    by_email = new_ticket(api_channel, email="lucia.bianchi@example.com")

    assert found(alice, "FATTURA") == [by_subject.pk]
    assert found(alice, "pacco è arrivato") == [italian.pk]
    assert found(alice, "perché") == [italian.pk]
    assert found(alice, "refund") == [english.pk]
    assert found(alice, "verdi") == [by_name.pk]
    assert found(alice, "lucia.bianchi@") == [by_email.pk]
    assert found(alice, "nothing like this") == []


@pytest.mark.django_db
def test_search_never_finds_another_teams_ticket(
    either_search: str, api_channel: ChannelAccount, alice: User, tech: Team
) -> None:
    mine = new_ticket(api_channel, text="rimborso ordine 4417")
    new_ticket(make_api_channel(team=tech), text="rimborso ordine 4417")

    assert found(alice, "4417") == [mine.pk]


@pytest.mark.django_db
def test_a_ticket_matching_in_many_places_is_listed_once(
    either_search: str, api_channel: ChannelAccount, alice: User
) -> None:
    for _ in range(3):
        customer_writes(api_channel, sender="same", subject="rimborso", text="ancora il rimborso")

    assert len(found(alice, "rimborso")) == 1


@postgres_only
@pytest.mark.django_db
def test_words_match_as_prefixes_and_operators_are_harmless(api_channel: ChannelAccount, alice: User) -> None:
    refunds = new_ticket(api_channel, text="Quando arrivano i rimborsi?")

    assert full_text_available()
    assert found(alice, "rimbors") == [refunds.pk]
    assert found(alice, "rimbors & !x:* | (") == []
    assert found(alice, "'; DROP TABLE tickets_ticket; --") == []


@postgres_only
@pytest.mark.django_db
def test_inbox_search_and_api_q_use_full_text(client: Any, api_channel: ChannelAccount, alice: User) -> None:
    ticket = new_ticket(api_channel, text="i rimborsi non arrivano")
    client.force_login(alice)

    assert [row.pk for row in client.get("/inbox/search/", {"q": "rimbors"}).context["tickets"]] == [
        ticket.pk
    ]
    assert ids(client_for(alice).get("/api/v1/tickets", {"q": "rimbors"})) == [ticket.pk]


def _plan(sql: str, params: Any, *, sort: bool = True) -> str:
    with connection.cursor() as cursor:
        # Test tables are tiny: without this the planner rightly prefers reading them whole (and
        # sorting a handful of rows rather than reading an index in order).
        cursor.execute("SET LOCAL enable_seqscan = off")
        if not sort:
            cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@postgres_only
@pytest.mark.django_db
def test_search_reads_the_full_text_indexes(api_channel: ChannelAccount) -> None:
    new_ticket(api_channel, subject="Rimborso", text="rimborso")
    sql, params = Ticket.objects.filter(ticket_search_q("rimborso")).values("pk").query.sql_with_params()

    plan = _plan(sql, params)
    assert "message_text_search" in plan
    assert "ticket_subject_search" in plan


@postgres_only
@pytest.mark.django_db
def test_queue_page_walks_the_open_queue_index(alice: User) -> None:
    tickets = ticket_list(user=alice, filters=TicketFilters(statuses=list(Ticket.OPEN_STATUSES)))
    sql, params = tickets.values("pk")[:51].query.sql_with_params()

    assert "ticket_open_queue" in _plan(sql, params, sort=False)


@postgres_only
@pytest.mark.django_db
def test_timeline_reads_messages_by_ticket_through_the_index(
    api_channel: ChannelAccount, alice: User
) -> None:
    ticket = new_ticket(api_channel)
    sql, params = ticket_timeline(user=alice, ticket=ticket).query.sql_with_params()

    # ``ticket = X OR ticket IN (subquery)`` could only be answered by reading every message.
    assert "Seq Scan on tickets_message" not in _plan(sql, params)
    assert list(ticket_timeline(user=alice, ticket=ticket)) == list(Message.objects.filter(ticket=ticket))
