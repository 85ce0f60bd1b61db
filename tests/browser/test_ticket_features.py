"""Files in the composer, splitting a message, undoing a contact merge: real Chromium, real server."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from channels_in.models import ChannelAccount
from tests.fixtures.browser import customer_writes, session_cookie_for
from tests.fixtures.files import PDF, PNG
from tests.fixtures.http_peer import HttpPeer, Reply
from tests.fixtures.personas import make_api_channel
from tickets.models import Attachment, ContactMerge, Message, Team, Ticket
from tickets.services.contacts import contact_merge

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120), pytest.mark.usefixtures("media_tmp")]


def live(page: Any, state: str = "subscribed") -> None:
    page.wait_for_selector(f"body[data-live={state}]")


def drop_file(page: Any, selector: str, name: str, kind: str, content: bytes) -> None:
    """A real drop event carrying a file, as when an agent drags one from the desktop."""
    page.evaluate(
        """([selector, name, kind, data]) => {
            const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: kind }));
            const target = document.querySelector(selector);
            target.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true }));
            target.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true }));
        }""",
        [selector, name, kind, base64.b64encode(content).decode()],
    )


def test_reply_with_picked_and_dropped_files_reaches_the_customer(
    page_as: Any, alice: User, billing: Team, http_peer: HttpPeer, tmp_path: Path
) -> None:
    http_peer.script("/replies", then=Reply(200, b'{"id": "p-1"}'))
    channel = make_api_channel(team=billing, callback_url=http_peer.url("/replies"))
    ticket = customer_writes(channel, "Mi mandate l'etichetta?", name="Maria Rossi")
    (tmp_path / "etichetta.pdf").write_bytes(PDF)
    (tmp_path / "appunti.txt").write_bytes(b"da togliere")
    page = page_as(alice)
    page.goto(f"/tickets/{ticket.pk}/")

    page.set_input_files("[data-testid=composer-files]", [str(tmp_path / "etichetta.pdf")])
    page.set_input_files("[data-testid=composer-files]", [str(tmp_path / "appunti.txt")])
    drop_file(page, "#composer", "foto.png", "image/png", PNG)
    chips = page.locator("[data-testid=attachment-chip]")
    assert chips.count() == 3
    assert "appunti.txt" in chips.nth(1).inner_text()
    chips.nth(1).locator("[data-testid=attachment-remove]").click()
    assert chips.count() == 2
    # An HTML file is stopped in the browser already, with the reason.
    drop_file(page, "#composer", "pagina.html", "text/html", b"<script>alert(1)</script>")
    assert "pagina.html" in page.inner_text("[data-testid=attachment-error]")
    assert chips.count() == 2

    page.fill("[data-testid=composer-text]", "Eccole.")
    page.click("[data-testid=send]")
    reply = page.locator(".msg-outbound", has_text="Eccole.")
    reply.wait_for()
    assert reply.locator("[data-testid=attachment]").count() == 2
    preview = reply.locator("img.preview[alt='foto.png']")
    preview.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth === 1", arg=preview.element_handle())
    page.wait_for_selector(".msg-outbound [data-testid=delivery-status] >> text=Sent")

    [request] = http_peer.received("/replies")
    sent = {item["filename"]: item for item in json.loads(request.body)["attachments"]}
    assert set(sent) == {"etichetta.pdf", "foto.png"}
    assert base64.b64decode(sent["etichetta.pdf"]["content_base64"]) == PDF

    with page.expect_download() as download:
        reply.locator("a[download]", has_text="etichetta.pdf").click()
    assert Path(download.value.path()).read_bytes() == PDF
    assert page.js_errors == []


def test_a_file_over_the_limit_is_refused_with_the_reason_and_nothing_sent(
    page_as: Any, alice: User, api_channel: ChannelAccount, settings: Any, tmp_path: Path
) -> None:
    settings.ATTACHMENT_MAX_BYTES = 1024
    ticket = customer_writes(api_channel, "ciao")
    (tmp_path / "grande.pdf").write_bytes(PDF + b"0" * 4096)
    page = page_as(alice)
    page.goto(f"/tickets/{ticket.pk}/")
    page.set_input_files("[data-testid=composer-files]", [str(tmp_path / "grande.pdf")])
    assert "grande.pdf" in page.inner_text("[data-testid=attachment-error]")
    assert page.locator("[data-testid=attachment-chip]").count() == 0

    # The server says the same when the browser's check is bypassed.
    page.evaluate("document.getElementById('composer').dataset.maxBytes = '99999999'")
    page.set_input_files("[data-testid=composer-files]", [str(tmp_path / "grande.pdf")])
    page.fill("[data-testid=composer-text]", "in allegato")
    page.click("[data-testid=send]")
    page.wait_for_selector(".flash-error >> text=grande.pdf is too large: at most 1 KB per file.")
    # Refused, so the text is still there to send without the file.
    assert page.input_value("[data-testid=composer-text]") == "in allegato"
    assert not Attachment.objects.exists()
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()


def test_split_a_message_into_a_new_ticket_while_another_agent_watches(
    page_as: Any,
    chromium: Any,
    live_server_url: str,
    alice: User,
    bob: User,
    api_channel: ChannelAccount,
) -> None:
    ticket = customer_writes(api_channel, "Il pacco è arrivato rotto", subject="Pacco rotto")
    customer_writes(api_channel, "Anche la fattura è sbagliata")
    page = page_as(alice)
    page.goto(f"/tickets/{ticket.pk}/")

    other = chromium.new_context(base_url=live_server_url)
    try:
        other.add_cookies([session_cookie_for(bob, live_server_url)])
        bobs_page = other.new_page()
        bobs_page.goto(f"/tickets/{ticket.pk}/")
        live(bobs_page)

        message = page.locator(".msg-inbound", has_text="Anche la fattura è sbagliata")
        page.once("dialog", lambda dialog: dialog.dismiss())
        message.locator("[data-testid=split-message]").click()
        assert not Ticket.objects.filter(split_from=ticket).exists()  # cancelled: nothing happened

        page.once("dialog", lambda dialog: dialog.accept())
        message.locator("[data-testid=split-message]").click()
        new = Ticket.objects.filter(split_from=ticket)
        page.wait_for_url(f"**/tickets/{new.get().pk}/")
        split = new.get()
        assert page.inner_text(".ticket-title") == f"#{split.pk} Anche la fattura è sbagliata"
        page.locator(".event", has_text=f"Alice Rossi split this ticket off #{ticket.pk}").wait_for()

        # Bob's screen of the original follows without a reload.
        bobs_page.locator(".event", has_text=f"split a message into the new ticket #{split.pk}").wait_for()
        assert bobs_page.locator(".msg-inbound", has_text="Anche la fattura").count() == 0
    finally:
        other.close()
    assert page.js_errors == []


def test_split_refused_when_the_ticket_changed_meanwhile(
    page_as: Any, alice: User, bob: User, api_channel: ChannelAccount
) -> None:
    from tickets.services.tickets import ticket_update

    ticket = customer_writes(api_channel, "Primo")
    customer_writes(api_channel, "Secondo")
    page = page_as(alice)
    page.goto(f"/tickets/{ticket.pk}/")
    live(page)
    # Bob changes the ticket, and Alice's click races it: her form still carries the seq before.
    ticket_update(ticket=ticket, actor=bob, priority=4)
    page.locator(".event", has_text="Bob Bianchi changed the priority").wait_for()
    page.evaluate(
        "document.querySelectorAll('.msg-split input[name=seq]')"
        ".forEach(input => { input.value = String(Number(input.value) - 1); })"
    )
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".msg-inbound", has_text="Secondo").locator("[data-testid=split-message]").click()
    page.wait_for_selector(".flash-error >> text=Someone else changed this ticket meanwhile")
    assert not Ticket.objects.filter(split_from=ticket).exists()


def test_undo_a_contact_merge_from_the_sidebar(
    page_as: Any,
    chromium: Any,
    live_server_url: str,
    alice: User,
    sam: User,
    api_channel: ChannelAccount,
) -> None:
    kept = customer_writes(api_channel, "Dal sito", sender="a", name="Anna Bianchi")
    other = customer_writes(api_channel, "Dall'app", sender="b", name="Anna B.")
    merge = contact_merge(source=other.contact, target=kept.contact, actor=alice)

    other_context = chromium.new_context(base_url=live_server_url)
    try:
        other_context.add_cookies([session_cookie_for(sam, live_server_url)])
        sams_page = other_context.new_page()
        sams_page.goto(f"/tickets/{kept.pk}/")
        live(sams_page)
        assert "merged from Anna B." in sams_page.inner_text("[data-testid=contact-merges]")

        page = page_as(alice)
        page.goto(f"/tickets/{kept.pk}/")
        line = page.locator("[data-testid=contact-merges] li", has_text="Anna B.")
        assert "by Alice Rossi" in line.inner_text()
        page.once("dialog", lambda dialog: dialog.accept())
        line.locator("[data-testid=undo-contact-merge]").click()
        page.wait_for_selector(".flash >> text=Merge undone: Anna B. is a contact of their own again.")
        assert page.locator("[data-testid=contact-merges]").count() == 0
        assert ContactMerge.objects.get(pk=merge.pk).undone_at is not None

        # Sam's open screen drops the merge from the sidebar by itself.
        sams_page.locator("[data-testid=contact-merges]").wait_for(state="detached")
        sams_page.locator(".event", has_text="undid the merge of contact").wait_for()
    finally:
        other_context.close()
    assert page.js_errors == []
