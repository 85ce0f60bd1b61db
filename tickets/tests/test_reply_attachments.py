"""Files agents attach to replies and notes: checked, stored, and really sent on each channel."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import translation

from channels_in.models import ChannelAccount
from channels_in.signing import signature_valid
from tests.fixtures.browser import customer_writes
from tests.fixtures.files import PDF, PNG
from tests.fixtures.http_peer import HttpPeer, Reply
from tests.fixtures.personas import make_api_channel
from tickets.models import Attachment, Message
from tickets.services.messages import message_deliver, message_send_reply, note_add
from tickets.services.outgoing_attachments import AttachmentRefused, Upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_tmp")]


def test_a_reply_keeps_its_files_and_one_blob_per_content(api_channel: ChannelAccount, alice: User) -> None:
    ticket = customer_writes(api_channel, "il pacco è rotto")
    reply = message_send_reply(
        ticket=ticket,
        author=alice,
        text="Ecco l'etichetta",
        attachments=[
            Upload("etichetta.pdf", "application/pdf", PDF),
            Upload("copia.pdf", "application/pdf; name=copia.pdf", PDF),
        ],
    )
    rows = list(reply.attachments.order_by("pk"))
    assert [(row.filename, row.content_type, row.size) for row in rows] == [
        ("etichetta.pdf", "application/pdf", len(PDF)),
        ("copia.pdf", "application/pdf", len(PDF)),
    ]
    assert rows[0].sha256 == hashlib.sha256(PDF).hexdigest() and rows[0].file.name == rows[1].file.name
    assert rows[0].file.read() == PDF


def test_an_agent_file_name_is_normalised_as_a_customer_one(api_channel: ChannelAccount, alice: User) -> None:
    ticket = customer_writes(api_channel, "il pacco è rotto")
    note = note_add(
        ticket=ticket,
        author=alice,
        text="",
        attachments=[Upload("foto\u202egnp.pdf", "application/pdf", PDF)],
    )

    assert [item.filename for item in note.attachments.all()] == ["fotognp.pdf"]


def test_a_note_may_be_only_a_file(api_channel: ChannelAccount, alice: User) -> None:
    ticket = customer_writes(api_channel, "foto del danno?")
    note = note_add(ticket=ticket, author=alice, text="", attachments=[Upload("danno.png", "image/png", PNG)])
    assert note.direction == Message.Direction.NOTE and note.attachments.get().filename == "danno.png"


@pytest.mark.parametrize(
    ("uploads", "too_large", "words"),
    [
        ([Upload(f"f{n}.pdf", "application/pdf", PDF) for n in range(4)], True, "At most 3 files"),
        ([Upload("big.pdf", "application/pdf", PDF + b"x" * 3000)], True, "big.pdf is too large"),
        ([Upload("a.pdf", "application/pdf", PDF + b"x" * 1500)] * 3, True, "too large together"),
        ([Upload("page.html", "text/html", b"<script>alert(1)</script>")], False, "text/html"),
        ([Upload("logo.svg", "image/svg+xml", b"<svg onload=alert(1)>")], False, "image/svg+xml"),
        ([Upload("fake.png", "image/png", b"<html><script>x</script>")], False, "not a image/png"),
        ([Upload("note.txt", "text/plain", b"MZ\x00\x00binary")], False, "not plain text"),
    ],
)
def test_refused_files_store_nothing(
    api_channel: ChannelAccount,
    alice: User,
    settings: Any,
    uploads: list[Upload],
    too_large: bool,
    words: str,
) -> None:
    settings.REPLY_ATTACHMENTS_MAX_FILES = 3
    settings.ATTACHMENT_MAX_BYTES = 2048
    settings.REPLY_ATTACHMENTS_MAX_BYTES = 4096
    ticket = customer_writes(api_channel, "ciao")
    with pytest.raises(AttachmentRefused) as refused:
        message_send_reply(ticket=ticket, author=alice, text="in allegato", attachments=uploads)
    assert refused.value.too_large is too_large
    with translation.override("en"):
        assert words in " ".join(refused.value.messages)
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()
    assert not Attachment.objects.exists()


def test_api_channel_callback_carries_the_files_signed(
    billing: Any, alice: User, http_peer: HttpPeer
) -> None:
    channel = make_api_channel(team=billing, trust_identities=True, callback_url=http_peer.url("/cb"))
    http_peer.script("/cb", Reply(200, b"{}"))
    ticket = customer_writes(channel, "serve l'etichetta")
    reply = message_send_reply(
        ticket=ticket, author=alice, text="Eccola", attachments=[Upload("reso.pdf", "application/pdf", PDF)]
    )
    assert message_deliver(message_id=reply.pk).status == Message.Status.SENT

    [request] = http_peer.received("/cb")
    assert signature_valid(channel.config["secret"], request.body, request.header("X-Sportello-Signature"))
    [sent] = json.loads(request.body)["attachments"]
    assert sent["filename"] == "reso.pdf" and sent["content_type"] == "application/pdf"
    assert base64.b64decode(sent["content_base64"]) == PDF
    assert sent["size"] == len(PDF) and sent["sha256"] == hashlib.sha256(PDF).hexdigest()


def test_api_channel_callback_without_files_has_an_empty_list(
    billing: Any, alice: User, http_peer: HttpPeer
) -> None:
    channel = make_api_channel(team=billing, trust_identities=True, callback_url=http_peer.url("/cb"))
    http_peer.script("/cb", Reply(200, b"{}"))
    reply = message_send_reply(ticket=customer_writes(channel, "ciao"), author=alice, text="Salve")
    message_deliver(message_id=reply.pk)
    assert json.loads(http_peer.received("/cb")[0].body)["attachments"] == []


def test_web_chat_visitor_gets_a_link_to_the_agents_file(client: Client, billing: Any, alice: User) -> None:
    from channels_in.webchat.selectors import visitor_catch_up
    from channels_in.webchat.tests.conftest import make_webchat_channel

    webchat = make_webchat_channel(team=billing)
    ticket = customer_writes(webchat, "mi mandate la foto?", identity=("webchat", "v" * 32))
    reply = message_send_reply(
        ticket=ticket, author=alice, text="Eccola", attachments=[Upload("foto.png", "image/png", PNG)]
    )
    assert message_deliver(message_id=reply.pk).status == Message.Status.SENT

    messages, _marks = visitor_catch_up(account=webchat, visitor_id="v" * 32, marks={})
    [shown] = [item for item in messages if item["direction"] == "out"]
    [file] = shown["attachments"]
    assert file["name"] == "foto.png" and file["type"] == "image/png"
    served = client.get(file["url"])
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == PNG
    assert served["X-Content-Type-Options"] == "nosniff"
