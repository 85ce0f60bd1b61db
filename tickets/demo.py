"""Demo data: a small Italian help desk with two teams, an API channel and twenty tickets.

Everything customers write goes through ``inbound_items_file`` and everything agents do
through the services, so the demo's timelines, audit trail and counters are the real thing.
Seeding is idempotent: each conversation is keyed by its first message's id and skipped when
present, and people, teams and the channel are only created when missing.

A channel adds its own demo part with a module ``channels_in/<kind>/demo.py`` defining
``demo_seed(context: DemoContext) -> None`` (idempotent too; it runs with tasks deferred, so its
replies are delivered by the server) and, optionally, ``LINKS``: a list of ``(label, path)`` pairs
that ``manage.py serve`` prints with the other addresses.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from types import ModuleType

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from channels_in.api.adapter import api_identity_value
from channels_in.models import ChannelAccount
from channels_in.signing import SIGNATURE_HEADER, signature_valid
from helpdesk.embedded import tasks_deferred
from tickets.demo_conversations import CONVERSATIONS, CUSTOMERS, Conversation
from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
from tickets.jsonload import json_load
from tickets.models import AgentProfile, Team, Ticket
from tickets.services.inbound_file import inbound_items_file
from tickets.services.messages import message_send_reply, note_add
from tickets.services.tickets import ticket_update

logger = logging.getLogger(__name__)

# The documented demo credentials (README, docs/operations.md, the banner of ``manage.py serve``).
DEMO_PASSWORD = "sportello-demo"
SUPERVISOR_USERNAME = "sara"
SUPERVISOR_API_TOKEN = "sportello-demo-supervisor-token"
API_CHANNEL_KEY = "demo"
API_CHANNEL_TOKEN = "sportello-demo-channel-token"
API_CHANNEL_SECRET = "sportello-demo-channel-secret"
# A stand-in integrator, served in embedded/DEBUG mode, receives the replies sent on the demo channel.
INTEGRATOR_PATH = "/demo/integrator/replies"

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
class DemoContext:
    """What a channel's demo module builds on: people, teams and the demo API channel."""

    supervisor: User
    agents: dict[str, User]
    teams: dict[str, Team]
    api_channel: ChannelAccount


@dataclass
class DemoSummary:
    conversations_added: int = 0
    conversations_present: int = 0
    channel_parts: list[str] = field(default_factory=list)


def demo_seed() -> DemoSummary:
    """Create whatever part of the demo is missing; running it again changes nothing."""
    context = _people_and_channel()
    summary = DemoSummary()
    for conversation in CONVERSATIONS:
        if _conversation_seed(context, conversation):
            summary.conversations_added += 1
        else:
            summary.conversations_present += 1
    for name, module in channel_demo_modules().items():
        seed = getattr(module, "demo_seed", None)
        if seed is not None:
            # Channel parts send their replies the same way: the server delivers them.
            with tasks_deferred():
                seed(context)
            summary.channel_parts.append(name)
    return summary


def demo_context() -> DemoContext | None:
    """The demo's people and channel if they have been seeded, else None."""
    supervisor = User.objects.filter(username=SUPERVISOR_USERNAME).first()
    channel = ChannelAccount.objects.filter(key=API_CHANNEL_KEY).first()
    if supervisor is None or channel is None:
        return None
    return DemoContext(
        supervisor=supervisor,
        agents={user.username: user for user in User.objects.filter(username__in=AGENTS)},
        teams={team.name: team for team in Team.objects.filter(name__in=[BILLING, TECH])},
        api_channel=channel,
    )


def channel_demo_modules() -> dict[str, ModuleType]:
    """The ``channels_in.<kind>.demo`` modules that exist, by channel kind."""
    found: dict[str, ModuleType] = {}
    for kind in ChannelAccount.Kind.values:
        name = f"channels_in.{kind}.demo"
        try:
            present = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            present = False
        if present:
            found[kind] = importlib.import_module(name)
    return found


def demo_links() -> list[tuple[str, str]]:
    """Extra ``(label, path)`` addresses the channels' demo modules want shown."""
    links: list[tuple[str, str]] = []
    for module in channel_demo_modules().values():
        links.extend(getattr(module, "LINKS", []))
    return links


def _people_and_channel() -> DemoContext:
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
        from django.conf import settings

        channel, _ = ChannelAccount.objects.get_or_create(
            key=API_CHANNEL_KEY,
            defaults={
                "kind": ChannelAccount.Kind.API,
                "name": "Sito web (API)",
                "default_team": teams[TECH],
                "config": {
                    "token": API_CHANNEL_TOKEN,
                    "secret": API_CHANNEL_SECRET,
                    "callback_url": settings.PUBLIC_URL + INTEGRATOR_PATH,
                    # The demo integrator vouches for its customers' email addresses.
                    "trust_identities": True,
                },
            },
        )
    return DemoContext(supervisor=supervisor, agents=agents, teams=teams, api_channel=channel)


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


def _conversation_seed(context: DemoContext, conversation: Conversation) -> bool:
    """File one conversation through the services; False when it is already there."""
    channel = context.api_channel
    first_id = f"demo-{conversation.key}-1"
    if channel.messages.filter(external_id=first_id).exists():
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
                sender=IdentityClaim(
                    IdentityKind.API, api_identity_value(channel.pk, customer.sender_id), verified=True
                ),
                sender_name=customer.name,
                other_identities=[IdentityClaim(IdentityKind.EMAIL, customer.email, verified=True)],
                subject=conversation.subject if inbound_count == 1 else "",
                text=step.text,
                # Only the opening message is back-dated; later ones follow the agents' actions.
                sent_at=started if inbound_count == 1 else None,
            )
            (filed,) = inbound_items_file(items=[(inbound, channel)])
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


@csrf_exempt
@require_POST
def integrator_reply(request: HttpRequest) -> JsonResponse:
    """The demo channel's integrator: checks the reply's signature and acknowledges it with an id."""
    channel = ChannelAccount.objects.filter(key=API_CHANNEL_KEY).first()
    secret = channel.config.get("secret", "") if channel else ""
    if not signature_valid(secret, request.body, request.headers.get(SIGNATURE_HEADER, "")):
        return JsonResponse({"error": "bad signature"}, status=401)
    try:
        reply = json_load(request.body)
        message_id = int(reply["message_id"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "not a reply"}, status=400)
    logger.debug("demo integrator received reply %s on ticket %s", message_id, reply.get("ticket_id"))
    return JsonResponse({"id": f"demo-reply-{message_id}"})
