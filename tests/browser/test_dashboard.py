"""The supervisor's dashboard in real Chromium against a real server: figures that move live as customers
write and agents reply, exact again after a reconnect, a chart, and numbers that open their lists."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from playwright.sync_api import expect

from channels_in.models import ChannelAccount
from tests.fixtures.browser import customer_writes
from tests.fixtures.personas import make_api_channel
from tickets.models import Team, Ticket
from tickets.services.messages import message_send_reply

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    # A week-old day's chart series is cached (tickets/dashboard/intraday.py); each test reads its own.
    cache.clear()
    yield
    cache.clear()


def live(page: Any, state: str = "connected") -> None:
    page.wait_for_selector(f"body[data-live={state}]")


def snapshots(page: Any) -> int:
    return int(page.evaluate("Number(document.body.dataset.dashboardVersion || 0)"))


def figure(page: Any, key: str) -> Any:
    return page.locator(f'[data-figure="{key}"]').first


def post_inbound(base_url: str, account: ChannelAccount, message_id: str, text: str, sender: str) -> None:
    """A customer message as the API channel receives it: the real inbound path, over HTTP."""
    body = {"message_id": message_id, "sender": {"id": sender, "name": "Maria"}, "text": text}
    response = httpx.post(
        f"{base_url}/api/v1/inbound/{account.key}/messages",
        content=json.dumps(body),
        headers={"Authorization": f"Bearer {account.config['token']}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 202, response.text


def test_a_supervisor_lands_on_the_dashboard_and_watches_it_move(
    browser_context: Any,
    live_server_url: str,
    sam: User,
    alice: User,
    billing: Team,
    api_channel: ChannelAccount,
) -> None:
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/login/")
    page.fill("input[name=username]", "sam_supervisor")
    page.fill("input[name=password]", "password")
    page.click("button.primary")
    page.wait_for_url("**/supervisor/")
    live(page)
    page.wait_for_function("() => Number(document.body.dataset.dashboardVersion) >= 1")
    expect(figure(page, "total.waiting")).to_have_text("0")
    # Set once: a reload would drop it.
    page.evaluate("window.__stayed = true")

    post_inbound(live_server_url, api_channel, "m-1", "Il mio ordine è fermo", sender="cust-1")
    expect(figure(page, "total.waiting")).to_have_text("1")
    expect(figure(page, f"team.{billing.pk}.waiting")).to_have_text("1")
    expect(figure(page, f"team.{billing.pk}.oldest_waiting_since")).to_have_text("1 min")
    expect(figure(page, f"channel.{api_channel.pk}.messages_in")).to_have_attribute("data-value", "1")

    ticket = Ticket.objects.get()
    message_send_reply(ticket=ticket, author=alice, text="Controllo subito.")
    expect(figure(page, "total.replies_out")).to_have_attribute("data-value", "1")
    expect(figure(page, f"agent.{alice.pk}.replies_today")).to_have_text("1")
    expect(figure(page, f"agent.{alice.pk}.last_reply_at")).to_have_text("1 min")
    assert page.evaluate("window.__stayed") is True

    # The chart is drawn by uPlot, with its legend in words; the numbers are in the table too.
    page.wait_for_selector("[data-intraday-chart][data-drawn=true] canvas")
    expect(page.locator("[data-intraday-chart] .u-legend")).to_contain_text("Messages in today")
    page.click("[data-testid=intraday-numbers] summary")
    assert (
        sum(
            int(cell)
            for cell in page.locator('[data-figure^="intraday.today.arrivals."]').all_inner_texts()
            if cell != "—"
        )
        == 1
    )

    # A ticket of no team: a row the page did not have, so it asks the server for its tables again.
    customer_writes(make_api_channel(trust_identities=True), "Di chi sono?", sender="nobody")
    expect(page.locator('[data-row="team.none"] [data-figure="team.none.waiting"]')).to_have_text("1")
    expect(figure(page, "total.waiting")).to_have_text("2")

    # A number opens the tickets behind it.
    figure(page, f"team.{billing.pk}.open").click()
    page.wait_for_url(f"**/inbox/team/{billing.pk}/?status=new&status=open")
    expect(page.locator(f"#ticket-row-{ticket.pk}")).to_be_visible()
    assert errors == []


def test_the_figures_are_exact_again_after_a_reconnect(
    page_as: Any, browser_context: Any, sam: User, billing: Team, api_channel: ChannelAccount
) -> None:
    sockets: list[Any] = []
    # The page's socket passes through the test: the first goes straight to the server; the second is
    # held back until the test lets it through, so what happens meanwhile reaches the page by no event.
    browser_context.route_web_socket("**/ws/agent/", lambda socket: sockets.append(socket))
    page = page_as(sam)
    page.goto("/supervisor/")
    for _ in range(50):
        if sockets:
            break
        page.wait_for_timeout(100)
    first = sockets[0]
    first.connect_to_server()
    live(page)
    page.wait_for_function("() => Number(document.body.dataset.dashboardVersion) >= 1")
    # The snapshots asked for by the arrival (hello, the page's own presence) are all in.
    page.wait_for_timeout(600)
    page.wait_for_selector("body[data-dashboard-fetching=false]")
    seen = snapshots(page)

    first.close()
    page.wait_for_selector("body:not([data-live=connected])")
    customer_writes(api_channel, "Mentre eri via", sender="away")
    for _ in range(100):
        if len(sockets) > 1:
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(500)
    # Reconnected, but nothing has told the page yet.
    expect(figure(page, "total.waiting")).to_have_text("0")
    assert snapshots(page) == seen
    sockets[1].connect_to_server()
    expect(figure(page, "total.waiting")).to_have_text("1")
    expect(figure(page, f"team.{billing.pk}.waiting")).to_have_text("1")
    assert page.js_errors == []
