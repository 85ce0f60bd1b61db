"""Live updates in real Chromium: what other agents and customers do appears without a reload."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from channels_in.models import ChannelAccount
from tests.fixtures.browser import customer_writes
from tickets.services.messages import note_add
from tickets.services.tickets import ticket_update

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def live(page: Any, state: str = "connected") -> None:
    page.wait_for_selector(f"body[data-live={state}]")


def test_new_ticket_and_assignment_appear_in_the_lists(
    page_as: Any, alice: User, bob: User, api_channel: ChannelAccount
) -> None:
    page = page_as(alice)
    page.goto("/inbox/unassigned/")
    live(page)
    assert page.locator("[data-ticket-row]").count() == 0

    ticket = customer_writes(api_channel, "Appena arrivato", subject="Live one")
    row = page.locator(f"#ticket-row-{ticket.pk}")
    row.wait_for()
    assert "is-fresh" in (row.get_attribute("class") or "")
    page.wait_for_selector("[data-count=unassigned] >> text=1")

    ticket_update(ticket=ticket, actor=bob, assignee=alice)
    row.wait_for(state="detached")
    page.wait_for_selector("[data-count=mine] >> text=1")
    page.wait_for_selector("[data-count=unassigned] >> text=0")
    assert page.js_errors == []


def test_ticket_screen_follows_notes_messages_and_other_viewers(
    page_as: Any,
    browser_context: Any,
    chromium: Any,
    live_server_url: str,
    alice: User,
    bob: User,
    api_channel: ChannelAccount,
) -> None:
    from tests.fixtures.browser import session_cookie_for

    ticket = customer_writes(api_channel, "Primo messaggio")
    page = page_as(alice)
    page.goto(f"/tickets/{ticket.pk}/")
    live(page, "subscribed")

    other = chromium.new_context(base_url=live_server_url)
    try:
        other.add_cookies([session_cookie_for(bob, live_server_url)])
        bobs_page = other.new_page()
        bobs_page.goto(f"/tickets/{ticket.pk}/")
        live(bobs_page, "subscribed")
        page.wait_for_selector("[data-testid=collision] >> text=Bob Bianchi is viewing")
        bobs_page.fill("[data-testid=composer-text]", "Sto scrivendo")
        page.wait_for_selector("[data-testid=collision] >> text=Bob Bianchi is replying")
    finally:
        other.close()

    note_add(ticket=ticket, author=bob, text="Nota di Bob")
    page.wait_for_selector(".msg-note >> text=Nota di Bob")

    page.fill("[data-testid=composer-text]", "Una risposta a metà")
    customer_writes(api_channel, "Ci sono novità?")
    page.wait_for_selector(".msg-inbound >> text=Ci sono novità?")
    page.wait_for_selector("[data-testid=live-banner]")
    assert page.input_value("[data-testid=composer-text]") == "Una risposta a metà"

    ticket_update(ticket=ticket, actor=bob, status="pending")
    page.wait_for_selector("[data-testid=ticket-status] >> text=Pending")
    assert page.js_errors == []


def test_typing_is_announced_for_replies_and_never_for_notes(
    page_as: Any, chromium: Any, live_server_url: str, alice: User, bob: User, api_channel: ChannelAccount
) -> None:
    import json

    from tests.fixtures.browser import session_cookie_for

    ticket = customer_writes(api_channel, "Ciao")
    other = chromium.new_context(base_url=live_server_url)
    try:
        other.add_cookies([session_cookie_for(bob, live_server_url)])
        bobs_page = other.new_page()
        heard: list[dict[str, Any]] = []
        bobs_page.on(
            "websocket",
            lambda socket: socket.on("framereceived", lambda frame: heard.append(json.loads(frame))),
        )
        bobs_page.goto(f"/tickets/{ticket.pk}/")
        live(bobs_page, "subscribed")

        page = page_as(alice)
        page.goto(f"/tickets/{ticket.pk}/")
        live(page, "subscribed")

        def typing_frames() -> list[dict[str, Any]]:
            return [frame for frame in heard if frame.get("type") == "typing"]

        def until(condition: Any, timeout_ms: int = 10_000) -> None:
            # Frames are delivered while Playwright waits, so poll with short waits.
            for _ in range(timeout_ms // 100):
                if condition():
                    return
                page.wait_for_timeout(100)
            raise AssertionError("condition not met in time")

        page.keyboard.press("n")
        page.keyboard.type("nota privata")
        page.wait_for_timeout(700)
        assert typing_frames() == []

        page.fill("[data-testid=composer-text]", "")
        page.keyboard.press("Escape")
        page.keyboard.press("r")
        page.keyboard.type("Arrivo")
        until(typing_frames)
        frames = typing_frames()
        assert frames[0]["agent_id"] == alice.pk and frames[0]["state"] is True
        # Idle for 3 s: typing stops by itself.
        until(lambda: typing_frames()[-1]["state"] is False)
    finally:
        other.close()


def test_new_customer_message_on_my_ticket_notifies_me(
    browser_context: Any, page_as: Any, alice: User, api_channel: ChannelAccount
) -> None:
    # Chromium's own notification needs a desktop; record what the page asks for instead.
    browser_context.add_init_script(
        """
        window.__notified = [];
        window.Notification = function (title, options) { window.__notified.push([title, options.body]); };
        window.Notification.permission = "granted";
        window.Notification.requestPermission = function () { return Promise.resolve("granted"); };
        """
    )
    mine = customer_writes(api_channel, "Primo", sender="a")
    ticket_update(ticket=mine, actor=alice, assignee=alice)
    customer_writes(api_channel, "Altro", sender="b")
    page = page_as(alice)
    page.goto("/inbox/mine/")
    live(page)

    customer_writes(api_channel, "Novità sul pacco?", sender="a")
    page.wait_for_function("() => window.__notified.length === 1")
    assert page.evaluate("window.__notified") == [[f"New message · #{mine.pk}", "Novità sul pacco?"]]

    customer_writes(api_channel, "Sull'altro ticket", sender="b")
    page.wait_for_timeout(800)
    assert page.evaluate("window.__notified.length") == 1  # not my ticket: no notification

    page.click("[data-sound-toggle]")
    assert page.get_attribute("[data-sound-toggle]", "aria-pressed") == "true"
    page.reload()
    assert page.get_attribute("[data-sound-toggle]", "aria-pressed") == "true"


def test_live_rows_keep_the_queue_order(page_as: Any, alice: User, api_channel: ChannelAccount) -> None:
    older = customer_writes(api_channel, "Prima", sender="a")
    page = page_as(alice)
    page.goto("/inbox/unassigned/")
    live(page)

    newer = customer_writes(api_channel, "Dopo", sender="b")
    page.locator(f"#ticket-row-{newer.pk}").wait_for()
    order = "Array.from(document.querySelectorAll('[data-ticket-row]')).map(r => Number(r.dataset.ticketRow))"
    assert page.evaluate(order) == [older.pk, newer.pk]  # same priority: longest waiting first

    ticket_update(ticket=newer, actor=alice, priority=4)
    page.wait_for_function(f"() => {order}[0] === {newer.pk}")
    assert page.evaluate(order) == [newer.pk, older.pk]
