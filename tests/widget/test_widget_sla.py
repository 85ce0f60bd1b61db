"""The widget tells the visitor when to expect a person by the same numbers the agents count down to."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from channels_in.models import ChannelAccount
from channels_in.webchat.tests.conftest import make_webchat_channel
from tests.widget.conftest import CustomerSite, HelpDesk, wait_for
from tests.widget.test_widget_browser import (
    SLOW_MS,
    agent,  # noqa: F401 - a fixture used below
    agent_online,
    filed,
    new_page,
    open_chat,
    send,
    shop,
)
from tickets.models import SLAPolicy, Team, Ticket
from tickets.services.triage import RULES_CACHE_SECONDS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


@pytest.fixture
def channel(agent: Any, customer_site: CustomerSite) -> ChannelAccount:  # noqa: F811 - the fixture above
    return make_webchat_channel(team=agent[2], allowed_origins=[customer_site.origin], response_minutes=5)


def test_the_widget_promises_the_first_response_due_time_of_the_visitors_ticket(  # type: ignore[no-untyped-def]
    chromium,
    running: HelpDesk,
    customer_site: CustomerSite,
    channel: ChannelAccount,
    agent,  # noqa: F811
) -> None:
    policy = SLAPolicy.objects.create(name="Chat", first_response_minutes=90)
    Team.objects.filter(pk=agent[2].pk).update(sla_policy=policy)
    # The help desk's process reads the policies again at most this often.
    time.sleep(RULES_CACHE_SECONDS)
    agent_online(chromium, running, agent[0])
    page = new_page(chromium)
    page.goto(shop(customer_site, running, channel))
    chat = open_chat(page)
    expect(chat.locator(".availability")).to_contain_text("5 minutes")  # no ticket yet: the usual time

    send(chat, "Quando mi rispondete?")
    ticket_id = filed("Quando mi rispondete?").ticket_id
    ticket = wait_for(
        lambda: Ticket.objects.filter(pk=ticket_id, sla_policy=policy).first(), what="the ticket triaged"
    )
    shown = page.evaluate(
        "(iso) => new Intl.DateTimeFormat('en', {hour: '2-digit', minute: '2-digit'}).format(new Date(iso))",
        ticket.first_response_due_at.isoformat(),
    )
    # Today only the time; past midnight the day as well.
    promise = re.compile(rf"^We will answer you by .*{re.escape(shown)}\.$")
    expect(chat.locator(".availability")).to_have_text(promise, timeout=SLOW_MS)
    assert page.js_errors == []
