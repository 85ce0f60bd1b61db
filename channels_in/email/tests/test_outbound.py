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
from tests.fixtures.mailservers import SmtpServer
from tickets.models import Message
from tickets.services.messages import message_send_reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp_mailbox(billing: Any, smtp_server: SmtpServer) -> ChannelAccount:
    return make_mailbox(
        team=billing,
        smtp={"host": smtp_server.host, "port": smtp_server.port, "security": "none", "timeout": 5},
    )


def test_agent_reply_threads_in_the_customers_client(
    smtp_mailbox: ChannelAccount,
    smtp_server: SmtpServer,
    alice: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    first = mail(message_id="<q1@example.com>", references="<older@example.com>")
    receive(smtp_mailbox, first, django_capture_on_commit_callbacks)
    inbound = Message.objects.get()
    ticket = inbound.ticket

    with django_capture_on_commit_callbacks(execute=True):
        reply = message_send_reply(ticket=ticket, author=alice, text="Gentile Maria,\n\nla spediamo oggi.")

    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT, reply.failure_reason
    [received] = smtp_server.wait_for(1)
    sent = email.message_from_bytes(received.data, policy=policy.default)
    assert received.recipients == ["maria@example.com"]
    assert sent["Message-ID"] == f"<{reply.external_id}>"
    assert reply.external_id.endswith("@example.com")
    assert sent["In-Reply-To"] == "<q1@example.com>"
    assert sent["References"] == "<older@example.com> <q1@example.com>"
    assert sent["Subject"] == f"Re: Ordine 1234 non arrivato [#{ticket.token}]"
    assert sent["From"].addresses[0].addr_spec == "support@example.com"
    assert sent["Reply-To"].addresses[0].addr_spec == f"support+{ticket.token}@example.com"
    assert sent["Auto-Submitted"] is None
    assert sent.get_content_type() == "multipart/alternative"
    plain = sent.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain.strip() == "Gentile Maria,\n\nla spediamo oggi."
    assert "<p>Gentile Maria,</p>" in sent.get_body(("html",)).get_content()
    assert reply.metadata["email"]["message_id"] == reply.external_id


def test_attachments_are_sent(
    smtp_mailbox: ChannelAccount,
    smtp_server: SmtpServer,
    alice: User,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
    tmp_path: Any,
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    receive(smtp_mailbox, mail(), django_capture_on_commit_callbacks)
    ticket = Message.objects.get().ticket
    from tickets.inbound import InboundAttachment
    from tickets.services.attachments import attachments_store

    with django_capture_on_commit_callbacks(execute=False):
        reply = message_send_reply(ticket=ticket, author=alice, text="In allegato la fattura.")
        attachments_store(
            message=reply,
            attachments=[InboundAttachment("fattura.pdf", "application/pdf", content=b"%PDF-1.4 test")],
        )
    from tickets.services.messages import message_deliver

    assert message_deliver(message_id=reply.pk).status == Message.Status.SENT
    sent = email.message_from_bytes(smtp_server.wait_for(1)[0].data, policy=policy.default)
    [attachment] = list(sent.iter_attachments())
    assert attachment.get_filename() == "fattura.pdf"
    assert attachment.get_content() == b"%PDF-1.4 test"


def test_refused_recipient_fails_permanently_with_the_reason(
    smtp_mailbox: ChannelAccount,
    smtp_server: SmtpServer,
    alice: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    receive(smtp_mailbox, mail(), django_capture_on_commit_callbacks)
    smtp_server.refuse["maria@example.com"] = "550 5.1.1 No such user"

    with django_capture_on_commit_callbacks(execute=True):
        reply = message_send_reply(ticket=Message.objects.get().ticket, author=alice, text="Ciao")

    reply.refresh_from_db()
    assert reply.status == Message.Status.FAILED
    assert "No such user" in reply.failure_reason


def test_unreachable_server_is_retried_not_failed(
    billing: Any, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.fixtures.http_peer import free_port
    from tickets.services.messages import message_deliver

    mailbox = make_mailbox(team=billing, smtp={"host": "127.0.0.1", "port": free_port(), "security": "none"})
    receive(mailbox, mail(), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False):
        reply = message_send_reply(ticket=Message.objects.get().ticket, author=alice, text="Ciao")

    outcome = message_deliver(message_id=reply.pk)

    reply.refresh_from_db()
    assert outcome.retry_in is not None
    assert reply.status == Message.Status.QUEUED
    assert "unreachable" in reply.failure_reason


def test_django_email_backend_is_used_without_mailbox_smtp(
    mailbox: ChannelAccount, alice: User, django_capture_on_commit_callbacks: Any, mailoutbox: list
) -> None:
    receive(mailbox, mail(), django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        reply = message_send_reply(ticket=Message.objects.get().ticket, author=alice, text="Ciao")

    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT
    [sent] = mailoutbox
    assert sent.extra_headers["Message-ID"] == f"<{reply.external_id}>"


def test_any_anymail_esp_backend_works_by_configuration(
    billing: Any, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    from django.core import mail as django_mail

    mailbox = make_mailbox(team=billing, email_backend="anymail.backends.test.EmailBackend")
    receive(mailbox, mail(), django_capture_on_commit_callbacks)
    django_mail.outbox = []

    with django_capture_on_commit_callbacks(execute=True):
        reply = message_send_reply(ticket=Message.objects.get().ticket, author=alice, text="Via ESP")

    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT
    [sent] = django_mail.outbox
    assert sent.anymail_status.status == {"sent"}
    assert reply.metadata["email"]["esp_message_id"] == str(sent.anymail_status.message_id)
    assert sent.extra_headers["Message-ID"] == f"<{reply.external_id}>"
