"""Outbound calls of the API channel: a signed POST of each agent reply to the integrator's callback."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import httpx

from channels_in.base import AdapterError, SendResult
from channels_in.signing import SIGNATURE_HEADER, body_signature
from tickets.jsonload import json_load

if TYPE_CHECKING:
    from channels_in.models import ChannelAccount
    from tickets.models import Message

_DEFAULT_TIMEOUT_SECONDS = 10.0


def _attachments(message: Message) -> list[dict[str, Any]]:
    """Each stored file inline (base64): the signature covers it and the integrator needs no login."""
    files = []
    for attachment in message.attachments.all().order_by("pk"):
        if not attachment.file:
            continue
        with attachment.file.open("rb") as handle:
            content = handle.read()
        files.append(
            {
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "size": len(content),
                "sha256": attachment.sha256,
                "content_base64": base64.b64encode(content).decode("ascii"),
            }
        )
    return files


def reply_body(message: Message) -> bytes:
    recipient = message.identity.value.split(":", 1)[-1] if message.identity else ""
    author = message.author
    return json.dumps(
        {
            "event": "message.created",
            "message_id": message.pk,
            "ticket_id": message.ticket_id,
            "recipient": {"id": recipient},
            "text": message.text,
            "html": message.html,
            "author": {"name": author.get_full_name() if author else ""},
            "sent_at": message.sent_at.isoformat(),
            "attachments": _attachments(message),
        },
        separators=(",", ":"),
    ).encode()


def reply_post(*, account: ChannelAccount, message: Message) -> SendResult:
    url = account.config.get("callback_url", "")
    if not url:
        raise AdapterError("this API channel has no callback URL configured", permanent=True)
    body = reply_body(message)
    timeout = float(account.config.get("callback_timeout", _DEFAULT_TIMEOUT_SECONDS))
    headers = {"Content-Type": "application/json", "Idempotency-Key": f"sportello-message-{message.pk}"}
    secret = account.config.get("secret", "")
    if secret:
        # Without a secret a signature would prove nothing, so none is sent.
        headers[SIGNATURE_HEADER] = body_signature(secret, body)
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as error:
        raise AdapterError(f"callback unreachable: {type(error).__name__}") from error
    if response.status_code in (408, 425, 429) or response.status_code >= 500:
        raise AdapterError(f"callback answered {response.status_code}")
    if response.status_code >= 400:
        raise AdapterError(
            f"callback refused the reply: {response.status_code} {response.text[:200]}", permanent=True
        )
    try:
        provider_id = str(json_load(response.content).get("id") or "") if response.content else ""
    except (ValueError, AttributeError):
        provider_id = ""
    if not provider_id:
        return SendResult(external_id=f"sportello-message-{message.pk}")
    # Inbound message ids and reply ids share one unique space per channel; an integrator whose reply
    # ids overlap its message ids would otherwise make a later customer message look like a duplicate.
    return SendResult(external_id=f"reply:{provider_id}"[:300], metadata={"callback_id": provider_id})
