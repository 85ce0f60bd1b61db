"""Undoing a contact merge tells the screens of the target contact's open tickets."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from channels_in.models import ChannelAccount
from tests.fixtures.browser import customer_writes
from tickets import event_schema
from tickets.events import Publication
from tickets.models import TicketEvent
from tickets.services.contacts import contact_merge, contact_merge_undo

pytestmark = pytest.mark.django_db


def test_undo_records_an_event_on_the_target_s_open_ticket(
    api_channel: ChannelAccount, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    kept = customer_writes(api_channel, "primo", sender="a")
    other = customer_writes(api_channel, "secondo", sender="b")
    merge = contact_merge(source=other.contact, target=kept.contact, actor=alice)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        contact_merge_undo(merge=merge, actor=alice)

    published = [item for item in callbacks if isinstance(item, Publication)]
    for item in published:
        event_schema.check_event(item.event, for_visitor=False)
    [told] = [item for item in published if item.event["type"] == "ticket.contact_merge_undone"]
    assert told.event["ticket_id"] == kept.pk
    assert told.event["data"]["source_id"] == other.contact_id
    assert told.event["data"]["merge_id"] == merge.pk
    assert {f"ticket.{kept.pk}", "supervisors", f"team.{kept.team_id}"} <= set(told.groups)
    row = TicketEvent.objects.get(ticket=kept, type="ticket.contact_merge_undone")
    assert row.actor_id == alice.pk
