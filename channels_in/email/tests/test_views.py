from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.test import Client

from channels_in.email.tests.mails import corpus, mail
from channels_in.models import ChannelAccount, InboundEvent
from tickets.models import Attachment, Message, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def post(client: Client, account: ChannelAccount, raw: bytes, **extra: Any):  # type: ignore[no-untyped-def]
    headers = {"HTTP_AUTHORIZATION": "Bearer pipe-token", **extra}
    return client.post(
        f"/api/v1/inbound/email/{account.key}/raw", raw, content_type="message/rfc822", **headers
    )


def test_raw_mail_is_stored_then_filed(
    client: Client, mailbox: ChannelAccount, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    raw = corpus("chatwoot/html_and_attachments.eml")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, mailbox, raw)

    assert response.status_code == 202, response.content
    event = InboundEvent.objects.get()
    assert bytes(event.body) == raw  # the raw message is kept for audit and re-processing
    assert event.state == InboundEvent.State.DONE
    message = Message.objects.get()
    assert message.channel_account == mailbox
    assert message.identity.value == "tejaswini@example.com"
    assert message.ticket.subject == "attachment with html"
    assert message.ticket.team == mailbox.default_team
    assert message.metadata["inbound_event_id"] == event.pk
    attachment = Attachment.objects.get(message=message)
    stored = attachment.file.read()
    assert attachment.size == len(stored)
    assert attachment.sha256 == hashlib.sha256(stored).hexdigest()


def test_same_mail_twice_is_one_event_and_one_message(
    client: Client, mailbox: ChannelAccount, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    raw = mail()
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, mailbox, raw)
        again = post(client, mailbox, raw)

    assert (first.json()["status"], again.json()["status"]) == ("accepted", "duplicate")
    assert InboundEvent.objects.count() == 1
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    ("headers", "content_type", "status"),
    [
        ({}, "message/rfc822", 401),
        ({"HTTP_AUTHORIZATION": "Bearer wrong"}, "message/rfc822", 401),
        ({"HTTP_AUTHORIZATION": "Bearer pipe-token"}, "application/json", 415),
    ],
)
def test_refused_requests_store_nothing(
    client: Client, mailbox: ChannelAccount, headers: dict[str, str], content_type: str, status: int
) -> None:
    response = client.post(
        f"/api/v1/inbound/email/{mailbox.key}/raw", mail(), content_type=content_type, **headers
    )

    assert response.status_code == status
    assert response.json()["error"]
    assert not InboundEvent.objects.exists()


def test_empty_body_is_400(client: Client, mailbox: ChannelAccount) -> None:
    response = post(client, mailbox, b"")

    assert response.status_code == 400
    assert response.json() == {"error": "empty message"}


def test_unknown_mailbox_is_404(client: Client, mailbox: ChannelAccount) -> None:
    response = client.post("/api/v1/inbound/email/nope/raw", mail(), content_type="message/rfc822")

    assert response.status_code == 404


def test_50_mb_mail_is_refused_with_the_reason(client: Client, mailbox: ChannelAccount) -> None:
    huge = mail() + b"x" * (50 * 1024 * 1024)

    response = post(client, mailbox, huge)

    assert response.status_code == 413
    assert "limit" in response.json()["error"]
    assert not InboundEvent.objects.exists()


def test_mail_without_sender_is_stored_failed_with_reason_and_replayable(
    client: Client,
    mailbox: ChannelAccount,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post(client, mailbox, b"Subject: who?\r\nMessage-ID: <nobody@example.com>\r\n\r\nno sender\r\n")

    event = InboundEvent.objects.get()
    assert event.state == InboundEvent.State.FAILED
    assert "no sender address" in event.error
    assert not Ticket.objects.exists()


def test_failed_mail_can_be_processed_again_once_the_cause_is_fixed(
    billing: Any,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    from channels_in.email.tests.conftest import make_mailbox
    from channels_in.email.tests.receiving import receive
    from channels_in.inbound import inbound_event_replay

    broken = make_mailbox(team=billing, address="not an address")
    event = receive(broken, mail(), django_capture_on_commit_callbacks)
    assert event.state == InboundEvent.State.FAILED
    assert "address" in event.error

    broken.config["address"] = "support@example.com"
    broken.save(update_fields=["config"])
    with django_capture_on_commit_callbacks(execute=True):
        inbound_event_replay(event=event)

    event.refresh_from_db()
    assert event.state == InboundEvent.State.DONE
    assert Message.objects.get().channel_account == broken
