"""In Chromium: a customer typing in the widget shows "<name> is typing…" on the agent's ticket page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from channels_in.models import ChannelAccount
from tests.fixtures.browser import session_cookie_for
from tests.widget.conftest import CustomerSite, HelpDesk
from tests.widget.test_widget_browser import (
    SLOW_MS,
    agent,  # noqa: F401 - a fixture used below
    channel,  # noqa: F401 - a fixture used below
    filed,
    new_page,
    open_chat,
    send,
    shop,
)
from tickets.models import AgentProfile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


def ticket_page(chromium: Any, desk: HelpDesk, user: Any, ticket_id: int) -> Any:
    page = new_page(chromium)
    page.context.add_cookies([session_cookie_for(user, desk.url)])
    page.goto(f"{desk.url}/tickets/{ticket_id}/")
    expect(page.locator("body")).to_have_attribute("data-live", "subscribed", timeout=SLOW_MS)
    return page


def test_the_agent_sees_the_customer_typing_and_it_clears(  # type: ignore[no-untyped-def]
    chromium,
    running: HelpDesk,
    customer_site: CustomerSite,
    channel: ChannelAccount,  # noqa: F811
    agent,  # noqa: F811
) -> None:
    visitor = new_page(chromium)
    visitor.goto(shop(customer_site, running, channel))
    chat = open_chat(visitor)
    send(chat, "hello, one question")
    ticket = filed("hello, one question").ticket
    ticket.contact.name = "Maria Bianchi"
    ticket.contact.save(update_fields=["name"])
    AgentProfile.objects.filter(user=agent[0]).update(ui_language="it")

    desk = ticket_page(chromium, running, agent[0], ticket.pk)
    indicator = desk.get_by_test_id("customer-typing")
    expect(indicator).to_be_hidden()

    box = chat.locator("#composer-text")
    box.press_sequentially("about my ord", delay=40)
    expect(indicator).to_be_visible(timeout=SLOW_MS)
    expect(indicator).to_have_text("Maria Bianchi sta scrivendo…")
    # Emptying the box is "stopped typing".
    box.fill("")
    box.dispatch_event("input")
    expect(indicator).to_be_hidden(timeout=SLOW_MS)

    # Typing again, then sending: the message arrives and the indicator goes.
    box.press_sequentially("about my order", delay=40)
    expect(indicator).to_be_visible(timeout=SLOW_MS)
    box.press("Enter")
    expect(desk.locator("#timeline")).to_contain_text("about my order", timeout=SLOW_MS)
    expect(indicator).to_be_hidden()

    # A customer who goes quiet without a word: it clears by itself after a few seconds.
    box.press_sequentially("still th", delay=40)
    expect(indicator).to_be_visible(timeout=SLOW_MS)
    expect(indicator).to_be_hidden(timeout=12_000)
    assert visitor.js_errors == [] and desk.js_errors == []
