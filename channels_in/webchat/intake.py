"""A visitor's message, from the socket or the upload view, recorded as an ``InboundEvent``.

The caller acknowledges the client id only after this returns: the event row is committed by then, and
the ingest task files it. The same client id sent again (a reconnect, a retry) finds the same row.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from channels_in.inbound import Recorded, inbound_event_record
from channels_in.models import ChannelAccount, InboundEvent
from channels_in.webchat.adapter import provider_message_id
from channels_in.webchat.schemas import AttachmentOut, VisitorEvent, WebchatConfig
from channels_in.webchat.tokens import Visitor
from tickets.client_address import address_group
from tickets.ratelimit import Budget, BudgetSpent, budget_take, budgets_take
from tickets.services.outgoing_attachments import CONTENT_SIGNATURES

MAX_TEXT = 10_000
# A visitor who has written is known as talking this long: later messages are not first messages.
TALKING_SECONDS = 24 * 3600


class IntakeRefused(Exception):
    def __init__(self, code: str, message: str, *, retry_after: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    content: bytes


def _budgets(name: str, account: ChannelAccount, client_address: str) -> list[tuple[Budget, str]]:
    """A budget per client address (an IPv6 /64 counts as one) and one per channel."""
    window = settings.WEBCHAT_BUDGET_WINDOW_SECONDS
    per_address = getattr(settings, f"WEBCHAT_{name.upper()}_PER_ADDRESS")
    per_channel = getattr(settings, f"WEBCHAT_{name.upper()}_PER_CHANNEL")
    return [
        (
            Budget(f"webchat-{name}-address", per_address, window),
            f"{account.pk}:{address_group(client_address)}",
        ),
        (Budget(f"webchat-{name}-channel", per_channel, window), str(account.pk)),
    ]


def new_visitor_admit(*, account: ChannelAccount, client_address: str) -> None:
    """A session for a new visitor: refused once the address or the channel has had its share."""
    try:
        budgets_take(*_budgets("sessions", account, client_address))
    except BudgetSpent as spent:
        raise IntakeRefused(
            "rate_limited", "Too many new chats from here; try again later.", retry_after=spent.retry_after
        ) from None


def _message_budget(config: WebchatConfig) -> Budget:
    # ``messages_per_minute`` on average, up to ten at once: ten (or fewer) per the time they take.
    burst = min(config.messages_per_minute, 10)
    return Budget("webchat-messages", burst, math.ceil(60 * burst / config.messages_per_minute))


def _first_message_admit(*, account: ChannelAccount, visitor: Visitor, client_address: str) -> str:
    """The key that marks the visitor as talking, once a first message may start a conversation."""
    marker = f"webchat-talking:{account.pk}:{visitor.visitor_id}"
    if cache.get(marker):
        return ""
    try:
        budgets_take(*_budgets("first_messages", account, client_address))
    except BudgetSpent as spent:
        raise IntakeRefused(
            "rate_limited",
            "Too many new conversations from here; try again later.",
            retry_after=spent.retry_after,
        ) from None
    return marker


def attachment_check(config: WebchatConfig, upload: Upload) -> None:
    if len(upload.content) > config.max_attachment_bytes:
        raise IntakeRefused(
            "attachment_too_large", f"Files are at most {config.max_attachment_bytes // 1024} KB."
        )
    if upload.content_type not in config.attachment_types:
        raise IntakeRefused("attachment_type", f"Files of type {upload.content_type[:60]} are not accepted.")
    # A declared image that is really HTML is refused: the same magic numbers as agents' uploads.
    signatures = CONTENT_SIGNATURES.get(upload.content_type)
    if signatures and not upload.content.startswith(signatures):
        raise IntakeRefused("attachment_type", "The file's content does not match its type.")
    if upload.content_type == "text/plain" and b"\x00" in upload.content[:4096]:
        raise IntakeRefused("attachment_type", "The file is not plain text.")


def visitor_message_record(
    *,
    account: ChannelAccount,
    config: WebchatConfig,
    visitor: Visitor,
    client_id: str,
    text: str,
    uploads: list[Upload] | None = None,
    client_address: str,
    answer_by_email: bool = False,
    user_agent: str = "",
) -> Recorded:
    """Check limits, then store the raw event (committed on return) and queue its ingest."""
    uploads = uploads or []
    if len(text) > MAX_TEXT:
        raise IntakeRefused("too_long", f"Messages are at most {MAX_TEXT} characters.")
    if not text.strip() and not uploads:
        raise IntakeRefused("empty", "Write something or attach a file.")
    for upload in uploads:
        attachment_check(config, upload)
    provider_id = provider_message_id(visitor.visitor_id, client_id)
    existing = InboundEvent.objects.filter(channel_account=account, provider_event_id=provider_id).first()
    if existing is not None:
        # A resend after a reconnect: already stored, so acknowledged again without spending budget.
        return Recorded(existing, created=False)
    if answer_by_email and not (visitor.email or visitor.verified_email):
        raise IntakeRefused("email_required", "Leave an email address to be answered by email.")
    try:
        budget_take(_message_budget(config), f"{account.pk}:{visitor.visitor_id}")
    except BudgetSpent as spent:
        raise IntakeRefused(
            "rate_limited", "You are sending messages too fast; wait a moment.", retry_after=spent.retry_after
        ) from None
    talking = _first_message_admit(account=account, visitor=visitor, client_address=client_address)
    body = VisitorEvent(
        visitor_id=visitor.visitor_id,
        client_id=client_id,
        text=text,
        name=visitor.name,
        email=visitor.email,
        verified=visitor.verified,
        verified_email=visitor.verified_email,
        origin=visitor.origin,
        answer_by_email=answer_by_email,
        sent_at=timezone.now(),
        attachments=[
            AttachmentOut(
                filename=upload.filename[:255] or "file",
                content_type=upload.content_type,
                content_base64=base64.b64encode(upload.content).decode(),
            )
            for upload in uploads
        ],
    )
    raw = json.dumps(body.model_dump(mode="json"), separators=(",", ":")).encode()
    if talking:
        cache.set(talking, True, timeout=TALKING_SECONDS)
    return inbound_event_record(
        account=account,
        body=raw,
        headers={"origin": visitor.origin, "user-agent": user_agent[:300]},
        content_type="application/json",
        provider_event_id=provider_id,
    )
