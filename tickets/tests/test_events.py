"""Every live event: its payload matches its schema and it goes to exactly the right groups.

Publications are the real ``on_commit`` callbacks the services register, captured before they run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User

from channels_in.models import ChannelAccount
from tickets import event_schema, events
from tickets.events import Publication
from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
from tickets.models import Message, Team, Ticket
from tickets.services import presence, sla
from tickets.services.contacts import contact_merge
from tickets.services.ingest import ingest_inbound_message
from tickets.services.messages import message_send_reply, message_status_update, note_add
from tickets.services.ticket_merge import ticket_merge, ticket_unmerge
from tickets.services.tickets import ticket_update
from tickets.services.triage import ticket_triage
from tickets.tests.sla_support import due_in, sla_policy

pytestmark = pytest.mark.django_db


class Published(list[Publication]):
    def of_type(self, kind: str) -> Publication:
        found = [item for item in self if item.event["type"] == kind]
        assert len(found) == 1, f"expected one {kind}, got {[item.event['type'] for item in self]}"
        return found[0]


@pytest.fixture
def published(django_capture_on_commit_callbacks) -> Callable[[], Any]:  # type: ignore[no-untyped-def]
    @contextmanager
    def capture() -> Iterator[Published]:
        result = Published()
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            yield result
        result.extend(item for item in callbacks if isinstance(item, Publication))
        for item in result:
            event_schema.check_event(item.event, for_visitor=item.groups[0].startswith("visitor."))

    return capture


def inbound(account: ChannelAccount, external_id: str, *, sender: IdentityClaim, text: str = "Ciao") -> Any:
    return ingest_inbound_message(
        inbound=InboundMessage(
            channel_account_id=account.pk, external_id=external_id, sender=sender, text=text
        )
    )


def api_sender(account: ChannelAccount, sender: str = "cust-1") -> IdentityClaim:
    return IdentityClaim(IdentityKind.API, f"{account.pk}:{sender}", verified=True)


@pytest.fixture
def webchat(billing: Team) -> ChannelAccount:
    return ChannelAccount.objects.create(
        kind=ChannelAccount.Kind.WEBCHAT, name="Widget", key="widget-1", default_team=billing
    )


VISITOR = IdentityClaim(IdentityKind.WEBCHAT, "3f9ac0de11", verified=False)


def staff_groups(ticket: Ticket, *extra: str) -> set[str]:
    return {f"ticket.{ticket.pk}", "supervisors", f"team.{ticket.team_id}", *extra}


def test_new_ticket_and_message_reach_the_team_not_another_team(
    published, api_channel: ChannelAccount, tech: Team
) -> None:
    with published() as out:
        ticket = inbound(api_channel, "m-1", sender=api_sender(api_channel), text="Fattura errata").ticket

    created, message = out.of_type("ticket.created"), out.of_type("message.created")
    assert set(created.groups) == set(message.groups) == staff_groups(ticket)
    assert f"team.{tech.pk}" not in created.groups
    assert created.event["data"]["id"] == ticket.pk
    assert created.event["data"]["team_id"] == api_channel.default_team_id
    assert (created.event["seq"], message.event["seq"]) == (1, 2)
    assert message.event["data"]["direction"] == "inbound"
    assert message.event["data"]["text"] == "Fattura errata"
    assert not any(group.startswith("visitor.") for item in out for group in item.groups)


def test_reopened_ticket_is_announced(published, api_channel: ChannelAccount, alice: User) -> None:
    ticket = inbound(api_channel, "m-1", sender=api_sender(api_channel)).ticket
    ticket_update(ticket=ticket, actor=alice, status=Ticket.Status.SOLVED)

    with published() as out:
        inbound(api_channel, "m-2", sender=api_sender(api_channel))

    reopened = out.of_type("ticket.reopened")
    assert set(reopened.groups) == staff_groups(ticket)
    assert reopened.event["data"]["status"] == "open"


def test_webchat_messages_reach_the_visitor_in_reduced_form(
    published, webchat: ChannelAccount, alice: User
) -> None:
    with published() as out:
        ticket = inbound(webchat, "w-1", sender=VISITOR, text="Salve").ticket

    staff = [item for item in out if item.event["type"] == "message.created" and "supervisors" in item.groups]
    visitor = [item for item in out if item.groups == (events.visitor_group(VISITOR.value),)]
    assert len(staff) == 1 and len(visitor) == 1
    assert set(staff[0].groups) == staff_groups(ticket)
    assert visitor[0].event["data"] == {
        "id": staff[0].event["data"]["id"],
        "direction": "inbound",
        "text": "Salve",
        "status": "received",
        "sent_at": staff[0].event["data"]["sent_at"],
    }
    assert visitor[0].event["seq"] == staff[0].event["seq"]

    with published() as out:
        message_send_reply(ticket=ticket, author=alice, text="Buongiorno, come posso aiutarla?")
    reply = [item for item in out if item.groups == (f"visitor.{VISITOR.value}",)]
    assert len(reply) == 1
    assert reply[0].event["data"]["direction"] == "outbound"
    assert "author_id" not in reply[0].event["data"]


def test_internal_note_never_reaches_the_visitor(published, webchat: ChannelAccount, alice: User) -> None:
    ticket = inbound(webchat, "w-1", sender=VISITOR).ticket

    with published() as out:
        note_add(ticket=ticket, author=alice, text="Cliente già rimborsato una volta")

    note = out.of_type("message.created")
    assert set(note.groups) == staff_groups(ticket)
    assert note.event["data"]["direction"] == "note"
    assert note.event["actor_id"] == alice.pk
    assert all(not group.startswith("visitor.") for item in out for group in item.groups)


def test_messages_on_other_channels_reach_no_visitor(api_channel: ChannelAccount) -> None:
    message = inbound(api_channel, "m-1", sender=api_sender(api_channel)).message
    assert events.message_visitor_groups(message) == []
    message.direction = Message.Direction.SYSTEM
    assert events.message_visitor_groups(message) == []


def test_visitor_group_name_cannot_be_steered() -> None:
    assert events.visitor_group("abc.supervisors") == "visitor.abcsupervisors"
    assert events.visitor_group("x" * 500) == "visitor." + "x" * 80


def test_assignment_reaches_new_and_previous_assignee(
    published, api_channel: ChannelAccount, alice: User, bob: User
) -> None:
    ticket = inbound(api_channel, "m-1", sender=api_sender(api_channel)).ticket
    ticket_update(ticket=ticket, actor=alice, assignee=alice)

    with published() as out:
        ticket_update(ticket=ticket, actor=alice, assignee=bob, reason="bob knows this customer")

    assigned = out.of_type("ticket.assigned")
    assert set(assigned.groups) == staff_groups(ticket, f"agent.{alice.pk}", f"agent.{bob.pk}")
    assert assigned.event["data"]["from"] == alice.pk
    assert assigned.event["data"]["to"] == bob.pk
    assert assigned.event["data"]["ticket"]["assignee_id"] == bob.pk
    assert assigned.event["actor_id"] == alice.pk


def test_team_change_tells_the_old_team_once_then_only_the_new_one(
    published, api_channel: ChannelAccount, billing: Team, tech: Team, sam: User
) -> None:
    ticket = inbound(api_channel, "m-1", sender=api_sender(api_channel)).ticket

    with published() as out:
        ticket_update(ticket=ticket, actor=sam, team=tech)
    moved = out.of_type("ticket.team_changed")
    assert f"team.{billing.pk}" in moved.groups and f"team.{tech.pk}" in moved.groups
    assert moved.event["data"]["from"] == billing.pk and moved.event["data"]["to"] == tech.pk

    with published() as out:
        ticket_update(ticket=ticket, actor=sam, priority=Ticket.Priority.URGENT)
    later = out.of_type("ticket.priority_changed")
    assert f"team.{billing.pk}" not in later.groups
    assert set(later.groups) == {f"ticket.{ticket.pk}", "supervisors", f"team.{tech.pk}"}


def test_status_priority_and_tag_changes(published, api_channel: ChannelAccount, alice: User) -> None:
    ticket = inbound(api_channel, "m-1", sender=api_sender(api_channel)).ticket

    with published() as out:
        ticket_update(
            ticket=ticket,
            actor=alice,
            status=Ticket.Status.PENDING,
            priority=Ticket.Priority.HIGH,
            tags=["Rimborso", "vip"],
        )

    status = out.of_type("ticket.status_changed")
    assert status.event["data"]["from"] == "new" and status.event["data"]["to"] == "pending"
    assert out.of_type("ticket.priority_changed").event["data"]["to"] == Ticket.Priority.HIGH
    assert out.of_type("ticket.tags_changed").event["data"]["to"] == ["rimborso", "vip"]
    assert [item.event["seq"] for item in out] == [3, 4, 5]
    assert all(set(item.groups) == staff_groups(ticket) for item in out)


def test_delivery_status_reaches_staff_only(published, webchat: ChannelAccount, alice: User) -> None:
    ticket = inbound(webchat, "w-1", sender=VISITOR).ticket
    reply = message_send_reply(ticket=ticket, author=alice, text="Eccomi")

    with published() as out:
        message_status_update(message=reply, status=Message.Status.FAILED, reason="visitor left")

    status = out.of_type("message.status")
    assert set(status.groups) == staff_groups(ticket)
    assert status.event["data"] == {"message_id": reply.pk, "status": "failed", "reason": "visitor left"}


def test_typing_goes_to_the_ticket_group_only(published) -> None:
    with published() as out:
        presence.typing_announce(ticket_id=41, user_id=7, state=True)

    typing = out.of_type("typing")
    assert typing.groups == ("ticket.41",)
    assert typing.event["agent_id"] == 7 and typing.event["state"] is True


def test_presence_change_reaches_supervisors_and_the_agents_teams(
    published, alice: User, billing: Team, tech: Team
) -> None:
    with published() as out:
        presence.presence_connect(user_id=alice.pk, connection="conn-1")

    change = out.of_type("presence.changed")
    assert set(change.groups) == {"supervisors", f"team.{billing.pk}"}
    assert change.event["agent_id"] == alice.pk and change.event["presence"] == "online"
    presence.presence_disconnect(user_id=alice.pk, connection="conn-1")


def test_collision_goes_to_the_ticket_group(published, alice: User, bob: User) -> None:
    with published() as out:
        presence.collision_view(ticket_id=41, user_id=alice.pk, connection="a", viewing=True)
        presence.collision_reply(ticket_id=41, user_id=bob.pk, connection="b", replying=True)

    first, second = out
    assert first.groups == second.groups == ("ticket.41",)
    assert (first.event["viewing"], first.event["replying"]) == ([alice.pk], [])
    assert (second.event["viewing"], second.event["replying"]) == ([alice.pk], [bob.pk])
    presence.collision_view(ticket_id=41, user_id=alice.pk, connection="a", viewing=False)
    presence.collision_reply(ticket_id=41, user_id=bob.pk, connection="b", replying=False)


def test_every_recorded_type_has_a_schema() -> None:
    for kind in ["ticket.created", "message.created", "ticket.assigned", "message.status"]:
        assert kind in event_schema.TICKET_EVENT_DATA
    with pytest.raises(event_schema.EventSchemaError):
        event_schema.check_event({"type": "ticket.created", "ticket_id": 1, "seq": 1, "at": "", "data": {}})
    with pytest.raises(event_schema.EventSchemaError):
        event_schema.check_event({"type": "no.such.event"})


def test_typing_on_a_webchat_ticket_tells_the_visitor_but_not_who(
    published, webchat: ChannelAccount, alice: User
) -> None:
    ticket = inbound(webchat, "w-1", sender=VISITOR).ticket

    with published() as out:
        presence.typing_announce(ticket_id=ticket.pk, user_id=alice.pk, state=True)

    staff, visitor = out.of_type("typing"), out.of_type("visitor.typing")
    assert staff.groups == (f"ticket.{ticket.pk}",) and staff.event["agent_id"] == alice.pk
    assert visitor.groups == (events.visitor_group(VISITOR.value),)
    assert "agent_id" not in visitor.event and visitor.event["state"] is True


def test_merge_and_unmerge_events_reach_both_tickets_staff(
    published, api_channel: ChannelAccount, sam: User
) -> None:
    source = inbound(api_channel, "m-1", sender=api_sender(api_channel, "a")).ticket
    ticket_update(ticket=source, actor=sam, status=Ticket.Status.PENDING)
    target = inbound(api_channel, "m-2", sender=api_sender(api_channel, "b")).ticket

    with published() as out:
        ticket_merge(source=source, target=target, actor=sam, reason="same person")
    merged, merged_in = out.of_type("ticket.merged"), out.of_type("ticket.merged_in")
    assert set(merged.groups) == staff_groups(source)
    assert merged.event["data"]["into"] == target.pk
    assert merged.event["data"]["previous_status"] == "pending"
    assert set(merged_in.groups) == staff_groups(target)
    assert merged_in.event["data"]["from"] == source.pk

    with published() as out:
        ticket_unmerge(ticket=source, actor=sam)
    assert {item.event["ticket_id"] for item in out if item.event["type"] == "ticket.unmerged"} == {
        source.pk,
        target.pk,
    }


def test_contact_merge_moves_tickets_with_an_event(published, api_channel: ChannelAccount, sam: User) -> None:
    first = inbound(api_channel, "m-1", sender=api_sender(api_channel, "a")).ticket
    ticket_update(ticket=first, actor=sam, status=Ticket.Status.SOLVED)
    second = inbound(api_channel, "m-2", sender=api_sender(api_channel, "b")).ticket

    with published() as out:
        contact_merge(source=first.contact, target=second.contact, actor=sam)

    changed = [item for item in out if item.event["type"] == "ticket.contact_changed"]
    assert changed and all(set(item.groups) == staff_groups(first) for item in changed)
    assert changed[0].event["data"]["to"] == second.contact_id


def test_sla_applied_at_triage_reaches_the_tickets_staff(
    published, api_channel: ChannelAccount, billing: Team
) -> None:
    policy = sla_policy(resolution_minutes=480)
    Team.objects.filter(pk=billing.pk).update(sla_policy=policy)
    ticket = inbound(api_channel, "m-1", sender=api_sender(api_channel)).ticket

    with published() as out:
        ticket_triage(ticket_id=ticket.pk)

    applied = out.of_type("ticket.sla_applied")
    assert set(applied.groups) == staff_groups(ticket)
    data = applied.event["data"]
    assert data["policy_id"] == data["sla_policy_id"] == policy.pk
    assert set(data["sla_metrics"]) == {"first_response", "resolution"}
    assert data["sla_due_at"] == data["sla_metrics"]["first_response"]["due_at"]
    assert data["sla_paused"] is False and data["ticket"]["id"] == ticket.pk


def test_sla_warning_and_breach_reach_the_staff_and_the_assignee(
    published, api_channel: ChannelAccount, alice: User
) -> None:
    quiet = sla_policy(escalations={"warning": {"notify": False}})
    ticket = inbound(api_channel, "m-1", sender=api_sender(api_channel)).ticket
    ticket_update(ticket=ticket, actor=alice, assignee=alice)
    ticket = due_in(ticket, quiet, -timedelta(minutes=1))

    with published() as out:
        sla.sla_alarms_fire(ticket_id=ticket.pk)

    warning, breached = out.of_type("ticket.sla_warning"), out.of_type("ticket.sla_breached")
    assert set(warning.groups) == set(breached.groups) == staff_groups(ticket, f"agent.{alice.pk}")
    assert warning.event["data"]["metric"] == breached.event["data"]["metric"] == "first_response"
    assert (warning.event["data"]["notify"], breached.event["data"]["notify"]) == (False, True)
    assert breached.event["data"]["due_at"] == ticket.first_response_due_at.isoformat()
    assert breached.event["data"]["ticket"]["assignee_id"] == alice.pk
    assert warning.event["seq"] < breached.event["seq"]


def test_due_times_moving_tell_the_tickets_staff_live_only(
    published, api_channel: ChannelAccount, alice: User
) -> None:
    ticket = inbound(api_channel, "m-1", sender=api_sender(api_channel)).ticket
    ticket = due_in(ticket, sla_policy(resolution_minutes=480), timedelta(minutes=30))

    with published() as out:
        ticket_update(ticket=ticket, actor=alice, status=Ticket.Status.PENDING)

    changed = out.of_type("ticket.sla_changed")
    assert set(changed.groups) == staff_groups(ticket)
    assert "seq" not in changed.event and changed.event["ticket_id"] == ticket.pk
    assert changed.event["sla_paused"] is True and changed.event["sla_due_at"] is None


def test_sla_payloads_are_checked_strictly() -> None:
    ticket = {
        "id": 1,
        "subject": "",
        "status": "open",
        "priority": 2,
        "team_id": None,
        "assignee_id": None,
        "contact_id": 1,
        "channel_id": None,
        "updated_at": None,
    }
    alarm = {"metric": "first_response", "due_at": None, "alarm_at": "x", "notify": True, "ticket": ticket}
    envelope = {"type": "ticket.sla_breached", "ticket_id": 1, "seq": 1, "at": "", "actor_id": None}
    event_schema.check_event({**envelope, "data": alarm})
    with pytest.raises(event_schema.EventSchemaError):
        event_schema.check_event({**envelope, "data": {**alarm, "metric": "lunch_break"}})
    with pytest.raises(event_schema.EventSchemaError):
        event_schema.check_event({**envelope, "data": {**alarm, "assignee_name": "Alice"}})
    changed = {
        "type": "ticket.sla_changed",
        "ticket_id": 1,
        "sla_policy_id": 1,
        "sla_due_at": None,
        "sla_breached_at": None,
        "sla_paused": True,
        "sla_metrics": {},
        "at": "",
    }
    event_schema.check_event(changed)
    with pytest.raises(event_schema.EventSchemaError):
        event_schema.check_event({**changed, "seq": 3})
