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


def new_session(
    client: Client, account: ChannelAccount, address: str = "203.0.113.7", **body: object
) -> object:
    body.setdefault("origin", SHOP)
    return client.post(
        URL.format(key=account.key), json.dumps(body), content_type="application/json", REMOTE_ADDR=address
    )


@pytest.mark.django_db
def test_the_26th_new_visitor_from_one_address_is_429_and_another_address_is_served(
    client: Client, webchat: ChannelAccount
) -> None:
    tokens = [new_session(client, webchat).json()["token"] for _ in range(25)]

    refused = new_session(client, webchat, name="Mallory")
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    # At most the rest of this window plus the moment the next one lets a 25th through (1/25 of it).
    assert 1 <= int(refused["Retry-After"]) <= 600 + 600 // 25
    assert new_session(client, webchat, address="198.51.100.9").status_code == 200
    # A visitor who already has a session keeps it: resuming is not a new visitor.
    assert new_session(client, webchat, token=tokens[0]).status_code == 200
    assert not Contact.objects.exists() and not Ticket.objects.exists()


@pytest.mark.django_db
def test_one_ipv6_network_shares_one_budget(client: Client, webchat: ChannelAccount, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBCHAT_SESSIONS_PER_ADDRESS = 3
    for host in range(3):
        assert new_session(client, webchat, address=f"2001:db8:1:2::{host + 1}").status_code == 200

    assert new_session(client, webchat, address="2001:db8:1:2:ffff::1").status_code == 429
    assert new_session(client, webchat, address="2001:db8:1:3::1").status_code == 200


@pytest.mark.django_db
def test_a_channel_has_its_own_budget_of_new_visitors(
    client: Client, webchat: ChannelAccount, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.WEBCHAT_SESSIONS_PER_CHANNEL = 4
    for number in range(4):
        assert new_session(client, webchat, address=f"192.0.2.{number + 1}").status_code == 200

    assert new_session(client, webchat, address="192.0.2.200").status_code == 429


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("trusted", "forwarded", "counted_as"),
    [
        (0, "198.51.100.1", "203.0.113.7"),  # no proxy trusted: the header is the client's own words
        (1, "198.51.100.1", "198.51.100.1"),
        (1, "10.9.9.9, 198.51.100.1", "198.51.100.1"),  # what the client wrote itself is ignored
        (2, "198.51.100.1, 10.0.0.2", "198.51.100.1"),
        (2, "10.0.0.2", "203.0.113.7"),  # fewer hops than proxies: not what our proxies wrote
    ],
)
def test_the_client_address_comes_from_trusted_proxies_only(
    client: Client, webchat: ChannelAccount, settings, trusted: int, forwarded: str, counted_as: str
) -> None:  # type: ignore[no-untyped-def]
    settings.TRUSTED_PROXY_COUNT = trusted
    settings.WEBCHAT_SESSIONS_PER_ADDRESS = 1
    first = client.post(
        URL.format(key=webchat.key),
        json.dumps({"origin": SHOP}),
        content_type="application/json",
        REMOTE_ADDR="203.0.113.7",
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    assert first.status_code == 200

    assert new_session(client, webchat, address=counted_as).status_code == 429
