from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token

from channels_in.api import demo as api_demo
from channels_in.demo import demo_seed
from channels_in.models import ChannelAccount, InboundEvent
from channels_in.signing import SIGNATURE_HEADER, body_signature
from tickets import demo
from tickets.demo_conversations import CONVERSATIONS, CUSTOMERS
from tickets.models import AgentProfile, Contact, ContactIdentity, Message, Tag, Team, Ticket, TicketEvent

_COUNTED = [User, AgentProfile, Team, Token, ChannelAccount, InboundEvent, Contact, ContactIdentity]
_COUNTED += [Ticket, Message, TicketEvent, Tag]


def snapshot() -> dict[str, Any]:
    counts = {model.__name__: model.objects.count() for model in _COUNTED}
    counts["ticket_states"] = sorted(
        Ticket.objects.values_list("pk", "status", "priority", "seq", "assignee")
    )
    counts["message_states"] = sorted(Message.objects.values_list("pk", "status"))
    return counts


@pytest.mark.django_db
def test_the_demo_is_what_the_docs_promise() -> None:
    summary = demo_seed()

    assert summary.conversations_added == len(CONVERSATIONS) == 20
    channel = ChannelAccount.objects.get(key=api_demo.API_CHANNEL_KEY)
    # Channels may add their own demo parts; these assertions are about the API channel's conversations.
    tickets = Ticket.objects.filter(origin_channel=channel)
    assert tickets.count() == 20
    assert Contact.objects.filter(tickets__in=tickets).distinct().count() == len(CUSTOMERS) == 10
    assert set(Team.objects.values_list("name", flat=True)) == {"Amministrazione", "Assistenza tecnica"}
    roles = Counter(AgentProfile.objects.values_list("role", flat=True))
    assert roles == {AgentProfile.Role.AGENT: 4, AgentProfile.Role.SUPERVISOR: 1}
    for team in Team.objects.all():
        assert team.agents.filter(role=AgentProfile.Role.AGENT).count() == 2

    supervisor = User.objects.get(username=demo.SUPERVISOR_USERNAME)
    assert supervisor.check_password(demo.DEMO_PASSWORD) and supervisor.is_staff
    assert Token.objects.get(user=supervisor).key == demo.SUPERVISOR_API_TOKEN
    assert channel.config["token"] == api_demo.API_CHANNEL_TOKEN

    assert set(tickets.values_list("status", flat=True)) == {
        "new",
        "open",
        "pending",
        "on_hold",
        "solved",
        "closed",
    }
    assert set(tickets.values_list("priority", flat=True)) == {1, 2, 3, 4}
    assert tickets.filter(follow_up_of__isnull=False).count() == 10
    assert tickets.filter(tags__isnull=False).distinct().count() == 20
    messages = Message.objects.filter(ticket__in=tickets)
    directions = Counter(messages.values_list("direction", flat=True))
    assert directions["note"] >= 5 and directions["outbound"] >= 15 and directions["inbound"] >= 25
    # Replies wait for the server to deliver them; the seeding process sends nothing itself.
    assert set(messages.filter(direction="outbound").values_list("status", flat=True)) == {"queued"}
    texts = " ".join(messages.values_list("text", flat=True))
    assert "Buongiorno" in texts and "Hi" in texts


@pytest.mark.django_db
def test_seeding_twice_changes_nothing() -> None:
    demo_seed()
    before = snapshot()

    again = demo_seed()

    assert again.conversations_added == 0
    assert again.conversations_present == 20
    assert snapshot() == before


@pytest.mark.django_db
def test_the_demo_token_reads_the_tickets_through_the_rest_api(client: Client) -> None:
    demo_seed()

    response = client.get(
        "/api/v1/tickets",
        HTTP_AUTHORIZATION=f"Token {demo.SUPERVISOR_API_TOKEN}",
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 200, response.content
    # One page of the API's default size; the demo's history makes more tickets than a page holds.
    assert Ticket.objects.count() >= 20
    assert len(response.json()["results"]) == min(50, Ticket.objects.count())


@pytest.mark.django_db
def test_the_demo_integrator_accepts_only_signed_replies(client: Client) -> None:
    demo_seed()
    body = json.dumps({"message_id": 41, "ticket_id": 7, "text": "Ciao"}).encode()

    good = client.post(
        api_demo.INTEGRATOR_PATH,
        body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: body_signature(api_demo.API_CHANNEL_SECRET, body)},
    )
    forged = client.post(
        api_demo.INTEGRATOR_PATH,
        body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: body_signature("not-the-secret", body)},
    )

    assert good.status_code == 200 and good.json() == {"id": "demo-reply-41"}
    assert forged.status_code == 401


@pytest.mark.django_db
def test_the_demo_shows_rules_policies_skills_and_every_sla_state() -> None:
    from tickets.demo_sla import CALENDAR, STANDARD, URGENT
    from tickets.models import BusinessCalendar, RoutingRule, SLAPolicy

    demo_seed()

    calendar = BusinessCalendar.objects.get(name=CALENDAR)
    assert (calendar.time_zone, calendar.country) == ("Europe/Rome", "IT")
    assert calendar.hours().is_holiday(__import__("datetime").date(2026, 12, 25))
    assert set(SLAPolicy.objects.values_list("name", flat=True)) == {STANDARD, URGENT}
    assert RoutingRule.objects.count() >= 3
    for rule in RoutingRule.objects.all():
        rule.full_clean()  # every demo rule is one an administrator could save
    assert all(AgentProfile.objects.filter(role="agent").values_list("skills", flat=True))
    assert set(Team.objects.values_list("sla_policy__name", flat=True)) == {STANDARD}
    open_tickets = Ticket.objects.filter(
        status__in=Ticket.OPEN_STATUSES, origin_channel__key=api_demo.API_CHANNEL_KEY
    )
    assert not open_tickets.filter(sla_policy__isnull=True).exists()
    assert open_tickets.filter(sla_breached_at__isnull=False).exists()  # breached
    warned = TicketEvent.objects.filter(type="ticket.sla_warning").values_list("ticket_id", flat=True)
    assert open_tickets.filter(pk__in=warned, sla_breached_at__isnull=True).exists()  # warned, not yet late
    assert open_tickets.filter(sla_due_at__isnull=True, status="pending").exists()  # paused
    assert open_tickets.filter(sla_due_at__isnull=False, sla_breached_at__isnull=True).count() >= 3  # running
    assert TicketEvent.objects.filter(type="ticket.sla_breached").exists()
