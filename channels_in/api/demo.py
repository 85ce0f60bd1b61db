"""Demo part of the API channel: the channel the demo's conversations arrive on, and a stand-in
integrator that receives the replies sent on it (served in embedded/DEBUG mode)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from channels_in.api.adapter import api_identity_value
from channels_in.models import ChannelAccount
from channels_in.signing import SIGNATURE_HEADER, signature_valid
from tickets.demo_conversations import Customer
from tickets.inbound import IdentityClaim, IdentityKind
from tickets.jsonload import json_load
from tickets.models import Team

logger = logging.getLogger(__name__)

# The documented demo credentials (README, docs/operations.md, the banner of ``manage.py serve``).
API_CHANNEL_KEY = "demo"
API_CHANNEL_TOKEN = "sportello-demo-channel-token"
API_CHANNEL_SECRET = "sportello-demo-channel-secret"
INTEGRATOR_PATH = "/demo/integrator/replies"


def api_channel_ensure(*, team: Team) -> ChannelAccount:
    """The demo API channel, created where missing; its replies go to the stand-in integrator."""
    channel, _ = ChannelAccount.objects.get_or_create(
        key=API_CHANNEL_KEY,
        defaults={
            "kind": ChannelAccount.Kind.API,
            "name": "Sito web (API)",
            "default_team": team,
            "config": {
                "token": API_CHANNEL_TOKEN,
                "secret": API_CHANNEL_SECRET,
                "callback_url": settings.PUBLIC_URL + INTEGRATOR_PATH,
                # The demo integrator vouches for its customers' email addresses.
                "trust_identities": True,
            },
        },
    )
    return channel


def api_channel_get() -> ChannelAccount | None:
    return ChannelAccount.objects.filter(key=API_CHANNEL_KEY).first()


def customer_claim(channel: ChannelAccount, customer: Customer) -> IdentityClaim:
    """How the integrator names one of the demo's customers on ``channel``."""
    return IdentityClaim(IdentityKind.API, api_identity_value(channel.pk, customer.sender_id), verified=True)


@csrf_exempt
@require_POST
def integrator_reply(request: HttpRequest) -> JsonResponse:
    """The demo channel's integrator: checks the reply's signature and acknowledges it with an id."""
    channel = api_channel_get()
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
