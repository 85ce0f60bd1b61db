from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone, translation

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_api_channel
from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
from tickets.models import Contact, ContactIdentity, MergeSuggestion, Message, Ticket, TicketEvent
from tickets.services.ingest import ingest_inbound_message
from tickets.services.tickets import ticket_update


def inbound(
    account: ChannelAccount,
    external_id: str,
    *,
    sender: str = "cust-1",
    text: str = "Ciao",
    email: str = "",
    verified_email: bool = True,
    sent_at: datetime | None = None,
) -> InboundMessage:
    others = [IdentityClaim(IdentityKind.EMAIL, email, verified=verified_email)] if email else []
    return InboundMessage(
        channel_account_id=account.pk,
        external_id=external_id,
        sender=IdentityClaim(IdentityKind.API, f"{account.pk}:{sender}", verified=True),
        sender_name="Maria Rossi",
        other_identities=others,
        text=text,
        sent_at=sent_at,
    )


def in_parallel(count: int, work) -> list:  # type: ignore[no-untyped-def]
    def run(index: int):  # type: ignore[no-untyped-def]
        try:
            return work(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.mark.django_db
def test_first_message_creates_contact_ticket_and_audit(api_channel: ChannelAccount) -> None:
    result = ingest_inbound_message(inbound=inbound(api_channel, "m-1", text="Il mio ordine non arriva"))

    assert result.created and result.ticket_created
    ticket = result.ticket
    assert ticket.subject == "Il mio ordine non arriva"
    assert ticket.team == api_channel.default_team
    assert ticket.status == Ticket.Status.NEW
    assert ticket.contact.name == "Maria Rossi"
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("seq", "type")) == [
        (1, "ticket.created"),
        (2, "message.created"),
    ]
    assert Ticket.objects.get(pk=ticket.pk).seq == 2


@pytest.mark.django_db
def test_duplicate_provider_id_is_not_filed_twice(api_channel: ChannelAccount) -> None:
    first = ingest_inbound_message(inbound=inbound(api_channel, "m-1"))
    again = ingest_inbound_message(inbound=inbound(api_channel, "m-1", text="different body"))

    assert not again.created
    assert again.message.pk == first.message.pk
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_same_provider_id_on_another_channel_is_a_different_message(api_channel: ChannelAccount) -> None:
    other = make_api_channel()
    ingest_inbound_message(inbound=inbound(api_channel, "m-1"))
    ingest_inbound_message(inbound=inbound(other, "m-1"))

    assert Message.objects.count() == 2


@pytest.mark.django_db
def test_message_joins_the_open_ticket(api_channel: ChannelAccount) -> None:
    first = ingest_inbound_message(inbound=inbound(api_channel, "m-1"))
    second = ingest_inbound_message(inbound=inbound(api_channel, "m-2"))

    assert second.ticket.pk == first.ticket.pk
    assert not second.ticket_created


@pytest.mark.django_db
def test_two_channels_one_contact_one_ticket(api_channel: ChannelAccount) -> None:
    crm = make_api_channel(trust_identities=True)
    first = ingest_inbound_message(
        inbound=inbound(api_channel, "a-1", sender="u1", email="Maria@Example.com")
    )
    second = ingest_inbound_message(inbound=inbound(crm, "b-1", sender="crm-9", email="maria@example.com"))

    assert second.ticket.pk == first.ticket.pk
    assert Contact.objects.count() == 1
    assert set(ContactIdentity.objects.values_list("kind", "value")) == {
        ("api", f"{api_channel.pk}:u1"),
        ("api", f"{crm.pk}:crm-9"),
        ("email", "maria@example.com"),
    }


@pytest.mark.django_db
def test_unverified_identity_never_merges_but_is_suggested(api_channel: ChannelAccount) -> None:
    untrusted = make_api_channel()
    first = ingest_inbound_message(
        inbound=inbound(api_channel, "a-1", sender="u1", email="maria@example.com")
    )
    second = ingest_inbound_message(
        inbound=inbound(untrusted, "b-1", sender="x", email="maria@example.com", verified_email=False)
    )

    assert second.ticket.pk != first.ticket.pk
    assert second.ticket.contact_id != first.ticket.contact_id
    suggestion = MergeSuggestion.objects.get()
    assert (suggestion.contact_id, suggestion.candidate_id) == (
        second.ticket.contact_id,
        first.ticket.contact_id,
    )


@pytest.mark.django_db
def test_message_after_solved_reopens_inside_window(api_channel: ChannelAccount) -> None:
    first = ingest_inbound_message(inbound=inbound(api_channel, "m-1"))
    ticket_update(ticket=first.ticket, actor=None, status=Ticket.Status.SOLVED)

    again = ingest_inbound_message(inbound=inbound(api_channel, "m-2"))

    assert again.ticket.pk == first.ticket.pk
    assert again.ticket_reopened
    ticket = Ticket.objects.get(pk=first.ticket.pk)
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.reopened_count == 1
    reopened = TicketEvent.objects.get(ticket=ticket, type="ticket.reopened")
    assert reopened.reason_data == {"code": "ticket.customer_wrote_again", "values": {}}
    with translation.override("it"):
        assert reopened.reason_text == "il cliente ha scritto di nuovo"


@pytest.mark.django_db
def test_message_after_the_window_starts_a_follow_up(api_channel: ChannelAccount, settings) -> None:  # type: ignore[no-untyped-def]
    first = ingest_inbound_message(inbound=inbound(api_channel, "m-1"))
    ticket_update(ticket=first.ticket, actor=None, status=Ticket.Status.SOLVED)
    Ticket.objects.filter(pk=first.ticket.pk).update(
        solved_at=timezone.now() - timedelta(days=settings.REOPEN_WINDOW_DAYS, minutes=1)
    )

    later = ingest_inbound_message(inbound=inbound(api_channel, "m-2"))

    assert later.ticket_created
    assert later.ticket.follow_up_of_id == first.ticket.pk
    assert Ticket.objects.get(pk=first.ticket.pk).status == Ticket.Status.SOLVED


@pytest.mark.django_db
def test_customer_reply_moves_pending_ticket_back_to_open(api_channel: ChannelAccount) -> None:
    first = ingest_inbound_message(inbound=inbound(api_channel, "m-1"))
    ticket_update(ticket=first.ticket, actor=None, status=Ticket.Status.PENDING)

    ingest_inbound_message(inbound=inbound(api_channel, "m-2"))

    assert Ticket.objects.get(pk=first.ticket.pk).status == Ticket.Status.OPEN


@pytest.mark.django_db(transaction=True)
def test_same_provider_id_ten_times_in_parallel_is_one_message(api_channel: ChannelAccount) -> None:
    results = in_parallel(10, lambda _: ingest_inbound_message(inbound=inbound(api_channel, "same-id")))

    assert Message.objects.count() == 1
    assert sum(result.created for result in results) == 1
    assert {result.message.pk for result in results} == {Message.objects.get().pk}


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_messages_from_a_new_customer(api_channel: ChannelAccount) -> None:
    start = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    in_parallel(
        20,
        lambda i: ingest_inbound_message(
            inbound=inbound(api_channel, f"m-{i}", text=f"message {i}", sent_at=start + timedelta(seconds=i))
        ),
    )

    assert Contact.objects.count() == 1
    ticket = Ticket.objects.get()
    assert list(ticket.messages.values_list("text", flat=True)) == [f"message {i}" for i in range(20)]
    seqs = list(TicketEvent.objects.filter(ticket=ticket).values_list("seq", flat=True))
    assert seqs == list(range(1, 22))


@pytest.mark.django_db(transaction=True)
def test_parallel_first_messages_on_two_channels_share_one_ticket(api_channel: ChannelAccount) -> None:
    crm = make_api_channel(trust_identities=True)
    channels = [api_channel, crm] * 5
    in_parallel(
        10,
        lambda i: ingest_inbound_message(
            inbound=inbound(channels[i], f"m-{i}", sender=f"user-{i % 2}", email="luca@example.com")
        ),
    )

    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 10


@pytest.mark.django_db
def test_contact_merged_after_it_was_resolved_files_on_the_target(api_channel: ChannelAccount) -> None:
    from django.contrib.auth.models import User

    from tickets.services.contacts import contact_merge
    from tickets.services.ingest import _ticket_for

    source_ticket = ingest_inbound_message(inbound=inbound(api_channel, "s-1", sender="phone")).ticket
    target_ticket = ingest_inbound_message(inbound=inbound(api_channel, "t-1", sender="laptop")).ticket
    stale_source = Contact.objects.get(pk=source_ticket.contact_id)
    supervisor = User.objects.create_user("merger")
    contact_merge(source=stale_source, target=target_ticket.contact, actor=supervisor)

    # The writer resolved the source contact just before the merge committed.
    ticket, created, reopened = _ticket_for(
        inbound(api_channel, "s-2", sender="phone"), api_channel, stale_source
    )

    assert (ticket.pk, created, reopened) == (target_ticket.pk, False, False)
    assert Ticket.objects.filter(contact_id=stale_source.pk, status__in=Ticket.OPEN_STATUSES).count() == 0
