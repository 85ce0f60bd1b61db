"""SLA time in real Chromium: countdowns that tick, alarms that arrive live, due-ordered lists."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from channels_in.models import ChannelAccount
from tests.fixtures.browser import customer_writes, session_cookie_for
from tickets.models import Team, Ticket
from tickets.services import sla
from tickets.services.tickets import ticket_update
from tickets.tests.sla_support import due_in, sla_policy

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

# Chromium's own notifications need a desktop: record what the page asks for instead.
RECORD_NOTIFICATIONS = """
window.__notified = [];
window.Notification = function (title, options) { window.__notified.push([title, options.body]); };
window.Notification.permission = "granted";
window.Notification.requestPermission = function () { return Promise.resolve("granted"); };
"""


def live(page: Any, state: str = "connected") -> None:
    page.wait_for_selector(f"body[data-live={state}]")


def test_rows_and_the_ticket_header_show_the_countdown_or_the_pause(
    page_as: Any, alice: User, api_channel: ChannelAccount
) -> None:
    policy = sla_policy(first_response_minutes=60)
    running = due_in(
        customer_writes(api_channel, "Aiuto", sender="a"), policy, timedelta(minutes=11, seconds=30)
    )
    paused = due_in(customer_writes(api_channel, "Attendo", sender="b"), policy, timedelta(minutes=30))
    ticket_update(ticket=paused, actor=alice, status=Ticket.Status.PENDING)

    page = page_as(alice)
    page.goto("/inbox/unassigned/")
    countdown = page.locator(f"#ticket-row-{running.pk} [data-testid=sla-due]")
    expect(countdown).to_have_text("reply within 12 min")
    expect(countdown.locator("time")).to_have_attribute("datetime", running.sla_due_at.isoformat())
    expect(page.locator(f"#ticket-row-{paused.pk} [data-testid=sla-due]")).to_have_text("SLA paused")

    page.goto(f"/tickets/{running.pk}/")
    header = page.locator("[data-testid=ticket-sla] [data-testid=sla-due]")
    expect(header).to_have_text("reply within 12 min")
    expect(header).to_have_class(re.compile(r"\bsla-running\b"))
    assert page.js_errors == []


def test_a_warning_and_a_breach_arrive_live_with_an_alert_for_the_assignee(
    browser_context: Any,
    page_as: Any,
    chromium: Any,
    live_server_url: str,
    alice: User,
    bob: User,
    api_channel: ChannelAccount,
    billing: Team,
) -> None:
    browser_context.add_init_script(RECORD_NOTIFICATIONS)
    ticket = customer_writes(api_channel, "Il rimborso?", subject="Rimborso")
    ticket_update(ticket=ticket, actor=bob, assignee=alice)
    # A one-minute first response, its warning already due, the breach in a few seconds.
    ticket = due_in(ticket, sla_policy(first_response_minutes=1), timedelta(seconds=12))

    inbox = page_as(alice)
    inbox.goto("/inbox/mine/")
    live(inbox)
    screen = page_as(alice)
    screen.goto(f"/tickets/{ticket.pk}/")
    live(screen, "subscribed")
    row = inbox.locator(f"#ticket-row-{ticket.pk} [data-testid=sla-due]")
    header = screen.locator("[data-testid=ticket-sla] [data-testid=sla-due]")
    expect(row).to_have_text("reply within 1 min")

    other = chromium.new_context(base_url=live_server_url)
    try:
        other.add_cookies([session_cookie_for(bob, live_server_url)])
        bobs = other.new_page()
        bobs.goto(f"/inbox/team/{billing.pk}/")
        live(bobs)

        sla.sla_alarms_fire(ticket_id=ticket.pk)
        expect(inbox.locator("[data-testid=sla-alert]")).to_have_text(
            re.compile(f"First response due soon on #{ticket.pk}")
        )
        expect(row).to_have_class(re.compile(r"\bsla-warning\b"))
        expect(header).to_have_class(re.compile(r"\bsla-warning\b"))

        # Time passes: both turn overdue by themselves, without a reload.
        expect(row).to_have_text("overdue by 1 min", timeout=25_000)
        expect(row).to_have_class(re.compile(r"\bsla-breached\b"))
        expect(header).to_have_text("overdue by 1 min")

        sla.sla_alarms_fire(ticket_id=ticket.pk)
        breach = f"First response overdue on #{ticket.pk}"
        expect(inbox.locator("[data-testid=sla-alert]").first).to_contain_text(breach)
        expect(inbox.locator("[data-testid=sla-alert]").first).to_contain_text("Rimborso")
        expect(screen.locator("[data-testid=sla-alert]").first).to_contain_text(breach)
        expect(inbox.locator(f"#ticket-row-{ticket.pk} [data-sla-breached=true]")).to_have_count(1)
        expect(screen.locator("[data-testid=ticket-sla] [data-sla-breached=true]")).to_have_count(1)
        inbox.wait_for_function("() => window.__notified.length === 2")
        assert inbox.evaluate("window.__notified.map(n => n[0])") == [
            f"First response due soon on #{ticket.pk}",
            breach,
        ]

        # Bob sees the row turn, but the alarm is for the assignee and the supervisors.
        expect(bobs.locator(f"#ticket-row-{ticket.pk} [data-sla-breached=true]")).to_have_count(1)
        assert bobs.locator("[data-testid=sla-alert]").count() == 0
    finally:
        other.close()

    inbox.locator("[data-testid=sla-alert] button.dismiss").first.click()
    expect(inbox.locator("[data-testid=sla-alert]")).to_have_count(1)
    assert inbox.js_errors == [] and screen.js_errors == []


def test_breaching_soon_keeps_the_soonest_first_as_tickets_fall_due(
    page_as: Any, alice: User, api_channel: ChannelAccount
) -> None:
    policy = sla_policy(first_response_minutes=60)
    later = due_in(customer_writes(api_channel, "Prima", sender="a"), policy, timedelta(minutes=40))
    page = page_as(alice)
    page.goto("/inbox/breaching/")
    live(page)
    order = "Array.from(document.querySelectorAll('[data-ticket-row]')).map(r => Number(r.dataset.ticketRow))"
    assert page.evaluate(order) == [later.pk]

    sooner = due_in(customer_writes(api_channel, "Dopo", sender="b"), policy, timedelta(minutes=5))
    page.wait_for_function(f"() => {order}[0] === {sooner.pk}")
    assert page.evaluate(order) == [sooner.pk, later.pk]
    page.wait_for_selector("[data-count=breaching] >> text=2")
    assert page.js_errors == []
