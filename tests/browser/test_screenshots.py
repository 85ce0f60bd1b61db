"""The main screens, filled with a realistic day, rendered in Chromium.

Run with ``SCREENSHOT_DIR`` set (``make screenshots``) to keep the images in ``docs/screenshots/``;
otherwise they go to a temporary folder and the test only checks that every screen renders cleanly.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from channels_in.models import ChannelAccount
from tests.fixtures.browser import customer_writes
from tickets.inbound import IdentityKind
from tickets.models import CannedResponse, Message, Team, Ticket
from tickets.services.messages import note_add
from tickets.services.tickets import ticket_update

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def a_busy_morning(alice: User, bob: User, billing: Team) -> Ticket:
    mail = ChannelAccount.objects.create(kind="email", name="support@", key="mail", default_team=billing)
    chat = ChannelAccount.objects.create(kind="webchat", name="Sito web", key="chat", default_team=billing)
    whatsapp = ChannelAccount.objects.create(kind="whatsapp", name="WhatsApp", key="wa", default_team=billing)
    people = [
        (
            mail,
            "giulia@example.com",
            "Giulia Conti",
            "Fattura di marzo doppia",
            "Mi avete addebitato due volte.",
        ),
        (chat, "v-81", "Luca Ferri", "", "Posso cambiare l'indirizzo di consegna?"),
        (whatsapp, "+393331112233", "Sara Galli", "", "Il codice sconto non funziona"),
        (mail, "marco@example.com", "Marco Russo", "Reso articolo 4471", "Vorrei restituire le scarpe."),
        (chat, "v-82", "Elena Moretti", "", "Quando arriva il mio ordine?"),
    ]
    kinds = {"email": IdentityKind.EMAIL, "webchat": IdentityKind.WEBCHAT, "whatsapp": IdentityKind.WHATSAPP}
    tickets = [
        customer_writes(account, text, name=name, subject=subject, identity=(kinds[account.kind], value))
        for account, value, name, subject, text in people
    ]
    ticket_update(ticket=tickets[0], actor=alice, priority=Ticket.Priority.URGENT, tags=["fatturazione"])
    ticket_update(ticket=tickets[2], actor=bob, assignee=bob, priority=Ticket.Priority.HIGH)
    ticket_update(ticket=tickets[3], actor=alice, assignee=alice, tags=["resi"])
    for hours, ticket in zip((5, 3, 1, 2, 0), tickets, strict=True):
        Ticket.objects.filter(pk=ticket.pk).update(
            awaiting_agent_since=timezone.now() - timedelta(hours=hours, minutes=7)
        )
    main = tickets[0]
    customer_writes(
        mail,
        "",
        name="Giulia Conti",
        identity=(IdentityKind.EMAIL, "giulia@example.com"),
        html="<p>Allego l'estratto conto: <b>due addebiti da 49,90 €</b>.</p>"
        "<blockquote>Il 3 marzo avete scritto: la fattura è stata emessa.</blockquote>",
    )
    note_add(ticket=main, author=alice, text="Controllato su Stripe: il secondo addebito è da rimborsare.")
    Message.objects.create(
        ticket=main,
        direction=Message.Direction.OUTBOUND,
        channel_account=mail,
        identity=main.messages.filter(direction="inbound").first().identity,
        author=alice,
        text="Ciao Giulia, ti rimborsiamo subito il secondo addebito.",
        status=Message.Status.FAILED,
        failure_reason="mailbox unavailable",
    )
    ticket_update(ticket=main, actor=alice, assignee=alice)
    CannedResponse.objects.create(
        title="Rimborso avviato",
        shortcut="rimborso",
        body="Ciao {{ contact.first_name }}, il rimborso è partito. {{ agent.first_name }}",
    )
    return main


def test_main_screens(
    browser_context: Any, page_as: Any, alice: User, bob: User, billing: Team, shots: Path
) -> None:
    main = a_busy_morning(alice, bob, billing)

    signed_out = browser_context.new_page()
    signed_out.goto("/login/")
    signed_out.screenshot(path=str(shots / "sign-in.png"))
    signed_out.close()

    page = page_as(alice)
    page.goto(f"/inbox/team/{billing.pk}/")
    assert page.locator("[data-ticket-row]").count() == 5
    page.keyboard.press("j")
    page.screenshot(path=str(shots / "inbox.png"), full_page=True)

    page.goto(f"/tickets/{main.pk}/")
    page.locator("[data-testid=composer-text]").click()
    page.keyboard.type("/rimborso")
    page.screenshot(path=str(shots / "ticket.png"), full_page=True)
    page.keyboard.press("Escape")

    page.keyboard.press("?")
    page.screenshot(path=str(shots / "shortcuts.png"))
    page.keyboard.press("Escape")

    page.click("[data-testid=language-it]")
    page.goto("/inbox/mine/")
    page.wait_for_selector("nav.views >> text=Miei")
    page.screenshot(path=str(shots / "inbox-it.png"), full_page=True)
    assert page.js_errors == []
