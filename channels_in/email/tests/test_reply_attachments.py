"""Files an agent attaches to a reply leave as MIME parts through a real SMTP server."""

from __future__ import annotations

import email
from email import policy
from typing import Any

import pytest
from django.contrib.auth.models import User

from channels_in.email.tests.conftest import make_mailbox
from channels_in.email.tests.mails import mail
from channels_in.email.tests.receiving import receive
from channels_in.models import ChannelAccount
from tests.fixtures.files import PDF, PNG
from tests.fixtures.mailservers import SmtpServer
from tickets.models import Message
from tickets.services.messages import message_send_reply
from tickets.services.outgoing_attachments import Upload

pytestmark = pytest.mark.django_db


def test_composer_files_are_mime_parts_of_the_reply(
    billing: Any,
    smtp_server: SmtpServer,
    alice: User,
    django_capture_on_commit_callbacks: Any,
    media_tmp: Any,
) -> None:
    mailbox: ChannelAccount = make_mailbox(
        team=billing,
        smtp={"host": smtp_server.host, "port": smtp_server.port, "security": "none", "timeout": 5},
    )
    receive(mailbox, mail(), django_capture_on_commit_callbacks)
    ticket = Message.objects.get().ticket

    # The delivery task runs on commit, as in production.
    with django_capture_on_commit_callbacks(execute=True):
        reply = message_send_reply(
            ticket=ticket,
            author=alice,
            text="In allegato etichetta e foto.",
            attachments=[
                Upload("etichetta.pdf", "application/pdf", PDF),
                Upload("foto.png", "image/png", PNG),
            ],
        )

    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT, reply.failure_reason
    sent = email.message_from_bytes(smtp_server.wait_for(1)[0].data, policy=policy.default)
    assert sent.get_content_type() == "multipart/mixed"
    parts = {part.get_filename(): part for part in sent.iter_attachments()}
    assert set(parts) == {"etichetta.pdf", "foto.png"}
    assert parts["etichetta.pdf"].get_content_type() == "application/pdf"
    assert parts["etichetta.pdf"].get_content() == PDF
    assert parts["foto.png"].get_content_type() == "image/png"
    assert parts["foto.png"].get_content() == PNG
    assert sent.get_body(("plain",)).get_content().strip() == "In allegato etichetta e foto."
