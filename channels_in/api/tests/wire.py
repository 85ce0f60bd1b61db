"""Speaking the API channel's wire format in tests, the way an integrator would."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.http import HttpResponse
from django.test.client import Client as ClientType

from channels_in.models import ChannelAccount
from channels_in.signing import body_signature


def inbound_url(account: ChannelAccount) -> str:
    return f"/api/v1/inbound/{account.key}/messages"


def payload(message_id: str = "msg-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": message_id,
        "sender": {"id": "cust-42", "name": "Giulia Neri", "email": "giulia@example.com"},
        "text": "Il pacco è arrivato rotto",
    }
    body.update(overrides)
    return body


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def post(
    client: ClientType,
    account: ChannelAccount,
    body: dict[str, Any] | bytes,
    *,
    auth: str = "bearer",
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent_headers = dict(headers or {})
    if auth == "bearer":
        sent_headers["Authorization"] = f"Bearer {account.config['token']}"
    elif auth == "signature":
        sent_headers["X-Sportello-Signature"] = body_signature(account.config["secret"], raw)
    return client.post(inbound_url(account), data=raw, content_type="application/json", headers=sent_headers)
