"""A desk with two teams for the dashboard's tests: tickets in every state the figures tell apart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from channels_in.models import ChannelAccount
from tests.fixtures.browser import customer_writes
from tests.fixtures.personas import make_agent, make_api_channel
from tickets.models import AgentProfile, Message, Team, Ticket
from tickets.services import sla
from tickets.services.messages import message_send_reply
from tickets.services.tickets import ticket_update
from tickets.tests.sla_support import due_in, sla_policy


@dataclass
class Desk:
    billing: Team
    tech: Team
    billing_channel: ChannelAccount
    tech_channel: ChannelAccount
    chat_channel: ChannelAccount
    # Billing: two waiting (one pending), one due within the hour, one on hold (answered today), one
    # chat breached, one warned with three hours left, one answered and solved today; Tech: one
    # waiting, one due in five hours, one answered and solved today.
    tickets: dict[str, Ticket]


def _assign(ticket: Ticket, agent: User, **changes: object) -> Ticket:
    return ticket_update(ticket=ticket, actor=agent, assignee=agent, **changes)


def _warned(ticket: Ticket, *, left: timedelta) -> Ticket:
    """A ten-hour first response whose warning (at half of it) has fired, ``left`` before its due time."""
    ticket = due_in(ticket, sla_policy(first_response_minutes=600, warning_percent=50), left)
    sla.sla_alarms_fire(ticket_id=ticket.pk)
    return Ticket.objects.get(pk=ticket.pk)


def two_team_desk(*, billing: Team, tech: Team, alice: User, bob: User, carla: User) -> Desk:
    billing_channel = make_api_channel(team=billing, trust_identities=True)
    tech_channel = make_api_channel(team=tech, trust_identities=True)
    chat_channel = ChannelAccount.objects.create(
        kind=ChannelAccount.Kind.WEBCHAT, name="Chat", key="chat-desk", default_team=billing
    )
    now = timezone.now()
    t: dict[str, Ticket] = {}
    t["waiting_new"] = customer_writes(billing_channel, "Aiuto", sender="b1")
    Ticket.objects.filter(pk=t["waiting_new"].pk).update(
        created_at=now - timedelta(minutes=50), awaiting_agent_since=now - timedelta(minutes=40)
    )
    t["waiting_pending"] = customer_writes(billing_channel, "Attendo", sender="b2")
    ticket_update(ticket=t["waiting_pending"], actor=alice, status=Ticket.Status.PENDING)
    t["due_soon"] = _assign(
        due_in(customer_writes(billing_channel, "Fattura", sender="b3"), sla_policy(), timedelta(minutes=30)),
        alice,
    )
    t["on_hold"] = _assign(customer_writes(billing_channel, "Sospeso", sender="b4"), alice)
    message_send_reply(ticket=t["on_hold"], author=alice, text="Aspetto il corriere.")
    ticket_update(ticket=t["on_hold"], actor=alice, status=Ticket.Status.ON_HOLD)
    t["solved_billing"] = _assign(customer_writes(billing_channel, "Risolto", sender="b5"), bob)
    message_send_reply(ticket=t["solved_billing"], author=bob, text="Fatto.")
    ticket_update(ticket=t["solved_billing"], actor=bob, status=Ticket.Status.SOLVED)
    chat = customer_writes(billing_channel, "Chat", sender="b6")
    Ticket.objects.filter(pk=chat.pk).update(origin_channel=chat_channel)
    chat = _assign(due_in(chat, sla_policy(first_response_minutes=10), timedelta(minutes=-5)), alice)
    sla.sla_alarms_fire(ticket_id=chat.pk)
    t["chat_breached"] = Ticket.objects.get(pk=chat.pk)
    t["warned_later"] = _assign(
        _warned(customer_writes(billing_channel, "Lento", sender="b7"), left=timedelta(hours=3)), bob
    )
    t["waiting_tech"] = customer_writes(tech_channel, "Router", sender="t1")
    t["due_later"] = _assign(
        due_in(
            customer_writes(tech_channel, "Wifi", sender="t2"),
            sla_policy(first_response_minutes=600),
            timedelta(hours=5),
        ),
        carla,
    )
    t["solved_tech"] = _assign(customer_writes(tech_channel, "Fibra", sender="t3"), carla)
    message_send_reply(ticket=t["solved_tech"], author=carla, text="Riavviato.")
    ticket_update(ticket=t["solved_tech"], actor=carla, status=Ticket.Status.SOLVED)
    return Desk(billing, tech, billing_channel, tech_channel, chat_channel, t)


def limited_supervisor(team: Team, username: str = "lia_limitata") -> User:
    return make_agent(username, role=AgentProfile.Role.SUPERVISOR, teams=[team], limited_to_teams=True)


def messages_today(**lookups: object) -> int:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return Message.objects.filter(created_at__gte=start, is_automatic=False, **lookups).count()
