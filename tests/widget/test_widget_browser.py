"""The widget in real headless Chromium, embedded in a customer's site on another origin, against a real
help desk (``manage.py serve``): chat with an agent, reload, crash and restart, isolation, bad sites.
"""

from __future__ import annotations

import gzip
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect
from rest_framework.authtoken.models import Token

from channels_in.models import ChannelAccount
from channels_in.webchat.tests.conftest import make_webchat_channel
from tests.fixtures.personas import make_agent
from tests.widget.conftest import OPEN_CONTEXTS, CustomerSite, HelpDesk, wait_for
from tickets.models import AgentProfile, Message, Team

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parent.parent.parent
SLOW_MS = 30_000
# Records the host page's JS API events and offers the stub a site may call before the loader arrives.
API_STUB = """<script>
  window.Sportello = {q: [], on: function () { this.q.push(["on", arguments]); return this; }};
  Sportello.on("message", function (m) { hostEvents.push("message:" + m.text); });
  Sportello.on("open", function () { hostEvents.push("open"); });
</script>"""


@pytest.fixture
def agent(db: None) -> tuple[User, str, Team]:
    team = Team.objects.create(name="Chat")
    user = make_agent("alice_rossi", teams=[team])
    return user, Token.objects.create(user=user).key, team


@pytest.fixture
def channel(agent: tuple[User, str, Team], customer_site: CustomerSite) -> ChannelAccount:
    return make_webchat_channel(
        team=agent[2], allowed_origins=[customer_site.origin], title="Bottega", response_minutes=5
    )


def shop(site: CustomerSite, desk: HelpDesk, account: ChannelAccount, path: str = "/shop") -> str:
    return site.page(path, script_src=f"{desk.url}/static/widget/widget.js", key=account.key, extra=API_STUB)


def new_page(chromium: Any, **options: Any) -> Any:
    options.setdefault("locale", "en-US")
    context = chromium.new_context(**options)
    OPEN_CONTEXTS.append(context)
    context.set_default_timeout(SLOW_MS)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))
    return page


def widget(page: Any) -> Any:
    return page.frame_locator("iframe[src*='/widget/']")


def open_chat(page: Any) -> Any:
    chat = widget(page)
    chat.locator("button.launcher").click()
    expect(chat.locator(".connection")).to_have_attribute("data-state", "online", timeout=SLOW_MS)
    return chat


def send(chat: Any, text: str) -> None:
    chat.locator("#composer-text").fill(text)
    chat.locator("#composer-text").press("Enter")


def agent_replies(desk: HelpDesk, token: str, ticket_id: int, text: str) -> None:
    response = httpx.post(
        f"{desk.url}/api/v1/tickets/{ticket_id}/reply",
        json={"text": text},
        headers={"Authorization": f"Token {token}"},
        timeout=15,
    )
    assert response.status_code < 300, response.text


def agent_online(chromium: Any, desk: HelpDesk, user: User) -> Any:
    """The agent's browser holding the agent socket, which is what makes an agent online."""
    from tests.fixtures.browser import session_cookie_for

    page = new_page(chromium)
    page.context.add_cookies([session_cookie_for(user, desk.url)])
    page.goto(desk.url + "/login/")
    page.evaluate(
        """() => new Promise((resolve) => {
             window.agentSocket = new WebSocket(location.origin.replace("http", "ws") + "/ws/agent/");
             window.agentSocket.onmessage = () => resolve(true);
           })"""
    )
    wait_for(
        lambda: AgentProfile.objects.filter(user=user, presence=AgentProfile.Presence.ONLINE).exists(),
        what="the agent online",
    )
    return page


def filed(text: str) -> Message:
    return wait_for(
        lambda: Message.objects.filter(text=text).select_related("ticket").first(), what=f"{text!r} filed"
    )


def test_the_loader_is_small() -> None:
    source = (ROOT / "channels_in/webchat/static/widget/widget.js").read_bytes()
    size = len(gzip.compress(source, compresslevel=9))
    print(f"\nwidget.js: {len(source)} bytes, {size} bytes gzipped")
    assert size <= 10 * 1024


def test_a_visitor_chats_with_an_agent_live_and_reload_restores_it(  # type: ignore[no-untyped-def]
    chromium, running: HelpDesk, customer_site: CustomerSite, channel: ChannelAccount, agent
) -> None:
    agent_online(chromium, running, agent[0])
    page = new_page(chromium)
    started = time.monotonic()
    page.goto(shop(customer_site, running, channel))
    launcher = widget(page).locator("button.launcher")
    expect(launcher).to_be_visible(timeout=SLOW_MS)
    print(f"\nscript tag to usable launcher: {(time.monotonic() - started) * 1000:.0f} ms")
    # The host's stylesheet (a red border on every iframe) cannot touch the widget.
    assert page.eval_on_selector("iframe", "e => getComputedStyle(e).borderTopWidth") == "0px"

    chat = open_chat(page)
    expect(chat.locator(".availability")).to_contain_text("5 minutes")
    hostile = '<img src=x onerror="top.pwned=1"><script>top.pwned=2</script> is my order lost?'
    send(chat, hostile)
    mine = chat.locator(".msg.mine").last
    expect(mine.locator(".text")).to_have_text(hostile)
    expect(mine.locator(".status")).to_have_text("Sent", timeout=SLOW_MS)

    message = filed(hostile)
    assert message.channel_account == channel
    agent_replies(running, agent[1], message.ticket_id, "<b>Buongiorno!</b> <script>top.pwned=3</script>")
    reply = chat.locator(".msg.theirs .text")
    expect(reply).to_have_text("<b>Buongiorno!</b> <script>top.pwned=3</script>", timeout=SLOW_MS)
    expect(chat.locator(".msg.theirs .author")).to_have_text("Alice")
    assert page.evaluate("window.pwned") is None
    assert chat.locator(".log img, .log script, .log b").count() == 0
    # The panel is open and the page visible: the reply is marked read for the agent.
    wait_for(
        lambda: Message.objects.filter(direction="outbound", status=Message.Status.READ).exists(),
        what="the reply marked read",
    )
    assert page.evaluate("hostEvents") == [
        "open",
        "message:<b>Buongiorno!</b> <script>top.pwned=3</script>",
    ]

    page.reload()
    chat = open_chat(page)
    expect(chat.locator(".msg .text")).to_have_text(
        [hostile, "<b>Buongiorno!</b> <script>top.pwned=3</script>"]
    )
    assert page.js_errors == []


def test_a_crash_and_restart_mid_conversation_loses_and_duplicates_nothing(  # type: ignore[no-untyped-def]
    chromium, running: HelpDesk, customer_site: CustomerSite, channel: ChannelAccount, agent
) -> None:
    page = new_page(chromium)
    page.goto(shop(customer_site, running, channel))
    chat = open_chat(page)
    send(chat, "before the crash")
    expect(chat.locator(".msg.mine .status").last).to_have_text("Sent", timeout=SLOW_MS)
    ticket_id = filed("before the crash").ticket_id
    # The help desk's own copy is on screen (not just the acknowledgement of the typed one).
    expect(chat.locator(".msg.mine:not(.pending)")).to_have_count(1, timeout=SLOW_MS)

    running.kill()
    expect(chat.locator(".connection")).to_have_attribute("data-state", re.compile("offline|connecting"))
    send(chat, "typed while it was down")
    send(chat, "and another one")
    statuses = chat.locator(".msg.pending .status")
    expect(statuses).to_have_text(["Waiting for connection", "Waiting for connection"])

    running.start()
    expect(chat.locator(".connection")).to_have_attribute("data-state", "online", timeout=SLOW_MS)
    expect(chat.locator(".msg.mine .status")).to_have_text(["Sent", "Sent", "Sent"], timeout=SLOW_MS)
    filed("and another one")
    agent_replies(running, agent[1], ticket_id, "all three arrived")
    expect(chat.locator(".msg.theirs .text")).to_have_text(["all three arrived"], timeout=SLOW_MS)

    texts = list(
        Message.objects.filter(ticket_id=ticket_id).order_by("sent_at", "id").values_list("text", flat=True)
    )
    assert texts == ["before the crash", "typed while it was down", "and another one", "all three arrived"]
    page.reload()
    chat = open_chat(page)
    expect(chat.locator(".msg .text")).to_have_text(texts)


def test_two_visitors_never_see_each_other(  # type: ignore[no-untyped-def]
    chromium, running: HelpDesk, customer_site: CustomerSite, channel: ChannelAccount, agent
) -> None:
    url = shop(customer_site, running, channel)
    maria, luigi = new_page(chromium), new_page(chromium)
    maria.goto(url)
    luigi.goto(url)
    maria_chat, luigi_chat = open_chat(maria), open_chat(luigi)
    send(maria_chat, "Maria: my address is via Roma 1")
    send(luigi_chat, "Luigi: hello")
    agent_replies(running, agent[1], filed("Maria: my address is via Roma 1").ticket_id, "Thanks Maria")
    agent_replies(running, agent[1], filed("Luigi: hello").ticket_id, "Hi Luigi")

    expect(maria_chat.locator(".msg .text")).to_have_text(
        ["Maria: my address is via Roma 1", "Thanks Maria"], timeout=SLOW_MS
    )
    expect(luigi_chat.locator(".msg .text")).to_have_text(["Luigi: hello", "Hi Luigi"], timeout=SLOW_MS)
    luigi.reload()
    expect(open_chat(luigi).locator(".msg .text")).to_have_text(["Luigi: hello", "Hi Luigi"])


def test_another_site_or_a_help_desk_that_is_down_leaves_the_page_alone(  # type: ignore[no-untyped-def]
    chromium, running: HelpDesk, customer_site: CustomerSite, channel: ChannelAccount
) -> None:
    # Same page, but from localhost: another origin, not in the channel's list.
    shop(customer_site, running, channel, "/other")
    page = new_page(chromium)
    # The help desk answers 403 without CORS headers, so the browser does not even hand it to the loader.
    with page.expect_event("requestfailed", predicate=lambda request: "config.json" in request.url):
        page.goto(f"http://localhost:{customer_site.port}/other")
    page.click("#host-button")
    expect(page.locator("#host-status")).to_have_text("host page works")
    assert page.locator("iframe").count() == 0

    # A frame of the chat cannot be put on that site either: frame-ancestors refuses it.
    refused = httpx.get(
        f"{running.url}/widget/{channel.key}/frame/", params={"o": f"http://localhost:{customer_site.port}"}
    )
    assert refused.status_code == 403

    down = f"http://127.0.0.1:{_closed_port()}/static/widget/widget.js"
    customer_site.page("/down", script_src=down, key=channel.key)
    page.goto(customer_site.origin + "/down")
    page.click("#host-button")
    expect(page.locator("#host-status")).to_have_text("host page works")
    page.wait_for_load_state("load")
    assert page.locator("iframe").count() == 0
    assert page.js_errors == []


def _closed_port() -> int:
    from tests.fixtures.http_peer import free_port

    return free_port()


def test_phone_screen_keyboard_and_italian(  # type: ignore[no-untyped-def]
    chromium, running: HelpDesk, customer_site: CustomerSite, channel: ChannelAccount
) -> None:
    page = new_page(chromium, locale="it-IT", viewport={"width": 390, "height": 844}, has_touch=True)
    page.goto(shop(customer_site, running, channel))
    chat = widget(page)
    launcher = chat.locator("button.launcher")
    expect(launcher).to_have_attribute("aria-label", "Apri la chat")
    launcher.focus()
    page.keyboard.press("Enter")
    panel = chat.locator("[role=dialog]")
    expect(panel).to_be_visible()
    expect(chat.locator(".connection")).to_have_text("Connesso", timeout=SLOW_MS)
    expect(chat.locator("#composer-text")).to_be_focused()
    box = page.locator("iframe").bounding_box()
    assert (box["width"], box["height"]) == (390, 844)
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(launcher).to_be_focused()


def test_refused_messages_show_as_not_sent_and_a_retry_sends_them_once(  # type: ignore[no-untyped-def]
    chromium, running: HelpDesk, customer_site: CustomerSite, agent
) -> None:
    account = make_webchat_channel(
        team=agent[2], allowed_origins=[customer_site.origin], messages_per_minute=6
    )
    page = new_page(chromium)
    page.goto(shop(customer_site, running, account))
    chat = open_chat(page)
    # A budget of six at once, then one every ten seconds: eight typed in a row cannot all pass.
    for number in range(8):
        send(chat, f"message {number}")
    failed = chat.locator(".msg.pending .status[data-status=failed]")
    expect(failed.first).to_contain_text("too fast", timeout=SLOW_MS)
    deadline = time.monotonic() + 90
    # Retry what was refused until all of it is through, as a visitor pressing Retry would.
    while chat.locator("button.retry").count():
        assert time.monotonic() < deadline, "refused messages never went through"
        chat.locator("button.retry").first.click()
        expect(chat.locator(".msg.pending .status[data-status=sending]")).to_have_count(0)
        # Pacing, not synchronization: a person does not press Retry ten times a second.
        page.wait_for_timeout(1000)
    expect(chat.locator(".msg.mine .text")).to_have_count(8)
    wait_for(lambda: Message.objects.filter(channel_account=account).count() == 8, what="all eight filed")
    texts = sorted(Message.objects.filter(channel_account=account).values_list("text", flat=True))
    assert texts == sorted(f"message {number}" for number in range(8))


def test_a_network_drop_queues_messages_and_sends_them_when_it_returns(  # type: ignore[no-untyped-def]
    chromium, running: HelpDesk, customer_site: CustomerSite, channel: ChannelAccount
) -> None:
    page = new_page(chromium)
    page.goto(shop(customer_site, running, channel))
    chat = open_chat(page)
    page.context.set_offline(True)
    # The widget notices at the latest when its ping goes unanswered.
    expect(chat.locator(".connection")).to_have_attribute(
        "data-state", re.compile("offline|connecting"), timeout=60_000
    )
    send(chat, "written in a tunnel")
    expect(chat.locator(".msg.pending .status")).to_have_text(["Waiting for connection"])
    page.context.set_offline(False)
    expect(chat.locator(".connection")).to_have_attribute("data-state", "online", timeout=SLOW_MS)
    expect(chat.locator(".msg.mine:not(.pending) .text")).to_have_text(
        ["written in a tunnel"], timeout=SLOW_MS
    )
    assert Message.objects.filter(text="written in a tunnel").count() == 1
