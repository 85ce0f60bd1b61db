"""A customer writes to the support mailbox, gets a threaded reply, answers it: one ticket throughout.

Real Dovecot for the mailbox, real SMTP (aiosmtpd) for our replies, real PostgreSQL commits.
"""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.contrib.auth.models import User

from channels_in.email.imap import mailbox_poll
from channels_in.email.tests.conftest import make_mailbox
from channels_in.email.tests.mails import mail
from tests.fixtures.mailservers import ImapServer, SmtpServer
from tickets.models import Message, Ticket
from tickets.services.messages import message_send_reply

pytestmark = pytest.mark.django_db(transaction=True)

USER, PASSWORD = "support@example.com", "imap-secret"


def customer_answer(ours: EmailMessage, text: str) -> bytes:
    """What a mail client sends when the customer presses Reply on our mail."""
    answer = EmailMessage()
    answer["From"] = "Maria Rossi <maria@example.com>"
    answer["To"] = str(ours["Reply-To"])
    answer["Subject"] = f"Re: {ours['Subject']}"
    answer["Message-ID"] = make_msgid(domain="example.com")
    answer["In-Reply-To"] = str(ours["Message-ID"])
    answer["References"] = f"{ours['References']} {ours['Message-ID']}"
    quoted = "\n".join(f"> {line}" for line in ours.get_body(("plain",)).get_content().splitlines())
    answer.set_content(
        f"{text}\n\nIl giorno oggi Sportello Support <support@example.com> ha scritto:\n{quoted}\n"
    )
    return bytes(answer)


def test_write_reply_answer_one_ticket(imap_server: ImapServer, smtp_server: SmtpServer, alice: User) -> None:
    imap_server.add_user(USER, PASSWORD)
    account = make_mailbox(
        team=alice.agent.teams.first(),
        imap={
            "host": imap_server.host,
            "port": imap_server.port,
            "security": "none",
            "username": USER,
            "password": PASSWORD,
        },
        smtp={"host": smtp_server.host, "port": smtp_server.port, "security": "none"},
    )

    imap_server.deliver(USER, PASSWORD, mail(subject="Pacco danneggiato", text="Il pacco è arrivato rotto."))
    assert mailbox_poll(account_id=account.pk).recorded == 1
    ticket = Ticket.objects.get()

    reply = message_send_reply(ticket=ticket, author=alice, text="Ci dispiace: le spediamo un sostituto.")
    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT, reply.failure_reason
    [received] = smtp_server.wait_for(1)
    ours = email.message_from_bytes(received.data, policy=policy.default)
    assert ours["To"] == "maria@example.com"

    imap_server.deliver(USER, PASSWORD, customer_answer(ours, "Grazie, attendo il sostituto."))
    assert mailbox_poll(account_id=account.pk).recorded == 1

    assert Ticket.objects.count() == 1
    timeline = list(Message.objects.filter(ticket=ticket).order_by("id").values_list("direction", "text"))
    assert timeline == [
        ("inbound", "Il pacco è arrivato rotto."),
        ("outbound", "Ci dispiace: le spediamo un sostituto."),
        ("inbound", "Grazie, attendo il sostituto."),  # our quoted reply is not part of the new text
    ]
    last = Message.objects.filter(ticket=ticket).order_by("id").last()
    assert "le spediamo un sostituto" in last.full_text
    ticket.refresh_from_db()
    assert ticket.awaiting_agent_since is not None


def test_answer_after_the_ticket_was_solved_reopens_it(
    imap_server: ImapServer, smtp_server: SmtpServer, alice: User
) -> None:
    from tickets.services.tickets import ticket_update

    imap_server.add_user(USER, PASSWORD)
    account = make_mailbox(
        imap={
            "host": imap_server.host,
            "port": imap_server.port,
            "security": "none",
            "username": USER,
            "password": PASSWORD,
        },
        smtp={"host": smtp_server.host, "port": smtp_server.port, "security": "none"},
    )
    imap_server.deliver(USER, PASSWORD, mail())
    mailbox_poll(account_id=account.pk)
    ticket = Ticket.objects.get()
    message_send_reply(ticket=ticket, author=alice, text="Risolto.")
    ticket_update(ticket=Ticket.objects.get(), actor=None, status=Ticket.Status.SOLVED)
    ours = email.message_from_bytes(smtp_server.wait_for(1)[0].data, policy=policy.default)

    imap_server.deliver(USER, PASSWORD, customer_answer(ours, "Purtroppo no, il problema è tornato."))
    mailbox_poll(account_id=account.pk)

    ticket.refresh_from_db()
    assert Ticket.objects.count() == 1
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.reopened_count == 1
