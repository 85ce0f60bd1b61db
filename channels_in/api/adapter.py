"""Generic API channel: any system posts customer messages; agent replies go to its callback URL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from channels_in.api import client
from channels_in.api.schemas import payload_parse
from channels_in.base import AdapterDefaults, RoutedEvent
from tickets.channel_port import SendResult
from tickets.inbound import IdentityClaim, IdentityKind, InboundAttachment, InboundMessage
from tickets.sanitize import html_sanitize

if TYPE_CHECKING:
    from django.http import HttpRequest

    from channels_in.models import ChannelAccount, InboundEvent
    from tickets.models import Message


def api_identity_value(account_id: int, sender_id: str) -> str:
    # Sender ids are the integrator's own, so they are unique only within one API channel.
    return f"{account_id}:{sender_id}"


class ApiAdapter(AdapterDefaults):
    kind = "api"

    def route(self, request: HttpRequest) -> list[RoutedEvent]:
        from channels_in.api.views import request_route

        return request_route(request)

    def parse(self, event: InboundEvent) -> list[InboundMessage]:
        payload = payload_parse(bytes(event.body))
        account = event.channel_account
        trusted = bool(account.config.get("trust_identities", False))
        others = []
        if payload.sender.email:
            others.append(IdentityClaim(IdentityKind.EMAIL, payload.sender.email, verified=trusted))
        if payload.sender.phone:
            others.append(IdentityClaim(IdentityKind.PHONE, payload.sender.phone, verified=trusted))
        return [
            InboundMessage(
                channel_account_id=account.pk,
                external_id=payload.message_id,
                sender=IdentityClaim(
                    IdentityKind.API, api_identity_value(account.pk, payload.sender.id), verified=True
                ),
                sender_name=payload.sender.name,
                other_identities=others,
                text=payload.text,
                # Stored HTML must already be safe: every later reader (UI, API, exports) trusts it.
                html=html_sanitize(payload.html),
                subject=payload.subject,
                sent_at=payload.sent_at,
                attachments=[
                    InboundAttachment(
                        filename=item.filename,
                        content_type=item.content_type,
                        content=item.content(),
                        url=str(item.url) if item.url else "",
                    )
                    for item in payload.attachments
                ],
            )
        ]

    def send(self, *, account: ChannelAccount, message: Message) -> SendResult:
        return client.reply_post(account=account, message=message)
