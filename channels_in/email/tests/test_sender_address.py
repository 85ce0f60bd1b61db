"""A sender address replies could never reach is repaired where that is unambiguous, refused otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from channels_in.email.addresses import email_address_valid, mailbox_repair
from channels_in.email.tests.mails import mail
from channels_in.email.tests.receiving import receive
from channels_in.models import ChannelAccount, InboundEvent
from tickets.models import ContactIdentity, Message


def _raw_from(header: str) -> bytes:
    """A mail whose From header is written exactly as given (EmailMessage would refuse or fold it)."""
    body = mail(sender="placeholder@example.com")
    return body.replace(b"From: placeholder@example.com", b"From: " + header.encode(), 1)


@pytest.mark.parametrize(
    "address",
    ["maria@example.com", "maria.rossi+ordini@mail.example.co.uk", "josé@example.com", "o'brien@example.ie"],
)
def test_deliverable_addresses_are_valid(address: str) -> None:
    assert email_address_valid(address)


@pytest.mark.parametrize(
    "address",
    [
        "Test test@example.com",
        '"Test test"@example.com',
        "<maria@example.com>",
        "maria@example..com",
        "maria@example",
        "maria@@example.com",
        "a,b@example.com",
        "maria@exa mple.com",
        "",
        "x" * 250 + "@example.com",
    ],
)
def test_undeliverable_addresses_are_not(address: str) -> None:
    assert not email_address_valid(address)


@pytest.mark.parametrize(
    ("header", "repaired"),
    [
        ("Test test@example.com", ("Test", "test@example.com")),
        ("Maria  Rossi maria@example.com", ("Maria Rossi", "maria@example.com")),
        ("Tést test@example.com", ("Tést", "test@example.com")),
        ("a@example.com b@example.com", None),
        ("Test test@example", None),
        ("Test <test@example.com", None),
        ("test@example.com Test", None),
        ("Test, Other test@example.com", None),
        ("test@example.com", None),
    ],
)
def test_a_display_name_without_brackets_is_repaired_only_when_unambiguous(
    header: str, repaired: tuple[str, str] | None
) -> None:
    assert mailbox_repair(header) == repaired


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "name"),
    [("Test test@example.com", "Test"), ("=?utf-8?q?T=C3=A9st?= test@example.com", "Tést")],
)
def test_a_sender_written_without_brackets_is_repaired_visibly(
    mailbox: ChannelAccount, django_capture_on_commit_callbacks: Any, header: str, name: str
) -> None:
    event = receive(mailbox, _raw_from(header), django_capture_on_commit_callbacks)

    assert event.state == InboundEvent.State.DONE, event.error
    message = Message.objects.get()
    assert message.identity.value == "test@example.com"
    assert message.ticket.contact.name == name
    assert message.metadata["email"]["sender_repaired"]["address"] == "test@example.com"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header", ["a@example.com b@example.com", "Test test@intranet", "maria@example..com"]
)
def test_a_sender_that_cannot_be_repaired_is_refused_with_the_reason(
    mailbox: ChannelAccount, django_capture_on_commit_callbacks: Any, header: str
) -> None:
    event = receive(mailbox, _raw_from(header), django_capture_on_commit_callbacks)

    assert event.state == InboundEvent.State.FAILED
    assert event.error.startswith("sender_invalid: ")
    assert not ContactIdentity.objects.exists()
    assert not Message.objects.exists()
