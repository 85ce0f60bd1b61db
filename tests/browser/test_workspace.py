"""The agent workspace in real headless Chromium against a real server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail

from channels_in.models import ChannelAccount
from tests.fixtures.browser import customer_writes
from tests.fixtures.http_peer import HttpPeer, Reply
from tests.fixtures.personas import make_api_channel
from tickets.models import AgentProfile, CannedResponse, Message, Team, Ticket
from tickets.services.tickets import ticket_update

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_sign_in_switch_language_and_sign_out(browser_context: Any, alice: User) -> None:
    page = browser_context.new_page()
    page.goto("/inbox/mine/")
    assert page.url.endswith("/login/?next=/inbox/mine/")
    page.fill("input[name=username]", "alice_rossi")
    page.fill("input[name=password]", "wrong")
    page.click("button.primary")
    page.wait_for_selector("text=Wrong username or password.")
    page.fill("input[name=username]", "alice_rossi")
    page.fill("input[name=password]", "password")
    page.click("button.primary")
    page.wait_for_url("**/inbox/mine/")
    assert page.locator("nav.views").inner_text().startswith("Mine")

    page.click("[data-testid=language-it]")
    page.wait_for_selector("nav.views >> text=Miei")
    assert AgentProfile.objects.get(user=alice).ui_language == "it"
    assert page.locator("html").get_attribute("lang") == "it"

    page.click("[data-testid=logout]")
    page.wait_for_url("**/login/")
    page.goto("/inbox/mine/")
    assert "/login/" in page.url


def test_password_reset_from_the_sign_in_page(browser_context: Any, alice: User) -> None:
    page = browser_context.new_page()
    page.goto("/login/")
    page.click("text=Forgot your password?")
    page.fill("input[name=email]", "alice_rossi@sportello.test")
    page.click("button.primary")
    page.wait_for_selector("[data-testid=reset-sent]")
    link = re.search(r"https?://\S+/password-reset/\S+/", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    path = link[0].split("://", 1)[1].split("/", 1)[1]
    page.goto("/" + path)
    page.fill("input[name=new_password1]", "brand-new-secret-42")
    page.fill("input[name=new_password2]", "brand-new-secret-42")
    page.click("button.primary")
    page.wait_for_selector("[data-testid=reset-complete]")
    page.click("[data-testid=reset-complete] a")
    page.fill("input[name=username]", "alice_rossi")
    page.fill("input[name=password]", "brand-new-secret-42")
    page.click("button.primary")
    page.wait_for_url("**/inbox/mine/")


def test_inbox_counts_search_and_keyboard_navigation(
    page_as: Any, alice: User, api_channel: ChannelAccount
) -> None:
    first = customer_writes(api_channel, "Il pacco è arrivato rotto", sender="a", subject="Pacco rotto")
    second = customer_writes(api_channel, "Vorrei un rimborso", sender="b", subject="Rimborso")
    ticket_update(ticket=second, actor=alice, priority=Ticket.Priority.URGENT)
    page = page_as(alice)
    page.goto("/inbox/unassigned/")
    assert page.inner_text("[data-count=unassigned]") == "2"
    rows = page.locator("[data-ticket-row]")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("data-ticket-row") == str(second.pk)  # urgent first

    page.keyboard.press("j")
    page.keyboard.press("j")
    assert "is-selected" in (rows.nth(1).get_attribute("class") or "")
    page.keyboard.press("k")
    assert "is-selected" in (rows.nth(0).get_attribute("class") or "")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/tickets/{first.pk}/")
    # On the ticket screen j/k walk the list it was opened from; "Inbox" leads back to that list.
    page.keyboard.press("k")
    page.wait_for_url(f"**/tickets/{second.pk}/")
    page.keyboard.press("k")  # already the first: stays
    page.keyboard.press("j")
    page.wait_for_url(f"**/tickets/{first.pk}/")
    assert page.get_attribute("a.back", "href") == "/inbox/unassigned/"

    page.keyboard.press("/")
    page.keyboard.type("rimborso")
    page.keyboard.press("Enter")
    page.wait_for_url("**/inbox/search/?q=rimborso")
    assert page.locator("[data-ticket-row]").count() == 1
    assert page.locator(f"#ticket-row-{second.pk}").is_visible()

    page.keyboard.press("?")
    assert page.locator("[data-testid=shortcuts-help]").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("[data-testid=shortcuts-help]").is_visible()
    assert page.js_errors == []


def test_reply_note_canned_assign_and_solve(
    page_as: Any, alice: User, billing: Team, http_peer: HttpPeer
) -> None:
    http_peer.script("/replies", then=Reply(200, b'{"id": "provider-1"}'))
    channel = make_api_channel(team=billing, callback_url=http_peer.url("/replies"))
    ticket = customer_writes(channel, "Dov'è il mio ordine?", name="Maria Rossi")
    CannedResponse.objects.create(
        title="Greeting", shortcut="ciao", body="Ciao {{ contact.first_name }}, sono {{ agent.first_name }}."
    )
    page = page_as(alice)
    page.goto(f"/tickets/{ticket.pk}/")

    page.keyboard.press("r")
    page.keyboard.type("/ciao")
    page.keyboard.press("Tab")
    assert page.input_value("[data-testid=composer-text]") == "Ciao Maria, sono Alice."
    page.keyboard.type(" Arriva domani.")
    page.click("[data-testid=send]")
    page.wait_for_selector(".msg-outbound >> text=Arriva domani.")
    assert page.inner_text(".msg-outbound [data-testid=delivery-status]") == "Sent"
    assert http_peer.received("/replies")

    page.keyboard.press("n")
    assert page.locator("#composer").get_attribute("data-mode") == "note"
    page.keyboard.type("Corriere avvisato")
    page.click("[data-testid=send]")
    note = page.locator(".msg-note", has_text="Corriere avvisato")
    note.wait_for()
    assert len(http_peer.received("/replies")) == 1  # the note was never sent
    note_background = note.evaluate("el => getComputedStyle(el).backgroundColor")
    reply_background = page.locator(".msg-outbound").evaluate("el => getComputedStyle(el).backgroundColor")
    assert note_background != reply_background

    page.keyboard.press("a")
    page.wait_for_selector("[data-testid=ticket-assignee] >> text=Alice Rossi")
    page.keyboard.press("s")
    page.wait_for_selector("[data-testid=ticket-status] >> text=Solved")
    ticket.refresh_from_db()
    assert ticket.assignee == alice and ticket.status == Ticket.Status.SOLVED
    assert page.locator(".event", has_text="Alice Rossi assigned the ticket to Alice Rossi").count() == 1
    assert page.js_errors == []


def test_failed_delivery_can_be_retried(
    page_as: Any, alice: User, billing: Team, http_peer: HttpPeer
) -> None:
    http_peer.script("/replies", then=Reply(200, b'{"id": "ok"}'))
    channel = make_api_channel(team=billing, callback_url=http_peer.url("/replies"))
    ticket = customer_writes(channel, "ciao")
    Message.objects.create(
        ticket=ticket,
        direction=Message.Direction.OUTBOUND,
        channel_account=channel,
        identity=ticket.messages.get().identity,
        author=alice,
        text="Risposta che non è partita",
        status=Message.Status.FAILED,
        failure_reason="callback answered 503",
    )
    page = page_as(alice)
    page.goto(f"/tickets/{ticket.pk}/")
    assert page.inner_text(".msg-outbound [data-testid=delivery-status]") == "Failed"
    page.click("[data-testid=retry]")
    page.wait_for_selector(".msg-outbound [data-testid=delivery-status] >> text=Sent")


def test_assign_to_another_agent_priority_and_tags(
    page_as: Any, alice: User, bob: User, api_channel: ChannelAccount
) -> None:
    ticket = customer_writes(api_channel, "help")
    page = page_as(alice)
    page.goto(f"/tickets/{ticket.pk}/")
    page.click(".more-actions summary")
    page.select_option("[data-testid=assignee-select]", str(bob.pk))
    page.click("form:has([data-testid=assignee-select]) button")
    page.wait_for_selector("[data-testid=ticket-assignee] >> text=Bob Bianchi")
    page.click(".more-actions summary")
    page.select_option("[data-testid=priority-select]", "4")
    page.click("form:has([data-testid=priority-select]) button")
    page.wait_for_selector("[data-testid=ticket-priority] >> text=Urgent")
    page.click(".more-actions summary")
    page.fill("[data-testid=tags-input]", "vip, spedizione")
    page.click("form:has([data-testid=tags-input]) button")
    page.wait_for_selector(".actions .tag >> text=spedizione")
    ticket.refresh_from_db()
    assert ticket.assignee == bob and ticket.priority == 4
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["spedizione", "vip"]


def test_malicious_customer_content_never_executes(
    page_as: Any, alice: User, api_channel: ChannelAccount
) -> None:
    evil_html = (
        "<p>Hello<script>window.__pwned = 'script'</script></p>"
        "<img src='/nothing.png' onerror=\"window.__pwned = 'img'\">"
        "<a id='evil-link' href=\"javascript:window.__pwned='link'\">click me</a>"
        "<svg onload=\"window.__pwned='svg'\"></svg>"
        "<iframe src=\"javascript:parent.__pwned='iframe'\"></iframe>"
    )
    ticket = customer_writes(
        api_channel,
        "<script>window.__pwned = 'text'</script>",
        subject="<img src=x onerror=\"window.__pwned='subject'\">",
        name="<script>window.__pwned='name'</script>",
        html=evil_html,
    )
    customer_writes(api_channel, "<img src=x onerror=\"window.__pwned='plain'\">")
    page = page_as(alice)
    for url in ("/inbox/unassigned/", f"/tickets/{ticket.pk}/", "/inbox/search/?q=script"):
        page.goto(url)
        page.wait_for_load_state("load")
        assert page.evaluate("typeof window.__pwned") == "undefined", url
    page.goto(f"/tickets/{ticket.pk}/")
    link = page.locator("#timeline a", has_text="click me")
    assert link.get_attribute("href") in (None, "")
    link.click()
    page.wait_for_timeout(200)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    # The text arrived intact as text: agents can read what the customer sent.
    assert page.locator("#timeline .msg-text", has_text="<img src=x onerror=").count() == 1
    assert page.locator("#timeline script, #timeline iframe, #timeline svg").count() == 0


def test_forbidden_ticket_is_not_found(
    page_as: Any, carla: User, api_channel: ChannelAccount, tech: Team
) -> None:
    ticket = customer_writes(api_channel, "billing secret", subject="Billing secret")
    page = page_as(carla)
    response = page.goto(f"/tickets/{ticket.pk}/")
    assert response.status == 404
    page.goto("/inbox/search/?q=billing")
    assert page.locator("[data-ticket-row]").count() == 0
    page.goto(f"/inbox/team/{tech.pk}/")
    assert "Billing secret" not in page.content()


def test_draft_survives_a_reload_until_it_is_sent(
    page_as: Any, alice: User, api_channel: ChannelAccount
) -> None:
    ticket = customer_writes(api_channel, "hello")
    page = page_as(alice)
    page.goto(f"/tickets/{ticket.pk}/")
    page.keyboard.press("n")
    page.keyboard.type("Half a note")
    # A function, not an expression: the page's CSP forbids eval, which a bare expression needs.
    page.wait_for_function(f"() => localStorage.getItem('sportello.draft.{ticket.pk}') !== null")  # debounced
    page.reload()
    assert page.input_value("[data-testid=composer-text]") == "Half a note"
    assert page.locator("#composer").get_attribute("data-mode") == "note"
    # Accepted by the server: the draft is gone, also after a reload.
    page.click("[data-testid=send]")
    page.locator(".msg-note", has_text="Half a note").wait_for()
    assert page.input_value("[data-testid=composer-text]") == ""
    page.reload()
    assert page.input_value("[data-testid=composer-text]") == ""


def test_merge_this_ticket_into_another(page_as: Any, alice: User, api_channel: ChannelAccount) -> None:
    target = customer_writes(api_channel, "Primo", sender="a")
    source = customer_writes(api_channel, "Doppione", sender="b")
    page = page_as(alice)
    page.goto(f"/tickets/{source.pk}/")
    page.click(".more-actions summary")
    page.fill("[data-testid=merge-target]", str(target.pk))
    page.click("form:has([data-testid=merge-target]) button")
    page.wait_for_url(f"**/tickets/{target.pk}/")
    page.locator("#timeline .msg", has_text="Doppione").wait_for()
    source.refresh_from_db()
    assert source.merged_into_id == target.pk
