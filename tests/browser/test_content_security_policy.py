"""The site under its Content-Security-Policy in real Chromium: nothing refused, everything still works.

The ``browser_context`` fixture fails any test whose pages broke the policy; these tests walk the pages
and features a policy could break, and check that the watch itself sees a violation.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from channels_in.models import ChannelAccount
from channels_in.webchat.demo import DEMO_CHANNEL_KEY
from tests.fixtures.browser import customer_writes
from tests.fixtures.personas import make_api_channel

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_the_watch_sees_a_refused_image(browser_context: Any, alice: User) -> None:
    page = browser_context.new_page()
    page.goto("/login/")

    page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', '<img src=\"https://example.invalid/t.png\">')"
    )
    page.wait_for_function("document.querySelector('img[src*=\"example.invalid\"]')")
    page.wait_for_timeout(300)

    assert any(
        "img-src refused https://example.invalid/t.png" in line for line in browser_context.csp_violations
    )
    browser_context.csp_violations.clear()


def test_the_workspace_works_under_the_policy(page_as: Any, alice: User, api_channel: ChannelAccount) -> None:
    make_api_channel()  # a second channel, so the channel filter has a choice
    ticket = customer_writes(api_channel, "Il pacco è arrivato rotto", subject="Pacco rotto")
    page = page_as(alice)

    page.goto("/inbox/unassigned/")
    page.wait_for_selector("body[data-live=connected]")  # the socket, allowed by connect-src
    page.select_option("select[name=status]", "new")  # filters submit without an inline handler
    page.wait_for_url("**status=new**")
    page.click(f"[data-ticket-row='{ticket.pk}']")
    page.wait_for_url(f"**/tickets/{ticket.pk}/")
    # A ticket page goes on from "connected" to "subscribed" as soon as the server accepts its subscription.
    page.wait_for_selector("body[data-live=subscribed]")
    page.fill("[data-testid=composer-text]", "Ci scusiamo, spediamo un nuovo pacco.")
    page.click("[data-testid=send]")
    page.wait_for_selector(".msg-outbound >> text=spediamo un nuovo pacco")

    assert page.js_errors == []


def test_the_admin_works_under_the_policy(browser_context: Any, alice: User) -> None:
    User.objects.filter(pk=alice.pk).update(is_staff=True, is_superuser=True)
    page = browser_context.new_page()

    page.goto("/admin/login/")
    page.fill("input[name=username]", "alice_rossi")
    page.fill("input[name=password]", "password")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    page.goto("/admin/auth/user/")
    page.click("#action-toggle")  # the changelist's own script
    page.wait_for_selector("#result_list tr.selected")
    page.goto(f"/admin/auth/user/{alice.pk}/change/")
    page.wait_for_selector("#user_form")


def test_the_api_docs_work_under_the_policy(page_as: Any, alice: User) -> None:
    page = page_as(alice)

    page.goto("/api/docs/")
    page.wait_for_selector(".opblock-tag", timeout=20_000)  # Swagger UI drew the schema it fetched

    assert page.locator(".opblock").count() > 10
    assert page.js_errors == []


def test_the_widget_demo_page_works_under_the_policy(browser_context: Any, billing: object) -> None:
    ChannelAccount.objects.create(
        kind=ChannelAccount.Kind.WEBCHAT,
        name="Demo chat",
        key=DEMO_CHANNEL_KEY,
        config={"allowed_origins": ["'self'"], "secret": "demo-widget-secret"},
    )
    page = browser_context.new_page()

    page.goto("/widget/demo/")
    # The loader (our script on the shop's page) drew the frame, and the frame its own launcher.
    chat = page.frame_locator("iframe")
    chat.locator("button.launcher").click()
    chat.locator("button.close").wait_for()  # the frame's own script opened the chat
