"""SLA on real tickets: the policy chosen at triage, clocks that follow replies and statuses, alarms fired
once with their escalation, and the index the timers read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from channels_in.models import ChannelAccount
from tickets.models import BusinessCalendar, RoutingRule, SlaMetricEvent, SLAPolicy, Team, Ticket, TicketEvent
from tickets.services import sla
from tickets.services.messages import message_send_reply
from tickets.services.tickets import ticket_update
from tickets.services.triage import rules_forget, ticket_triage
from tickets.tests.api_support import customer_writes, new_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rules() -> None:
    rules_forget()


def policy(name: str = "Standard", **fields: Any) -> SLAPolicy:
    defaults: dict[str, Any] = {
        "first_response_minutes": 60,
        "next_response_minutes": 30,
        "resolution_minutes": 480,
    }
    return SLAPolicy.objects.create(name=name, **{**defaults, **fields})


def reloaded(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def event_types(ticket: Ticket) -> list[str]:
    return list(TicketEvent.objects.filter(ticket=ticket).order_by("seq").values_list("type", flat=True))


def aged(ticket: Ticket, minutes: float) -> Ticket:
    """The ticket as if created ``minutes`` ago, its clocks applied from then."""
    Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))
    return reloaded(ticket)


def test_triage_gives_the_team_default_and_stores_due_times_and_the_first_alarm(
    api_channel: ChannelAccount, billing: Team
) -> None:
    standard = policy()
    Team.objects.filter(pk=billing.pk).update(sla_policy=standard)
    ticket = new_ticket(api_channel)

    ticket_triage(ticket_id=ticket.pk)

    ticket = reloaded(ticket)
    assert ticket.sla_policy == standard
    assert ticket.first_response_due_at == ticket.created_at + timedelta(minutes=60)
    assert ticket.resolution_due_at == ticket.created_at + timedelta(minutes=480)
    assert ticket.next_response_due_at is None  # idle until a customer message waits after a reply
    assert ticket.sla_due_at == ticket.first_response_due_at
    assert ticket.sla_alarm_at == ticket.created_at + timedelta(minutes=48)  # 80 % of the first response
    applied = TicketEvent.objects.get(ticket=ticket, type="ticket.sla_applied")
    assert applied.reason_data == {
        "code": "sla.team_default",
        "values": {"policy": "Standard", "team": "Billing"},
    }
    kinds = list(SlaMetricEvent.objects.filter(ticket=ticket).order_by("id").values_list("kind", "metric"))
    assert kinds == [("apply_sla", ""), ("activate", "first_response"), ("activate", "resolution")]
    activated = SlaMetricEvent.objects.get(ticket=ticket, kind="activate", metric="first_response")
    assert (activated.at, activated.due_at) == (ticket.created_at, ticket.first_response_due_at)


def test_triage_runs_once_per_round_and_again_after_a_reopen(
    api_channel: ChannelAccount, billing: Team
) -> None:
    Team.objects.filter(pk=billing.pk).update(sla_policy=policy())
    ticket = new_ticket(api_channel)
    ticket_triage(ticket_id=ticket.pk)
    ticket_triage(ticket_id=ticket.pk)
    assert event_types(ticket).count("ticket.sla_applied") == 1

    ticket_update(ticket=reloaded(ticket), actor=None, status=Ticket.Status.SOLVED)
    solved = reloaded(ticket)
    assert solved.sla_due_at is None and solved.sla_alarm_at is None
    ticket_update(ticket=solved, actor=None, status=Ticket.Status.OPEN)
    assert reloaded(ticket).triaged_round == 1 and reloaded(ticket).reopened_count == 1
    ticket_triage(ticket_id=ticket.pk)

    reopened = reloaded(ticket)
    assert reopened.triaged_round == 2
    assert reopened.resolution_due_at is not None and reopened.sla_due_at is not None


def test_a_rule_sets_priority_tags_and_policy_and_the_targets_follow_the_priority(
    api_channel: ChannelAccount,
) -> None:
    gold = policy("Gold", priority_targets={"4": {"first_response": 15}})
    rule = RoutingRule.objects.create(
        name="Urgenze",
        conditions={"all": [{"field": "subject_or_text", "op": "contains_any", "value": ["urgente"]}]},
        actions={"priority": 4, "tags": ["vip"], "sla_policy": gold.pk},
    )
    ticket = customer_writes(api_channel, text="È URGENTE, il sito è giù").ticket
    other = customer_writes(api_channel, sender="cust-2", text="Una domanda sulla fattura").ticket

    ticket_triage(ticket_id=ticket.pk)
    ticket_triage(ticket_id=other.pk)

    ticket = reloaded(ticket)
    assert ticket.priority == 4 and ticket.sla_policy == gold
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["vip"]
    assert ticket.first_response_due_at == ticket.created_at + timedelta(minutes=15)
    reasons = {
        row.type: row.reason_data["values"]
        for row in TicketEvent.objects.filter(ticket=ticket).exclude(reason_data={})
    }
    assert reasons["ticket.priority_changed"]["rule"] == "Urgenze"
    assert reasons["ticket.sla_applied"] == {
        "rule_id": rule.pk,
        "rule": "Urgenze",
        "action": "sla_policy",
        "value": gold.pk,
    }
    assert reloaded(other).sla_policy is None and reloaded(other).priority == 2
    assert reloaded(other).language == "it"


def test_a_policy_picked_by_its_conditions(api_channel: ChannelAccount) -> None:
    english = policy(
        "English", conditions={"all": [{"field": "language", "op": "in", "value": ["en"]}]}, order=1
    )
    policy("Italian", conditions={"all": [{"field": "language", "op": "in", "value": ["it"]}]}, order=2)
    ticket = customer_writes(api_channel, text="Hello, my parcel arrived broken, please help me").ticket

    ticket_triage(ticket_id=ticket.pk)

    assert reloaded(ticket).language == "en"
    assert reloaded(ticket).sla_policy == english
    applied = TicketEvent.objects.get(ticket=ticket, type="ticket.sla_applied")
    assert applied.reason_data["code"] == "sla.policy_conditions"


def test_a_reply_fulfils_the_first_response_and_a_new_customer_message_starts_the_next(
    api_channel: ChannelAccount, alice: User, billing: Team
) -> None:
    Team.objects.filter(pk=billing.pk).update(sla_policy=policy())
    ticket = new_ticket(api_channel, sender="cust-9")
    ticket_triage(ticket_id=ticket.pk)

    message_send_reply(ticket=reloaded(ticket), author=alice, text="Ci siamo.")
    answered = reloaded(ticket)
    assert answered.first_response_due_at is None
    assert answered.sla_due_at == answered.resolution_due_at
    assert sla.sla_data(answered)["sla_metrics"]["first_response"]["fulfilled_at"] is not None

    customer_writes(api_channel, sender="cust-9", text="Grazie, ma ancora nulla")
    assert sla.sla_tickets_sync(ticket_ids=[ticket.pk]) == 1  # what the task does after the filing

    waiting = reloaded(ticket)
    assert waiting.awaiting_agent_since is not None
    assert waiting.next_response_due_at == waiting.awaiting_agent_since + timedelta(minutes=30)
    assert waiting.sla_due_at == waiting.next_response_due_at
    assert sla.sla_tickets_sync(ticket_ids=[ticket.pk]) == 0  # nothing moved since


def test_pending_stops_the_clocks_and_open_starts_them_again_later(
    api_channel: ChannelAccount, billing: Team
) -> None:
    Team.objects.filter(pk=billing.pk).update(sla_policy=policy())
    ticket = new_ticket(api_channel)
    ticket_triage(ticket_id=ticket.pk)
    before = reloaded(ticket).first_response_due_at
    assert before is not None

    ticket_update(ticket=reloaded(ticket), actor=None, status=Ticket.Status.PENDING)
    paused = reloaded(ticket)
    assert paused.sla_due_at is None and paused.sla_alarm_at is None
    assert sla.sla_data(paused)["sla_paused"] is True
    ticket_update(ticket=paused, actor=None, status=Ticket.Status.OPEN)

    resumed = reloaded(ticket)
    assert resumed.first_response_due_at is not None and resumed.first_response_due_at >= before
    kinds = list(
        SlaMetricEvent.objects.filter(ticket=ticket, metric="first_response").values_list("kind", flat=True)
    )
    assert kinds == ["activate", "pause", "activate"]


def test_alarms_fire_once_each_with_the_escalation_the_policy_names(
    api_channel: ChannelAccount, alice: User, billing: Team
) -> None:
    strict = policy(escalations={"breach": {"priority": "raise", "tag": "sla-breached", "unassign": True}})
    ticket = aged(new_ticket(api_channel), minutes=61)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=alice)
    ticket = reloaded(ticket)
    sla.sla_apply(ticket=ticket, policy=strict, at=timezone.now())
    ticket.save(update_fields=sla.SLA_FIELDS)
    assert reloaded(ticket).sla_alarm_at is not None and reloaded(ticket).sla_alarm_at <= timezone.now()

    fired = sla.sla_alarms_fire(ticket_id=ticket.pk)
    again = sla.sla_alarms_fire(ticket_id=ticket.pk)

    assert [(str(metric), str(alarm)) for metric, alarm in fired] == [
        ("first_response", "warning"),
        ("first_response", "breach"),
    ]
    assert again == []
    escalated = reloaded(ticket)
    assert escalated.priority == 3 and escalated.assignee_id is None
    assert list(escalated.tags.values_list("name", flat=True)) == ["sla-breached"]
    assert escalated.sla_breached_at == escalated.created_at + timedelta(minutes=60)
    # The resolution's warning comes later: the next alarm is armed for it.
    assert escalated.sla_alarm_at == escalated.created_at + timedelta(minutes=384)
    types = event_types(ticket)
    assert types.count("ticket.sla_warning") == 1 and types.count("ticket.sla_breached") == 1
    breached = TicketEvent.objects.get(ticket=ticket, type="ticket.sla_breached")
    assert breached.payload["metric"] == "first_response" and breached.payload["notify"] is True
    escalation = TicketEvent.objects.get(ticket=ticket, type="ticket.priority_changed")
    assert escalation.reason_data["code"] == "sla.escalation"


def test_the_timers_read_only_what_is_due(api_channel: ChannelAccount, billing: Team) -> None:
    Team.objects.filter(pk=billing.pk).update(sla_policy=policy())
    late = aged(new_ticket(api_channel), minutes=50)
    fresh = new_ticket(api_channel)
    for ticket in (late, fresh):
        ticket_triage(ticket_id=ticket.pk)

    due = sla.sla_alarms_due(until=timezone.now())

    assert [ticket_id for ticket_id, _at in due] == [late.pk]
    assert sla.sla_alarms_fire(ticket_id=fresh.pk) == []


def test_a_priority_change_moves_the_due_time(api_channel: ChannelAccount, billing: Team) -> None:
    Team.objects.filter(pk=billing.pk).update(
        sla_policy=policy(priority_targets={"4": {"first_response": 10}, "1": {"first_response": None}})
    )
    ticket = new_ticket(api_channel)
    ticket_triage(ticket_id=ticket.pk)

    ticket_update(ticket=reloaded(ticket), actor=None, priority=4)
    urgent = reloaded(ticket)
    assert urgent.first_response_due_at == urgent.created_at + timedelta(minutes=10)
    ticket_update(ticket=urgent, actor=None, priority=1)
    low = reloaded(ticket)
    assert low.first_response_due_at is None and low.sla_due_at == low.resolution_due_at


def test_a_calendar_counts_business_hours_and_a_broken_one_counts_every_hour(
    api_channel: ChannelAccount, billing: Team
) -> None:
    calendar = BusinessCalendar.objects.create(
        name="Ufficio", time_zone="Europe/Rome", intervals={"mon": [["09:00", "10:00"]]}, country=""
    )
    office = policy(calendar=calendar)
    Team.objects.filter(pk=billing.pk).update(sla_policy=office)
    ticket = new_ticket(api_channel)
    ticket_triage(ticket_id=ticket.pk)
    due = reloaded(ticket).first_response_due_at
    assert due is not None
    local = timezone.localtime(due, calendar.hours().zone)
    assert (local.weekday(), local.hour, local.minute) == (0, 10, 0)  # a whole Monday hour, 9 to 10

    BusinessCalendar.objects.filter(pk=calendar.pk).update(intervals={"mon": "always"})  # bypassing clean()
    rules_forget()  # as every process does within seconds
    broken = new_ticket(api_channel)
    ticket_triage(ticket_id=broken.pk)
    assert reloaded(broken).first_response_due_at == reloaded(broken).created_at + timedelta(minutes=60)


def test_escalations_that_cannot_run_are_refused_when_saved(billing: Team) -> None:
    from django.core.exceptions import ValidationError

    bad = SLAPolicy(
        name="Bad",
        escalations={"breach": {"priority": 9, "team": 999_999, "colour": "red"}, "soon": {}},
        conditions={"all": [{"field": "mood", "op": "in", "value": ["x"]}]},
    )
    with pytest.raises(ValidationError) as refused:
        bad.full_clean()

    problems = refused.value.message_dict
    assert any("breach.priority" in text for text in problems["escalations"])
    assert any("breach.team" in text for text in problems["escalations"])
    assert any("breach.colour" in text for text in problems["escalations"])
    assert any("'soon'" in text for text in problems["escalations"])
    assert problems["conditions"]


@pytest.mark.parametrize("one_by_one", [True, False], ids=["one-by-one", "set-based"])
def test_customer_messages_filed_on_either_path_move_the_clocks_on_after_commit(
    api_channel: ChannelAccount,
    alice: User,
    billing: Team,
    one_by_one: bool,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
    from tickets.services.inbound_file import inbound_items_file

    Team.objects.filter(pk=billing.pk).update(sla_policy=policy())
    tickets = [new_ticket(api_channel, sender=f"batch-{n}") for n in range(3)]
    for ticket in tickets:
        ticket_triage(ticket_id=ticket.pk)
        message_send_reply(ticket=reloaded(ticket), author=alice, text="Eccoci")
    items = [
        (
            InboundMessage(
                channel_account_id=api_channel.pk,
                external_id=f"again-{n}",
                sender=IdentityClaim(IdentityKind.API, f"{api_channel.pk}:batch-{n}", verified=True),
                sender_name="Maria Rossi",
                text="Ancora nulla?",
            ),
            api_channel,
        )
        for n in range(3)
    ]

    with django_capture_on_commit_callbacks(execute=True):
        inbound_items_file(items=items, one_by_one=one_by_one)

    for ticket in tickets:
        waiting = reloaded(ticket)
        assert waiting.awaiting_agent_since is not None
        assert waiting.next_response_due_at == waiting.awaiting_agent_since + timedelta(minutes=30)
        assert waiting.sla_due_at == waiting.next_response_due_at


def test_a_ticket_whose_routing_task_was_lost_is_found_by_the_sweep_and_triaged_once(
    api_channel: ChannelAccount, billing: Team
) -> None:
    from tickets.services.triage import tickets_untriaged
    from tickets.tasks import route_untriaged

    Team.objects.filter(pk=billing.pk).update(sla_policy=policy())
    lost = new_ticket(api_channel)  # its routing task never ran: the test sends none on commit
    triaged = new_ticket(api_channel)
    ticket_triage(ticket_id=triaged.pk)
    assert tickets_untriaged(quiet_since=timezone.now() - timedelta(minutes=1)) == []  # too recent

    Ticket.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    assert tickets_untriaged(quiet_since=timezone.now() - timedelta(minutes=1)) == [lost.pk]
    assert route_untriaged() == 1

    assert reloaded(lost).sla_policy is not None and reloaded(lost).triaged_round == 1
    assert tickets_untriaged(quiet_since=timezone.now()) == []


def test_the_timeline_says_what_the_sla_did_in_the_readers_language(api_channel: ChannelAccount) -> None:
    from django.utils import translation

    from tickets.views.timeline import describe

    ticket = aged(new_ticket(api_channel), minutes=61)
    sla.sla_apply(ticket=ticket, policy=policy(), at=timezone.now())
    ticket.save(update_fields=sla.SLA_FIELDS)
    sla.sla_alarms_fire(ticket_id=ticket.pk)
    breached = TicketEvent.objects.get(ticket=ticket, type="ticket.sla_breached")

    with translation.override("en"):
        sentence = describe(breached, users={}, teams={})
        assert sentence.startswith("SLA breached: the first response was due at")
        assert breached.reason_text == "SLA breached: the first response target of “Standard” has passed."
    with translation.override("it"):
        assert describe(breached, users={}, teams={}).startswith("SLA violato: la prima risposta era dovuta")
        assert "“Standard” è scaduto" in breached.reason_text
