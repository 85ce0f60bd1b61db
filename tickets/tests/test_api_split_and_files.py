"""The API's doors to the workspace features: files on replies and notes, downloads, split."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from channels_in.models import ChannelAccount
from tests.fixtures.files import PDF, PNG
from tests.fixtures.personas import make_api_channel
from tickets.models import Attachment, Message, Ticket, TicketEvent
from tickets.services.tickets import ticket_update
from tickets.tests.api_support import client_for, customer_writes, new_ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_tmp")]


def upload(name: str, content: bytes, kind: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=kind)


def test_reply_with_files_by_multipart(api_channel: ChannelAccount, alice: User) -> None:
    ticket = new_ticket(api_channel)
    response = client_for(alice).post(
        f"/api/v1/tickets/{ticket.pk}/reply",
        {
            "text": "In allegato",
            "files": [upload("a.pdf", PDF, "application/pdf"), upload("b.png", PNG, "image/png")],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    files = response.json()["attachments"]
    assert [(item["filename"], item["content_type"]) for item in files] == [
        ("a.pdf", "application/pdf"),
        ("b.png", "image/png"),
    ]
    assert files[0]["url"] == f"http://testserver/api/v1/attachments/{files[0]['id']}"


def test_note_with_a_file_and_json_reply_without(api_channel: ChannelAccount, alice: User) -> None:
    ticket = new_ticket(api_channel)
    client = client_for(alice)
    note = client.post(
        f"/api/v1/tickets/{ticket.pk}/notes",
        {"text": "foto del danno", "files": [upload("danno.png", PNG, "image/png")]},
        format="multipart",
    )
    assert note.status_code == 201 and note.json()["attachments"][0]["filename"] == "danno.png"
    plain = client.post(f"/api/v1/tickets/{ticket.pk}/reply", {"text": "ok"}, format="json")
    assert plain.status_code == 201 and plain.json()["attachments"] == []


def test_too_large_is_413_and_a_bad_type_400_and_nothing_is_stored(
    api_channel: ChannelAccount, alice: User, settings: Any
) -> None:
    settings.ATTACHMENT_MAX_BYTES = 1024
    ticket = new_ticket(api_channel)
    client = client_for(alice)
    big = client.post(
        f"/api/v1/tickets/{ticket.pk}/reply",
        {"text": "x", "files": [upload("big.pdf", PDF + b"0" * 2000, "application/pdf")]},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert big.status_code == 413
    assert "big.pdf" in big.json()["detail"]
    html = client.post(
        f"/api/v1/tickets/{ticket.pk}/reply",
        {"text": "x", "files": [upload("page.html", b"<script>alert(1)</script>", "text/html")]},
        format="multipart",
    )
    assert html.status_code == 400 and "page.html" in html.json()["files"][0]
    assert not Message.objects.filter(direction="outbound").exists()
    assert not Attachment.objects.exists()


def test_download_is_an_attachment_and_only_for_who_sees_the_ticket(
    api_channel: ChannelAccount, alice: User, carla: User
) -> None:
    ticket = new_ticket(api_channel)
    client = client_for(alice)
    reply = client.post(
        f"/api/v1/tickets/{ticket.pk}/reply",
        {"text": "x", "files": [upload("r.pdf", PDF, "application/pdf"), upload("p.png", PNG, "image/png")]},
        format="multipart",
    ).json()
    pdf, png = reply["attachments"]

    served = client.get(f"/api/v1/attachments/{pdf['id']}")
    assert served.status_code == 200 and b"".join(served.streaming_content) == PDF
    assert served["Content-Disposition"].startswith("attachment;")
    assert served["Content-Type"] == "application/octet-stream"
    assert served["X-Content-Type-Options"] == "nosniff"
    # A PDF is never shown inline, even when asked; a raster image is, sandboxed.
    assert client.get(f"/api/v1/attachments/{pdf['id']}?preview=1")["Content-Disposition"].startswith(
        "attachment;"
    )
    preview = client.get(f"/api/v1/attachments/{png['id']}?preview=1")
    assert preview["Content-Type"] == "image/png" and preview["Content-Disposition"].startswith("inline;")
    assert "sandbox" in preview["Content-Security-Policy"]

    assert client_for(carla).get(f"/api/v1/attachments/{pdf['id']}").status_code == 404
    assert client_for(alice).get("/api/v1/attachments/999999").status_code == 404


def test_split_through_the_api(api_channel: ChannelAccount, alice: User, carla: User, bob: User) -> None:
    first = customer_writes(api_channel, sender="c1", text="pacco rotto", subject="Pacco")
    second = customer_writes(api_channel, sender="c1", text="e la fattura è sbagliata")
    ticket = first.ticket
    ticket.refresh_from_db()
    client = client_for(alice)

    assert client_for(carla).post(f"/api/v1/messages/{second.message.pk}/split", {}).status_code == 404

    stale_seq = ticket.seq
    ticket_update(ticket=ticket, actor=bob, priority=Ticket.Priority.HIGH)
    stale = client.post(
        f"/api/v1/messages/{second.message.pk}/split", {"expected_seq": stale_seq}, format="json"
    )
    assert stale.status_code == 409 and stale.json()["ticket"]["priority"] == Ticket.Priority.HIGH

    ticket.refresh_from_db()
    done = client.post(
        f"/api/v1/messages/{second.message.pk}/split",
        {"expected_seq": ticket.seq, "reason": "due problemi"},
        format="json",
    )
    assert done.status_code == 201, done.content
    assert done.json()["split_from"] == ticket.pk
    new = Ticket.objects.get(pk=done.json()["id"])
    assert new.split_from_id == ticket.pk and new.subject == "e la fattura è sbagliata"
    with translation.override("en"):
        assert TicketEvent.objects.get(ticket=new, type="ticket.created").reason_text == (
            f"split from #{ticket.pk}: due problemi"
        )
    # The original keeps one message: splitting that one would leave it empty.
    only = client.post(f"/api/v1/messages/{first.message.pk}/split", {}, format="json")
    assert only.status_code == 400


def test_split_of_a_reply_is_refused(billing: Any, alice: User) -> None:
    channel = make_api_channel(team=billing, trust_identities=True)
    ticket = new_ticket(channel)
    reply = client_for(alice).post(f"/api/v1/tickets/{ticket.pk}/reply", {"text": "ok"}, format="json")
    refused = client_for(alice).post(f"/api/v1/messages/{reply.json()['id']}/split", {}, format="json")
    assert refused.status_code == 400 and "customer" in refused.json()["detail"]
