"""The demo's web-chat channel: embedded by ``/widget/demo/``, with two past chats already answered.

Idempotent like the rest of the demo: the channel is created when missing, each chat is keyed by its
first message's id and skipped when present.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from channels_in.models import ChannelAccount
from channels_in.webchat.adapter import provider_message_id
from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
from tickets.models import Ticket
from tickets.services.inbound_file import inbound_items_file
from tickets.services.messages import message_send_reply

if TYPE_CHECKING:
    from tickets.demo import DemoContext

DEMO_CHANNEL_KEY = "demo-chat"
DEMO_WIDGET_SECRET = "sportello-demo-widget-secret"
LINKS = [("Web-chat demo", "/widget/demo/")]

_CHATS: list[tuple[str, str, str, float, list[tuple[str, str]]]] = [
    # (visitor id, name, email, hours ago, [(who, text)])
    (
        "v-demo0000000000000000000000000001",
        "Elena Bassi",
        "elena.bassi@example.com",
        26,
        [
            ("in", "Buongiorno, posso cambiare l'indirizzo di consegna di un ordine già pagato?"),
            ("giulia", "Buongiorno Elena, sì: mi scriva il numero d'ordine e il nuovo indirizzo."),
            ("in", "Ordine 10482, via Garibaldi 12, Bologna. Grazie!"),
            ("giulia", "Fatto, l'indirizzo è aggiornato. Buona giornata!"),
        ],
    ),
    (
        "v-demo0000000000000000000000000002",
        "Tom Baker",
        "",
        3,
        [
            ("in", "Hi! Does the espresso machine ship to Switzerland?"),
            ("luca", "Hi Tom, yes: delivery to Switzerland takes 3 to 5 working days."),
        ],
    ),
]


def demo_config(context: DemoContext) -> dict[str, object]:
    from django.conf import settings

    mailbox = ChannelAccount.objects.filter(kind=ChannelAccount.Kind.EMAIL).order_by("pk").first()
    return {
        # The demo page is served by the help desk itself; a local shop page may embed it too.
        "allowed_origins": ["'self'", settings.PUBLIC_URL],
        "secret": DEMO_WIDGET_SECRET,
        "title": {"it": "Bottega Sportello", "en": "Bottega Sportello"},
        "greeting": {
            "it": "Ciao! Come possiamo aiutarti?",
            "en": "Hi! How can we help you?",
        },
        "launcher_text": {"it": "Scrivici", "en": "Chat with us"},
        "color": "#0b7a75",
        "position": "right",
        "prechat": {"name": "optional", "email": "optional"},
        "response_minutes": 5,
        "fallback_mailbox": mailbox.key if mailbox is not None else "",
    }


def demo_seed(context: DemoContext) -> None:
    from tickets.demo import TECH

    account, _ = ChannelAccount.objects.get_or_create(
        key=DEMO_CHANNEL_KEY,
        defaults={
            "kind": ChannelAccount.Kind.WEBCHAT,
            "name": "Chat del sito",
            "default_team": context.teams.get(TECH),
            "config": demo_config(context),
        },
    )
    for visitor_id, name, email, hours_ago, steps in _CHATS:
        first_id = provider_message_id(visitor_id, "demo-0001")
        if account.messages.filter(external_id=first_id).exists():
            continue
        started = timezone.now() - timedelta(hours=hours_ago)
        ticket = None
        count = 0
        for who, text in steps:
            if who == "in":
                count += 1
                others = [IdentityClaim(IdentityKind.EMAIL, email, verified=False)] if email else []
                inbound = InboundMessage(
                    channel_account_id=account.pk,
                    external_id=provider_message_id(visitor_id, f"demo-{count:04d}"),
                    sender=IdentityClaim(IdentityKind.WEBCHAT, visitor_id),
                    sender_name=name,
                    other_identities=others,
                    text=text,
                    sent_at=started if count == 1 else None,
                )
                (filed,) = inbound_items_file(items=[(inbound, account)])
                assert filed.ticket_id is not None, filed.reason
                ticket = Ticket.objects.get(pk=filed.ticket_id)
            elif ticket is not None:
                author = context.agents.get(who, context.supervisor)
                message_send_reply(ticket=ticket, author=author, text=text)
