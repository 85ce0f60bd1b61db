"""Outbound calls of the API channel: a signed POST of each agent reply to the integrator's callback."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from channels_in.signing import SIGNATURE_HEADER, body_signature
from tickets.channel_port import AdapterError, SendResult
from tickets.jsonload import json_load
from tickets.net import OutboundRefused, OutboundTooLarge, OutboundUnreachable, outbound_request

if TYPE_CHECKING:
    from channels_in.models import ChannelAccount
    from tickets.models import Message

_DEFAULT_TIMEOUT_SECONDS = 10.0
# The answer is only read for the id it names: a larger one is an error, not a reason to buffer it.
_ANSWER_MAX_BYTES = 1024 * 1024


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
        # A redirect is not followed: the signed body goes only to the URL the integrator configured.
        response = outbound_request(
            "POST",
            url,
            content=body,
            headers=headers,
            timeout=timeout,
            max_bytes=_ANSWER_MAX_BYTES,
            follow_redirects=False,
        )
    except OutboundRefused as refused:
        raise AdapterError(f"callback not allowed: {refused.reason}", permanent=True) from refused
    except OutboundTooLarge as error:
        raise AdapterError(f"callback answer too large: {error}") from error
    except OutboundUnreachable as error:
        raise AdapterError(f"callback unreachable: {type(error).__name__}") from error
    if response.status_code in (408, 425, 429) or response.status_code >= 500:
        raise AdapterError(f"callback answered {response.status_code}")
    if response.status_code >= 400:
        text = response.content[:200].decode("utf-8", "replace")
        raise AdapterError(f"callback refused the reply: {response.status_code} {text}", permanent=True)
    try:
        answer = json_load(response.content) if response.content else {}
        provider_id = str(answer.get("id") or "") if isinstance(answer, dict) else ""
    except ValueError:
        provider_id = ""
    if not provider_id:
        return SendResult(external_id=f"sportello-message-{message.pk}")
    # Inbound message ids and reply ids share one unique space per channel; an integrator whose reply
    # ids overlap its message ids would otherwise make a later customer message look like a duplicate.
    return SendResult(external_id=f"reply:{provider_id}"[:300], metadata={"callback_id": provider_id})
