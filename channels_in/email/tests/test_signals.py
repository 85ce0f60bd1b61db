"""ESP inbound webhooks through Anymail's real views: they land on the same path as every mail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from django.test import Client

from channels_in.email.tests.conftest import make_mailbox
from channels_in.email.tests.mails import mail
from channels_in.models import ChannelAccount, InboundEvent
from tickets.models import Message

pytestmark = pytest.mark.django_db

AUTH = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"esp:hook-secret").decode()}


@pytest.fixture(autouse=True)
def _anymail(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    settings.EMAIL_INBOUND_ESPS = ["mailgun", "postmark"]
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": "esp:hook-secret",
        "MAILGUN_WEBHOOK_SIGNING_KEY": "mailgun-signing-key",
    }


def _mailgun_signed(fields: dict[str, str]) -> dict[str, str]:
    timestamp, token = str(int(time.time())), "a" * 50
    signature = hmac.new(b"mailgun-signing-key", f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {**fields, "timestamp": timestamp, "token": token, "signature": signature}


def test_mailgun_raw_mime_reaches_the_addressed_mailbox(
    client: Client, mailbox: ChannelAccount, django_capture_on_commit_callbacks: Any
) -> None:
    sales = make_mailbox(key="sales", address="sales@example.com")
    raw = mail(to="Vendite <sales@example.com>", message_id="<mg-1@example.com>")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/inbound/email/anymail/mailgun/inbound_mime/",
            _mailgun_signed({"body-mime": raw.decode(), "recipient": "sales@example.com"}),
            **AUTH,
        )

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert event.channel_account == sales
    assert event.provider_event_id == "mail:mg-1@example.com"
    assert event.headers["x-sportello-source"] == "anymail:Mailgun"
    message = Message.objects.get()
    assert message.channel_account == sales
    assert message.identity.value == "maria@example.com"


def test_mailgun_with_a_wrong_signature_stores_nothing(client: Client, mailbox: ChannelAccount) -> None:
    fields = _mailgun_signed({"body-mime": mail().decode()})
    fields["signature"] = "0" * 64

    response = client.post("/api/v1/inbound/email/anymail/mailgun/inbound_mime/", fields, **AUTH)

    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


def test_postmark_json_is_filed_like_any_mail(
    client: Client, mailbox: ChannelAccount, django_capture_on_commit_callbacks: Any
) -> None:
    payload = {
        "FromFull": {"Email": "luca@example.org", "Name": "Luca Bianchi"},
        "ToFull": [{"Email": "support@example.com", "Name": ""}],
        "Subject": "Reso",
        "TextBody": "Vorrei restituire le scarpe.",
        "HtmlBody": "<p>Vorrei restituire le <b>scarpe</b>.<script>x()</script></p>",
        "Headers": [{"Name": "Message-ID", "Value": "<pm-1@example.org>"}],
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "OriginalRecipient": "support@example.com",
        "Attachments": [
            {
                "Name": "scontrino.txt",
                "Content": base64.b64encode(b"42 EUR").decode(),
                "ContentType": "text/plain",
            }
        ],
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/inbound/email/anymail/postmark/inbound/",
            json.dumps(payload),
            content_type="application/json",
            **AUTH,
        )

    assert response.status_code == 200
    message = Message.objects.get()
    assert message.channel_account == mailbox
    assert message.external_id == "pm-1@example.org"
    assert message.ticket.subject == "Reso"
    assert message.text == "Vorrei restituire le scarpe."
    assert "<script" not in message.html and "<b>scarpe</b>" in message.html
    assert list(message.attachments.values_list("filename", flat=True)) == ["scontrino.txt"]


def test_webhook_without_the_secret_stores_nothing(client: Client, mailbox: ChannelAccount) -> None:
    response = client.post(
        "/api/v1/inbound/email/anymail/postmark/inbound/",
        json.dumps({"Subject": "x"}),
        content_type="application/json",
    )

    assert response.status_code == 401
    assert not InboundEvent.objects.exists()
