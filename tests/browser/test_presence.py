"""Presence in real Chromium: an agent sets it in the header, and teammates see it change without a reload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.fixtures.browser import session_cookie_for
from tickets.models import AgentProfile

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def live(page: Any) -> None:
    page.wait_for_selector("body[data-live=connected]")


def until(page: Any, condition: Callable[[], bool], timeout_ms: int = 10_000) -> None:
    # Short waits, so the page goes on receiving frames while the database is polled.
    for _ in range(timeout_ms // 100):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError("condition not met in time")


def stored(user: User) -> tuple[str, str]:
    profile = AgentProfile.objects.get(user=user)
    return profile.presence, profile.presence_manual


def header(page: Any) -> tuple[str, str, str]:
    """What the header says: the state, automatic or chosen, and the select's value."""
    return (
        page.inner_text("[data-testid=presence-state]"),
        page.inner_text("[data-testid=presence-mode]"),
        page.input_value("[data-testid=presence-select]"),
    )


def test_away_and_back_to_automatic_reach_the_server_and_the_team(
    page_as: Any, browser_context: Any, chromium: Any, live_server_url: str, alice: User, bob: User
) -> None:
    page = page_as(alice)
    page.goto("/inbox/mine/")
    live(page)
    until(page, lambda: stored(alice) == ("online", ""))
    until(page, lambda: header(page) == ("Online", "(automatic)", "auto"))
    # A second tab of Alice's, to follow what the first one chooses.
    other_tab = browser_context.new_page()
    other_tab.goto("/inbox/unassigned/")
    live(other_tab)

    team = chromium.new_context(base_url=live_server_url, locale="en-US")
    try:
        team.add_cookies([session_cookie_for(bob, live_server_url)])
        bobs_page = team.new_page()
        bobs_page.goto("/inbox/mine/")
        live(bobs_page)
        bobs_page.click("[data-team-presence] summary")
        alice_there = f"[data-team-presence] [data-agent-presence='{alice.pk}']"
        bobs_page.wait_for_selector(f"{alice_there}[data-presence=online]")
        assert bobs_page.inner_text("[data-testid=team-online-count]") == "1"
        bobs_page.evaluate("window.notReloaded = true")

        page.get_by_label("My status").select_option("away")
        until(page, lambda: stored(alice) == ("away", "away"))
        until(page, lambda: header(page) == ("Away", "(chosen)", "away"))
        bobs_page.wait_for_selector(f"{alice_there}[data-presence=away] >> text=Away")
        assert bobs_page.inner_text("[data-testid=team-online-count]") == "0"
        until(other_tab, lambda: header(other_tab) == ("Away", "(chosen)", "away"))

        page.get_by_label("My status").select_option("auto")
        until(page, lambda: stored(alice) == ("online", ""))
        until(page, lambda: header(page) == ("Online", "(automatic)", "auto"))
        bobs_page.wait_for_selector(f"{alice_there}[data-presence=online] >> text=Online")
        assert bobs_page.inner_text("[data-testid=team-online-count]") == "1"
        until(other_tab, lambda: header(other_tab) == ("Online", "(automatic)", "auto"))

        assert bobs_page.evaluate("window.notReloaded") is True
    finally:
        team.close()
    assert page.js_errors == []


def test_the_control_works_from_the_keyboard(page_as: Any, alice: User) -> None:
    page = page_as(alice)
    page.goto("/inbox/mine/")
    live(page)
    page.focus("[data-testid=presence-select]")
    page.keyboard.press("ArrowDown")  # Automatic → Online, chosen
    until(page, lambda: stored(alice) == ("online", "online"))
    until(page, lambda: header(page) == ("Online", "(chosen)", "online"))
    assert page.js_errors == []


def test_without_javascript_the_form_sets_presence(
    chromium: Any, live_server_url: str, transactional_db: None, alice: User
) -> None:
    context = chromium.new_context(base_url=live_server_url, locale="en-US", java_script_enabled=False)
    try:
        context.add_cookies([session_cookie_for(alice, live_server_url)])
        page = context.new_page()
        page.goto("/inbox/unassigned/")
        page.select_option("[data-testid=presence-select]", "away")
        with page.expect_navigation():
            page.click("[data-presence-submit]")
        assert page.url.endswith("/inbox/unassigned/")
        # No socket, so Alice is offline; the choice waits for her next one.
        assert stored(alice) == ("offline", "away")
        assert page.inner_text("[data-testid=presence-mode]") == "(chosen)"
    finally:
        context.close()
