"""What a visitor session refuses at the door: deep or malformed JSON, and more new visitors than budgeted."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from channels_in.models import ChannelAccount
from channels_in.webchat.tests.conftest import SHOP
from tickets.models import Contact, Ticket

URL = "/widget/{key}/session"


def post_raw(client: Client, account: ChannelAccount, raw: bytes, **extra: str) -> object:
    return client.post(URL.format(key=account.key), raw, content_type="application/json", **extra)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            b'{"origin": "' + SHOP.encode() + b'", "identity": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            "deeper",
        ),
        (b'{"identity": ' + b'{"a":' * 40 + b"1" + b"}" * 40 + b"}", "deeper"),
        (b'{"origin": NaN}', "malformed JSON"),
        (b"\xff\xfe{", "malformed JSON"),
    ],
)
def test_deep_or_malformed_json_is_400_with_a_reason_and_no_secret(
    client: Client, webchat: ChannelAccount, raw: bytes, reason: str
) -> None:
    response = post_raw(client, webchat, raw)

    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert webchat.config["secret"] not in response.content.decode()


@pytest.mark.django_db
def test_an_oversize_session_body_is_413(client: Client, webchat: ChannelAccount, settings) -> None:  # type: ignore[no-untyped-def]
    settings.INBOUND_MAX_BYTES = 1024

    response = post_raw(client, webchat, json.dumps({"origin": SHOP, "name": "x" * 2000}).encode())

    assert response.status_code == 413
    assert not Contact.objects.exists() and not Ticket.objects.exists()
