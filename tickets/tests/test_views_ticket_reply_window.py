"""The composer asks each channel's reply window (through the port) and says when it has closed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone, translation

from channels_in.models import ChannelAccount
from tests.fixtures.browser import customer_writes
from tests.fixtures.channels import make_test_account
from tickets.inbound import IdentityKind
from tickets.models import AgentProfile, Message, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_channels")]


def signed_in(client: Client, user: User, language: str) -> Client:
    AgentProfile.objects.filter(user=user).update(ui_language=language)
    client.force_login(user)
    return client


def windowed_ticket(billing: object, *, hours_ago: float) -> tuple[Ticket, ChannelAccount]:
    account = make_test_account("windowed", "page-1")
    ChannelAccount.objects.filter(pk=account.pk).update(default_team=billing)
    ticket = customer_writes(account, "hello?", identity=(IdentityKind.API, f"{account.pk}:maria"))
    Message.objects.filter(ticket=ticket).update(sent_at=timezone.now() - timedelta(hours=hours_ago))
    return ticket, account


def test_a_closed_window_says_so_offers_the_alternative_and_refuses_the_reply(
    client: Client, alice: User, billing: object
) -> None:
    ticket, account = windowed_ticket(billing, hours_ago=30)
    page = signed_in(client, alice, "en").get(f"/tickets/{ticket.pk}/").content.decode()

    assert 'data-window="closed"' in page
    assert f'data-reply-window-closed="{account.pk}" data-offer="template"' in page
    assert "only an approved message template can be sent until the customer writes again" in page
    assert "Write an internal note instead" in page
    assert 'data-testid="send" disabled' in page

    answer = client.post(f"/tickets/{ticket.pk}/reply/", {"text": "late answer"}, follow=True)
    assert "The reply window on this channel has closed" in answer.content.decode()
    assert not ticket.messages.filter(direction=Message.Direction.OUTBOUND).exists()
    # A note is still welcome.
    client.post(f"/tickets/{ticket.pk}/reply/", {"text": "ask for a template", "mode": "note"})
    assert ticket.messages.filter(direction=Message.Direction.NOTE).count() == 1


def test_the_closed_window_is_told_in_italian(client: Client, alice: User, billing: object) -> None:
    ticket, _ = windowed_ticket(billing, hours_ago=30)
    page = signed_in(client, alice, "it").get(f"/tickets/{ticket.pk}/").content.decode()

    assert "La finestra di risposta su questo canale si è chiusa" in page
    assert "Scrivi invece una nota interna" in page


def test_an_open_window_leaves_the_composer_as_it_is(client: Client, alice: User, billing: object) -> None:
    ticket, _ = windowed_ticket(billing, hours_ago=2)
    page = signed_in(client, alice, "en").get(f"/tickets/{ticket.pk}/").content.decode()

    assert 'data-window="open"' in page
    assert "reply-window-closed" not in page
    assert 'data-testid="send">' in page
    client.post(f"/tickets/{ticket.pk}/reply/", {"text": "in time"})
    assert ticket.messages.filter(direction=Message.Direction.OUTBOUND, text="in time").exists()


def test_channels_we_ship_are_always_open(client: Client, alice: User, api_channel: ChannelAccount) -> None:
    ticket = customer_writes(api_channel, "old question")
    Message.objects.filter(ticket=ticket).update(sent_at=timezone.now() - timedelta(days=400))
    page = signed_in(client, alice, "en").get(f"/tickets/{ticket.pk}/").content.decode()

    assert 'data-window="open"' in page and "reply-window-closed" not in page


def test_the_api_refuses_a_reply_outside_the_window_naming_the_channel(alice: User, billing: object) -> None:
    from tickets.tests.api_support import client_for

    ticket, account = windowed_ticket(billing, hours_ago=30)
    with translation.override("en"):
        answer = client_for(alice).post(
            f"/api/v1/tickets/{ticket.pk}/reply",
            {"text": "late", "channel": account.pk},
            format="json",
            headers={"Accept-Language": "en"},
        )
    assert answer.status_code == 400
    assert "reply window on this channel has closed" in answer.json()["channel"][0]
    assert not ticket.messages.filter(direction=Message.Direction.OUTBOUND).exists()
