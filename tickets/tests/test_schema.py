"""The indexes the migrations leave: what filing writes for every event, message and ticket update."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def indexes(table: str) -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {name: info["columns"] for name, info in constraints.items() if info["index"] or info["unique"]}


@pytest.mark.parametrize(
    ("table", "column", "covering"),
    [
        ("tickets_message", "ticket_id", "message_timeline"),
        ("tickets_ticket", "assignee_id", "ticket_agent_queue"),
        ("tickets_ticket", "contact_id", "ticket_contact_history"),
        ("tickets_ticket", "team_id", "ticket_team_queue"),
        ("tickets_ticketevent", "ticket_id", "ticket_event_seq_unique"),
        ("channels_in_inboundevent", "channel_account_id", "inbound_event_provider_id_key"),
    ],
)
def test_a_foreign_key_led_by_a_wider_index_has_no_index_of_its_own(
    table: str, column: str, covering: str
) -> None:
    found = indexes(table)
    assert found[covering][0] == column
    alone = [name for name, columns in found.items() if columns == [column]]
    assert alone in ([], ["one_open_ticket_per_contact"])


def test_the_one_open_ticket_per_contact_index_is_kept() -> None:
    found = indexes("tickets_ticket")
    assert found["one_open_ticket_per_contact"] == ["contact_id"]
    assert found["ticket_contact_history"][0] == "contact_id"
