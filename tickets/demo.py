"""Demo data, the domain's part: two teams, their agents and supervisor, and twenty conversations.

Everything customers write goes through ``inbound_items_file`` and everything agents do
through the services, so the demo's timelines, audit trail and counters are the real thing.
Seeding is idempotent: each conversation is keyed by its first message's id and skipped when
present, and people and teams are only created when missing. The channels the conversations
arrive on are seeded, and the whole demo composed, by ``channels_in.demo`` (``manage.py seed_demo``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tickets.channel_port import ChannelAccountLike
from tickets.demo_conversations import CONVERSATIONS, CUSTOMERS, Conversation, Customer
from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
from tickets.models import AgentProfile, Message, Team, Ticket
from tickets.services.inbound_file import inbound_items_file
from tickets.services.messages import message_send_reply, note_add
from tickets.services.tickets import ticket_update
from tickets.tasks import tasks_deferred

# The documented demo credentials (README, docs/operations.md, the banner of ``manage.py serve``).
DEMO_PASSWORD = "sportello-demo"
SUPERVISOR_USERNAME = "sara"
SUPERVISOR_API_TOKEN = "sportello-demo-supervisor-token"

BILLING = "Amministrazione"
TECH = "Assistenza tecnica"
AGENTS: dict[str, tuple[str, str, str]] = {
    # username: (first name, last name, team)
    "marco": ("Marco", "Rinaldi", BILLING),
    "giulia": ("Giulia", "Ferri", BILLING),
    "luca": ("Luca", "Moretti", TECH),
    "anna": ("Anna", "Conti", TECH),
}
_AGENT_LANGUAGES = {"marco": ["it"], "giulia": ["it", "en"], "luca": ["it", "en"], "anna": ["it"]}


@dataclass
class DemoPeople:
    supervisor: User
    agents: dict[str, User]
    teams: dict[str, Team]


@dataclass
class DemoContext(DemoPeople):
    """What a channel's demo module builds on: people, teams and the demo API channel."""

    api_channel: ChannelAccountLike


def demo_people() -> DemoPeople | None:
    """The demo's people and teams if they have been seeded, else None."""
    supervisor = User.objects.filter(username=SUPERVISOR_USERNAME).first()
    if supervisor is None:
        return None
    return DemoPeople(
        supervisor=supervisor,
        agents={user.username: user for user in User.objects.filter(username__in=AGENTS)},
        teams={team.name: team for team in Team.objects.filter(name__in=[BILLING, TECH])},
    )


def demo_people_seed() -> DemoPeople:
    """The teams, the agents and the supervisor (with the API token), created where missing."""
    with transaction.atomic():
        teams = {
            BILLING: Team.objects.get_or_create(
                name=BILLING, defaults={"assignment_strategy": Team.Strategy.MANUAL}
            )[0],
            TECH: Team.objects.get_or_create(
                name=TECH, defaults={"assignment_strategy": Team.Strategy.LEAST_LOADED}
            )[0],
        }
        supervisor = _person(
            SUPERVISOR_USERNAME,
            "Sara",
            "Gallo",
            role=AgentProfile.Role.SUPERVISOR,
            teams=list(teams.values()),
        )
        agents = {
            username: _person(username, first, last, role=AgentProfile.Role.AGENT, teams=[teams[team]])
            for username, (first, last, team) in AGENTS.items()
        }
        Token.objects.get_or_create(user=supervisor, defaults={"key": SUPERVISOR_API_TOKEN})
    return DemoPeople(supervisor=supervisor, agents=agents, teams=teams)


def _person(username: str, first: str, last: str, *, role: str, teams: list[Team]) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first,
            "last_name": last,
            "email": f"{username}@sportello.localhost",
            # The supervisor also administers the demo, so /admin/ opens with the same password.
            "is_staff": role == AgentProfile.Role.SUPERVISOR,
            "is_superuser": role == AgentProfile.Role.SUPERVISOR,
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        profile = AgentProfile.objects.create(
            user=user, role=role, languages=_AGENT_LANGUAGES.get(username, ["it", "en"]), capacity=8
        )
        profile.teams.set(teams)
    return user


def conversations_seed(
    context: DemoContext, *, sender: Callable[[Customer], IdentityClaim]
) -> tuple[int, int]:
    """File the conversations missing on ``context.api_channel``, each customer writing as ``sender``
    says; returns how many were added and how many were already there."""
    added = 0
    for conversation in CONVERSATIONS:
        added += _conversation_seed(context, conversation, sender=sender)
    return added, len(CONVERSATIONS) - added


def _conversation_seed(
    context: DemoContext, conversation: Conversation, *, sender: Callable[[Customer], IdentityClaim]
) -> bool:
    """File one conversation through the services; False when it is already there."""
    channel = context.api_channel
    first_id = f"demo-{conversation.key}-1"
    if Message.objects.filter(channel_account_id=channel.pk, external_id=first_id).exists():
        return False
    customer = CUSTOMERS[conversation.customer]
    started = timezone.now() - timedelta(hours=conversation.hours_ago)
    ticket: Ticket | None = None
    inbound_count = 0
    for step in conversation.steps:
        if step.kind == "in":
            inbound_count += 1
            inbound = InboundMessage(
                channel_account_id=channel.pk,
                external_id=f"demo-{conversation.key}-{inbound_count}",
                sender=sender(customer),
                sender_name=customer.name,
                other_identities=[IdentityClaim(IdentityKind.EMAIL, customer.email, verified=True)],
                subject=conversation.subject if inbound_count == 1 else "",
                text=step.text,
                # Only the opening message is back-dated; later ones follow the agents' actions.
                sent_at=started if inbound_count == 1 else None,
            )
            (filed,) = inbound_items_file(items=[(inbound, channel)])
            assert filed.ticket_id is not None, filed.reason
            ticket = Ticket.objects.get(pk=filed.ticket_id)
            continue
        if ticket is None:
            raise ValueError(f"demo conversation {conversation.key} must start with a customer message")
        author = context.agents.get(step.agent, context.supervisor)
        if step.kind == "reply":
            # Delivered by the server, not by this process: the reply waits in the database as
            # ``queued`` until the running server's re-queue hands it to its worker.
            with tasks_deferred():
                message_send_reply(ticket=ticket, author=author, text=step.text)
        else:
            note_add(ticket=ticket, author=author, text=step.text)
    assert ticket is not None
    ticket_update(
        ticket=ticket,
        actor=context.supervisor,
        team=context.teams[conversation.team],
        assignee=context.agents.get(conversation.assignee or ""),
        priority=conversation.priority,
        tags=conversation.tags,
        reason="demo data",
    )
    if conversation.status != ticket.status:
        ticket_update(ticket=ticket, actor=context.supervisor, status=conversation.status, reason="demo data")
    return True
