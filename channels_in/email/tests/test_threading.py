from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from channels_in.email.tests.mails import corpus, delivery_report, mail
from channels_in.email.tests.receiving import receive
from channels_in.models import ChannelAccount, InboundEvent
from tickets.models import ContactIdentity, Message, Ticket
from tickets.services.messages import message_send_reply
from tickets.services.tickets import ticket_update

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _outbox(mailoutbox: list) -> list:
    return mailoutbox


def _reply(ticket: Ticket, author: User, capture: Any, text: str = "Ecco la risposta.") -> Message:
    with capture(execute=True):
        reply = message_send_reply(ticket=ticket, author=author, text=text)
    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT, reply.failure_reason
    return reply


def _two_solved_tickets(
    mailbox: ChannelAccount, capture: Any, author: User
) -> tuple[Ticket, Ticket, Message]:
    """Maria's older ticket A (answered by us) and newer B, both solved within the reopen window."""
    receive(mailbox, mail(subject="Fattura errata"), capture)
    older = Ticket.objects.get()
    ours = _reply(older, author, capture)
    ticket_update(ticket=older, actor=None, status=Ticket.Status.SOLVED)
    # Long enough ago that the next mail starts a new ticket instead of reopening this one...
    Ticket.objects.filter(pk=older.pk).update(solved_at=timezone.now() - timedelta(days=30))
    receive(mailbox, mail(subject="Consegna in ritardo"), capture)
    newer = Ticket.objects.exclude(pk=older.pk).get()
    ticket_update(ticket=newer, actor=None, status=Ticket.Status.SOLVED)
    # ...then back inside the window: a new mail could reopen either, and only threading tells which.
    Ticket.objects.filter(pk=older.pk).update(solved_at=timezone.now() - timedelta(days=1))
    return older, newer, ours


def test_reply_by_references_reopens_the_ticket_it_answers(
    mailbox: ChannelAccount, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    older, newer, ours = _two_solved_tickets(mailbox, capture, alice)

    # The customer answers the first thread; the subject was rewritten and has no token.
    receive(mailbox, mail(subject="ancora io", in_reply_to=f"<{ours.external_id}>"), capture)

    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.status == Ticket.Status.OPEN
    assert newer.status == Ticket.Status.SOLVED
    assert Message.objects.filter(ticket=older, direction=Message.Direction.INBOUND).count() == 2


def test_without_thread_headers_the_latest_ticket_reopens(
    mailbox: ChannelAccount, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    _older, newer, _ = _two_solved_tickets(mailbox, capture, alice)

    receive(mailbox, mail(subject="ancora io"), capture)

    newer.refresh_from_db()
    assert newer.status == Ticket.Status.OPEN


def test_token_in_subject_threads_without_headers(
    mailbox: ChannelAccount, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    older, _newer, _ = _two_solved_tickets(mailbox, capture, alice)

    receive(mailbox, mail(subject=f"Re: Fattura errata [#{older.token}]"), capture)

    older.refresh_from_db()
    assert older.status == Ticket.Status.OPEN
    message = Message.objects.filter(ticket=older, direction=Message.Direction.INBOUND).order_by("id").last()
    assert message.subject == "Re: Fattura errata"  # the token tag is ours, not the customer's words


def test_token_in_plus_address_threads(
    mailbox: ChannelAccount, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    older, _newer, _ = _two_solved_tickets(mailbox, capture, alice)

    receive(mailbox, mail(to=f"support+{older.token}@example.com", subject="nuovo oggetto"), capture)

    older.refresh_from_db()
    assert older.status == Ticket.Status.OPEN


def test_someone_else_answering_the_thread_gets_their_own_ticket(
    mailbox: ChannelAccount, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    receive(mailbox, mail(subject="Il mio ordine"), capture)
    marias = Ticket.objects.get()
    ours = _reply(marias, alice, capture)

    # Maria forwarded our answer; Luca replies to it, token and references included.
    receive(
        mailbox,
        mail(
            sender="Luca Bianchi <luca@other.example>",
            to=f"support+{marias.token}@example.com",
            subject=f"Re: Il mio ordine [#{marias.token}]",
            in_reply_to=f"<{ours.external_id}>",
        ),
        capture,
    )

    lucas = Message.objects.get(identity__value="luca@other.example").ticket
    assert lucas.pk != marias.pk
    assert lucas.contact_id != marias.contact_id
    assert Message.objects.filter(ticket=marias, direction=Message.Direction.INBOUND).count() == 1


def test_auto_reply_is_stored_but_never_awaits_an_answer(
    mailbox: ChannelAccount, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    receive(mailbox, mail(sender="sony@theomnibox.com"), capture)
    ticket = Ticket.objects.get()
    _reply(ticket, alice, capture)

    receive(
        mailbox, corpus("chatwoot/auto_reply_with_auto_submitted.eml").replace(b"Sony@", b"sony@"), capture
    )

    message = Message.objects.get(external_id="0CB459E0-0336-41DA-BC88-E6E28C697DDB@theomnibox.com")
    assert message.is_automatic
    assert message.metadata["email"]["automatic"].startswith("Auto-Submitted")
    ticket.refresh_from_db()
    assert ticket.awaiting_agent_since is None


def test_bounce_fails_our_message_and_marks_the_address_without_a_ticket(
    mailbox: ChannelAccount, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    receive(mailbox, mail(sender="maria@example.com"), capture)
    ticket = Ticket.objects.get()
    ours = _reply(ticket, alice, capture)

    event = receive(
        mailbox, delivery_report(recipient="maria@example.com", original_message_id=ours.external_id), capture
    )

    assert event.state == InboundEvent.State.DONE
    assert Ticket.objects.count() == 1
    ours.refresh_from_db()
    assert ours.status == Message.Status.FAILED
    assert "5.1.1" in ours.failure_reason
    identity = ContactIdentity.objects.get(value="maria@example.com")
    assert identity.bounced_at is not None
    note = Message.objects.get(direction=Message.Direction.SYSTEM)
    assert note.ticket_id == ticket.pk
    assert note.metadata["failed_message_id"] == ours.pk
    assert not ContactIdentity.objects.filter(value__icontains="mailer-daemon").exists()


def test_bounce_about_nothing_of_ours_is_kept_but_files_nothing(
    mailbox: ChannelAccount, django_capture_on_commit_callbacks: Any
) -> None:
    event = receive(mailbox, corpus("chatwoot/bounced_with_no_from.eml"), django_capture_on_commit_callbacks)

    assert event.state == InboundEvent.State.IGNORED
    assert not Ticket.objects.exists()
    assert not Message.objects.exists()


def test_mail_from_our_own_address_is_ignored(
    mailbox: ChannelAccount, django_capture_on_commit_callbacks: Any
) -> None:
    event = receive(
        mailbox, mail(sender="Support <support+abc123abc1@example.com>"), django_capture_on_commit_callbacks
    )

    assert event.state == InboundEvent.State.IGNORED
    assert not Ticket.objects.exists()
