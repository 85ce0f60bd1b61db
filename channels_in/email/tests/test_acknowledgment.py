from __future__ import annotations

from typing import Any

import pytest

from channels_in.email.tests.conftest import make_mailbox
from channels_in.email.tests.mails import corpus, delivery_report, mail
from channels_in.email.tests.receiving import receive
from channels_in.models import ChannelAccount
from tickets.models import Message, Ticket
from tickets.services.tickets import ticket_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def acking_mailbox(billing: Any) -> ChannelAccount:
    return make_mailbox(team=billing, acknowledge=True, acknowledge_response_time="4 ore lavorative")


def _acks() -> list[Message]:
    return list(Message.objects.filter(direction=Message.Direction.OUTBOUND, is_automatic=True))


def test_new_ticket_is_acknowledged_once_with_auto_submitted(
    acking_mailbox: ChannelAccount, mailoutbox: list, django_capture_on_commit_callbacks: Any
) -> None:
    receive(acking_mailbox, mail(), django_capture_on_commit_callbacks)
    receive(acking_mailbox, mail(text="Dimenticavo: il numero è 1234."), django_capture_on_commit_callbacks)

    [ack] = _acks()
    ticket = Ticket.objects.get()
    assert ack.ticket_id == ticket.pk
    assert ack.status == Message.Status.SENT
    [sent] = mailoutbox
    assert sent.to == ["maria@example.com"]
    assert sent.extra_headers["Auto-Submitted"] == "auto-replied"
    assert "4 ore lavorative" in sent.body
    assert ticket.token in sent.subject
    ticket.refresh_from_db()
    assert ticket.first_response_at is None  # a machine's receipt is not an answer


def test_no_acknowledgment_when_the_mailbox_does_not_ask(
    mailbox: ChannelAccount, mailoutbox: list, django_capture_on_commit_callbacks: Any
) -> None:
    receive(mailbox, mail(), django_capture_on_commit_callbacks)

    assert _acks() == []
    assert mailoutbox == []


@pytest.mark.parametrize(
    "raw",
    [
        corpus("chatwoot/auto_reply.eml"),
        mail(headers={"Precedence": "bulk"}),
        mail(headers={"Return-Path": "<>"}),
    ],
    ids=["x-autoreply", "precedence-bulk", "empty-return-path"],
)
def test_machines_are_never_answered(
    acking_mailbox: ChannelAccount, raw: bytes, mailoutbox: list, django_capture_on_commit_callbacks: Any
) -> None:
    receive(acking_mailbox, raw, django_capture_on_commit_callbacks)

    assert Ticket.objects.count() == 1
    assert _acks() == []
    assert mailoutbox == []


def test_bounces_are_never_answered(
    acking_mailbox: ChannelAccount, mailoutbox: list, django_capture_on_commit_callbacks: Any
) -> None:
    receive(
        acking_mailbox,
        delivery_report(recipient="gone@example.com", original_message_id="x@example.com"),
        django_capture_on_commit_callbacks,
    )

    assert not Ticket.objects.exists()
    assert mailoutbox == []


def test_automatic_replies_are_rate_limited_per_sender(
    billing: Any, mailoutbox: list, django_capture_on_commit_callbacks: Any
) -> None:
    mailbox = make_mailbox(team=billing, acknowledge=True, auto_reply_limit_per_hour=2)
    for number in range(4):
        receive(mailbox, mail(subject=f"Richiesta {number}"), django_capture_on_commit_callbacks)
        ticket = Ticket.objects.get(status__in=Ticket.OPEN_STATUSES)
        ticket_update(ticket=ticket, actor=None, status=Ticket.Status.CLOSED)

    assert Ticket.objects.count() == 4
    assert len(_acks()) == 2
    assert len(mailoutbox) == 2


def test_the_acknowledgment_promises_the_time_its_sla_gives_the_agents(
    billing: Any, mailoutbox: list, django_capture_on_commit_callbacks: Any
) -> None:
    from zoneinfo import ZoneInfo

    from django.utils import formats, timezone

    from tickets.models import SLAPolicy, Team

    policy = SLAPolicy.objects.create(name="Email", first_response_minutes=240, resolution_minutes=2400)
    Team.objects.filter(pk=billing.pk).update(sla_policy=policy)
    mailbox = make_mailbox(team=billing, acknowledge=True, acknowledge_response_time="4 ore lavorative")

    receive(mailbox, mail(), django_capture_on_commit_callbacks)

    ticket = Ticket.objects.get()
    assert ticket.sla_policy == policy  # triaged first, then acknowledged
    [sent] = mailoutbox
    due = timezone.localtime(ticket.first_response_due_at, ZoneInfo("Europe/Rome"))
    assert f"{formats.date_format(due, 'DATETIME_FORMAT')} (Europe/Rome)" in sent.body
    assert "4 ore lavorative" not in sent.body  # the same numbers as the agents', not the usual time
    [ack] = _acks()
    ticket.refresh_from_db()
    assert ack.ticket_id == ticket.pk and ticket.first_response_at is None
    assert list(ticket.events.order_by("seq").values_list("seq", flat=True)) == list(range(1, ticket.seq + 1))
