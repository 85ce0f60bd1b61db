"""Widget features in Chromium against a real server: JS API, verified identity across devices, typing,
attachments, pre-chat form, answering by email when nobody is available, and a tampered token.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from channels_in.models import ChannelAccount
from channels_in.webchat.tests.conftest import make_webchat_channel
from channels_in.webchat.tokens import identity_hash
from tests.widget.conftest import CustomerSite, HelpDesk, wait_for
from tests.widget.test_widget_browser import (
    SLOW_MS,
    agent,  # noqa: F401 - a fixture used below
    agent_online,
    agent_replies,
    filed,
    new_page,
    open_chat,
    send,
    shop,
    widget,
)
from tickets.inbound import IdentityKind
from tickets.models import Attachment, ContactIdentity, Message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5d1b1e90000000049454e44ae426082"
)


@pytest.fixture
def channel(agent: Any, customer_site: CustomerSite) -> ChannelAccount:  # noqa: F811 - the fixture above
    return make_webchat_channel(team=agent[2], allowed_origins=[customer_site.origin])


def test_js_api_identify_gives_a_verified_visitor_their_history_on_another_device(  # type: ignore[no-untyped-def]
    chromium,
    running: HelpDesk,
    customer_site: CustomerSite,
    channel: ChannelAccount,
    agent,  # noqa: F811
) -> None:
    signed = identity_hash(channel.config["secret"], user_id="cust-9", email="maria@example.com")
    # The stub a site may put before the tag, so calls made before the loader arrives are queued.
    identify = (
        "<script>window.Sportello = {q: []}; ['identify', 'open'].forEach(function (n) {"
        " Sportello[n] = function () { Sportello.q.push([n, arguments]); }; });"
        " Sportello.identify({user_id: 'cust-9', email: 'maria@example.com', name: 'Maria',"
        f" user_hash: '{signed}'}}); Sportello.open();</script>"
    )
    url = customer_site.page(
        "/account", script_src=f"{running.url}/static/widget/widget.js", key=channel.key, extra=identify
    )
    laptop = new_page(chromium)
    laptop.goto(url)
    chat = widget(laptop)
    expect(chat.locator("[role=dialog]")).to_be_visible(timeout=SLOW_MS)
    expect(chat.locator(".connection")).to_have_attribute("data-state", "online", timeout=SLOW_MS)
    wait_for(lambda: chat.locator("body").evaluate("() => !!localStorage.length"), what="the session")
    send(chat, "signed in on my laptop")
    message = filed("signed in on my laptop")
    assert message.identity.verified and message.identity.value.startswith("u-")
    assert ContactIdentity.objects.get(kind=IdentityKind.EMAIL, value="maria@example.com").verified

    phone = new_page(chromium, viewport={"width": 390, "height": 844})
    phone.goto(url)
    expect(widget(phone).locator(".msg .text")).to_have_text(["signed in on my laptop"], timeout=SLOW_MS)

    forged = customer_site.page(
        "/forged",
        script_src=f"{running.url}/static/widget/widget.js",
        key=channel.key,
        extra=identify.replace(signed, "0" * 64),
    )
    stranger = new_page(chromium)
    stranger.goto(forged)
    notice = widget(stranger).locator(".notice")
    expect(notice).to_have_text("the identity hash does not match", timeout=SLOW_MS)
    expect(widget(stranger).locator(".msg")).to_have_count(0)


def test_typing_and_an_image_attachment(  # type: ignore[no-untyped-def]
    chromium,
    running: HelpDesk,
    customer_site: CustomerSite,
    channel: ChannelAccount,
    agent,  # noqa: F811
    tmp_path,
) -> None:
    agent_page = agent_online(chromium, running, agent[0])
    page = new_page(chromium)
    page.goto(shop(customer_site, running, channel))
    chat = open_chat(page)
    photo = tmp_path / "scontrino.png"
    photo.write_bytes(PNG)
    chat.locator("#composer-text").fill("here is the receipt")
    chat.locator("#composer-file").set_input_files(str(photo))
    expect(chat.locator(".msg.mine:not(.pending) img")).to_have_attribute(
        "src", re.compile(r"/widget/.+/files/"), timeout=SLOW_MS
    )
    stored = Attachment.objects.get()
    assert (stored.filename, stored.content_type, stored.message.text) == (
        "scontrino.png",
        "image/png",
        "here is the receipt",
    )
    big = tmp_path / "huge.png"
    big.write_bytes(PNG + b"\0" * (channel.config.get("max_attachment_bytes", 5 * 1024 * 1024) + 1))
    chat.locator("#composer-file").set_input_files(str(big))
    expect(chat.locator(".notice")).to_contain_text("too large")

    ticket_id = stored.message.ticket_id
    agent_page.evaluate(
        """(ticketId) => new Promise((resolve) => {
             agentSocket.onmessage = (event) => {
               if (JSON.parse(event.data).type === "subscribed") {
                 agentSocket.send(JSON.stringify({type: "typing", ticket_id: ticketId, state: true}));
                 resolve(true);
               }
             };
             agentSocket.send(JSON.stringify({type: "subscribe", ticket_id: ticketId}));
           })""",
        ticket_id,
    )
    expect(chat.locator(".typing")).to_be_visible(timeout=SLOW_MS)
    agent_replies(running, agent[1], ticket_id, "got it, thanks")
    expect(chat.locator(".msg.theirs .text")).to_have_text(["got it, thanks"], timeout=SLOW_MS)
    expect(chat.locator(".typing")).to_be_hidden()


def test_prechat_then_nobody_available_leaves_a_message_to_answer_by_email(  # type: ignore[no-untyped-def]
    chromium,
    running: HelpDesk,
    customer_site: CustomerSite,
    agent,  # noqa: F811
    smtp_server,
) -> None:
    mailbox = ChannelAccount.objects.create(
        kind=ChannelAccount.Kind.EMAIL,
        name="Support",
        key="mailbox-1",
        config={
            "address": "support@example.com",
            "smtp": {"host": smtp_server.host, "port": smtp_server.port, "security": "none"},
        },
    )
    account = make_webchat_channel(
        team=agent[2],
        allowed_origins=[customer_site.origin],
        prechat={"name": "required", "email": "optional"},
        fallback_mailbox=mailbox.key,
        # Never open: nobody is available, whoever is online.
        hours=[{"days": [0], "start": "00:00", "end": "00:01"}],
    )
    page = new_page(chromium)
    page.goto(shop(customer_site, running, account))
    chat = open_chat(page)
    form = chat.locator("form.prechat")
    expect(form).to_be_visible()
    expect(chat.locator("form.composer")).to_be_hidden()
    form.locator("button").click()
    expect(chat.locator("form.composer")).to_be_hidden()  # the name is required
    chat.locator("#prechat-name").fill("Giulia Neri")
    form.locator("button").click()
    expect(chat.locator("form.composer")).to_be_visible()

    expect(chat.locator(".availability")).to_have_text("Nobody is available right now.")
    expect(chat.locator(".away-text")).to_contain_text("we will answer you by email")
    send(chat, "Please call me back about order 1042")
    expect(chat.locator(".notice")).to_have_text("Please give an email address so we can answer you.")
    chat.locator("#away-email").fill("giulia@example.com")
    chat.locator("#composer-text").press("Enter")
    expect(chat.locator(".msg.mine .status")).to_have_text(["Sent"], timeout=SLOW_MS)

    message = filed("Please call me back about order 1042")
    assert message.metadata["answer_by_email"] is True
    assert message.ticket.contact.name == "Giulia Neri"
    email = ContactIdentity.objects.get(kind=IdentityKind.EMAIL, value="giulia@example.com")
    assert (email.contact_id, email.verified) == (message.ticket.contact_id, False)

    # The agent answers by email; the ticket continues on the mailbox.
    response = httpx.post(
        f"{running.url}/api/v1/tickets/{message.ticket_id}/reply",
        json={"text": "We will call you tomorrow morning.", "channel": mailbox.pk},
        headers={"Authorization": f"Token {agent[1]}"},
        timeout=15,
    )
    assert response.status_code == 201, response.text
    mail = smtp_server.wait_for(1, timeout=30)[0]
    assert mail.recipients == ["giulia@example.com"]
    assert "We will call you tomorrow morning." in mail.data.decode(errors="replace")
    reply = wait_for(
        lambda: Message.objects.filter(channel_account=mailbox, status=Message.Status.SENT).first(),
        what="the email reply sent",
    )
    assert reply.ticket_id == message.ticket_id


def test_a_tampered_token_starts_over_with_a_clear_notice(  # type: ignore[no-untyped-def]
    chromium, running: HelpDesk, customer_site: CustomerSite, channel: ChannelAccount
) -> None:
    page = new_page(chromium)
    page.goto(shop(customer_site, running, channel))
    chat = open_chat(page)
    send(chat, "first conversation")
    filed("first conversation")
    frame = next(f for f in page.frames if "/frame/" in f.url)
    frame.evaluate(
        """(name) => localStorage.setItem(
             name, JSON.stringify(JSON.parse(localStorage.getItem(name)).slice(0, -6) + "AAAAAA"))""",
        f"sportello:{channel.key}:token",
    )
    page.reload()
    chat = open_chat(page)
    expect(chat.locator(".notice")).to_contain_text("new conversation was started")
    expect(chat.locator(".msg")).to_have_count(0)
    assert Message.objects.count() == 1


def test_the_demo_page_served_by_the_help_desk_embeds_a_working_chat(  # type: ignore[no-untyped-def]
    chromium, running: HelpDesk
) -> None:
    from django.db import connections

    from channels_in.demo import demo_seed
    from channels_in.webchat.demo import DEMO_CHANNEL_KEY

    # Seeded off this thread: Playwright keeps an event loop on it, where live publishing cannot run.
    def seed() -> None:
        try:
            demo_seed()
        finally:
            connections.close_all()

    seeding = threading.Thread(target=seed)
    seeding.start()
    seeding.join(timeout=120)
    page = new_page(chromium, locale="it-IT")
    started = time.monotonic()
    page.goto(f"{running.url}/widget/demo/")
    chat = widget(page)
    expect(chat.locator("button.launcher")).to_contain_text("Scrivici", timeout=SLOW_MS)
    print(f"\ndemo page: script tag to usable launcher in {(time.monotonic() - started) * 1000:.0f} ms")
    page.click("#open-chat")  # the page's own button calls Sportello.open()
    expect(chat.locator("[role=dialog] h1")).to_have_text("Bottega Sportello")
    expect(chat.locator(".connection")).to_have_attribute("data-state", "online", timeout=SLOW_MS)
    expect(chat.locator(".greeting")).to_have_text("Ciao! Come possiamo aiutarti?")
    chat.locator("#prechat-name").fill("Paolo")
    chat.locator("form.prechat button").click()
    # No demo agent is signed in: the chat says so and takes an address for the answer.
    expect(chat.locator(".availability")).to_have_text("Al momento non c'è nessuno disponibile.")
    chat.locator("#away-email").fill("paolo@example.com")
    send(chat, "Avete la moka da 6 tazze?")
    expect(chat.locator(".msg.mine .status")).to_have_text(["Inviato"], timeout=SLOW_MS)
    message = filed("Avete la moka da 6 tazze?")
    assert message.channel_account.key == DEMO_CHANNEL_KEY
    assert message.ticket.contact.name == "Paolo"
