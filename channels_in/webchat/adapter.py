"""Web-chat widget: visitor messages arrive over the widget socket, agent replies go back over it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from channels_in.base import AdapterDefaults, RoutedEvent
from channels_in.http import RequestRejected
from channels_in.webchat.schemas import visitor_event_parse
from tickets import events
from tickets.channel_port import AdapterError, Audience, SendResult
from tickets.inbound import IdentityClaim, IdentityKind, InboundAttachment, InboundMessage

if TYPE_CHECKING:
    from django.http import HttpRequest

    from channels_in.models import ChannelAccount, InboundEvent
    from tickets.models import Message

# The live event that tells a visitor's widgets a reply has left the help desk.
MESSAGE_SENT = "message.sent"


def provider_message_id(visitor_id: str, client_id: str) -> str:
    # Client ids are chosen by browsers: scoped to the visitor, one visitor cannot collide with another.
    return f"{visitor_id}:{client_id}"


def client_id_of(external_id: str | None) -> str:
    return (external_id or "").partition(":")[2]


class WebchatAdapter(AdapterDefaults):
    kind = "webchat"
    # The visitor watches the conversation live in the widget: customer-facing messages to and from
    # their web-chat identity reach it, notes never do.
    audience = Audience(identity_kind=IdentityKind.WEBCHAT)

    def route(self, request: HttpRequest) -> list[RoutedEvent]:
        # Visitor messages arrive over the widget's socket and upload view (intake.py), not a webhook.
        raise RequestRejected(404, "web chat has no webhook")

    def parse(self, event: InboundEvent) -> list[InboundMessage]:
        body = visitor_event_parse(bytes(event.body))
        account = event.channel_account
        others = []
        if body.verified_email:
            others.append(IdentityClaim(IdentityKind.EMAIL, body.verified_email, verified=True))
        elif body.email:
            # Typed into a form: it links the conversation for agents, it proves nothing.
            others.append(IdentityClaim(IdentityKind.EMAIL, body.email, verified=False))
        return [
            InboundMessage(
                channel_account_id=account.pk,
                external_id=provider_message_id(body.visitor_id, body.client_id),
                sender=IdentityClaim(IdentityKind.WEBCHAT, body.visitor_id, verified=body.verified),
                sender_name=body.name,
                other_identities=others,
                text=body.text,
                sent_at=body.sent_at,
                attachments=[
                    InboundAttachment(
                        filename=item.filename, content_type=item.content_type, content=item.content()
                    )
                    for item in body.attachments
                ],
                metadata={"origin": body.origin, "answer_by_email": body.answer_by_email},
            )
        ]

    def send(self, *, account: ChannelAccount, message: Message) -> SendResult:
        identity = message.identity
        if identity is None or identity.kind != IdentityKind.WEBCHAT:
            raise AdapterError("a web-chat reply needs the visitor it answers", permanent=True)
        if not account.active:
            raise AdapterError("the web-chat channel is switched off", permanent=True)
        # The reply is stored; the visitor's open widgets are told now, the others catch up on connect.
        events.publish_on_commit(
            groups=[events.visitor_group(identity.value)],
            event={"type": MESSAGE_SENT, "ticket_id": message.ticket_id, "data": {"id": message.pk}},
        )
        return SendResult(external_id=f"reply-{message.pk}")
