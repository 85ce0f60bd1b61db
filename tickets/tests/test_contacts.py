from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_api_channel
from tickets.models import Contact, ContactIdentity, MergeSuggestion, Ticket, TicketEvent
from tickets.selectors import ticket_timeline
from tickets.services.contacts import contact_merge, contact_merge_undo
from tickets.services.tickets import ticket_update
from tickets.tests.api_support import customer_writes


@pytest.fixture
def second_channel(api_channel: ChannelAccount) -> ChannelAccount:
    # Unverified identities: the same email on two contacts stays two contacts until an agent merges.
    return make_api_channel(team=api_channel.default_team)


@pytest.mark.django_db
def test_merge_moves_identities_and_closed_tickets(api_channel: ChannelAccount, alice: User) -> None:
    old = customer_writes(api_channel, sender="a", text="vecchio").ticket
    ticket_update(ticket=old, actor=alice, status=Ticket.Status.SOLVED)
    source = old.contact
    target_ticket = customer_writes(api_channel, sender="b", name="Maria R.").ticket
    target = target_ticket.contact

    merge = contact_merge(source=source, target=target, actor=alice, reason="same person")

    source.refresh_from_db()
    assert source.merged_into == target
    assert set(ContactIdentity.objects.filter(contact=target).values_list("value", flat=True)) == {
        f"{api_channel.pk}:a",
        f"{api_channel.pk}:b",
    }
    assert merge.moved_ticket_ids == [old.pk]
    assert Ticket.objects.get(pk=old.pk).contact == target
    assert Ticket.objects.get(pk=old.pk).status == Ticket.Status.SOLVED
    assert TicketEvent.objects.filter(ticket=old, type="ticket.contact_changed", actor=alice).exists()
    # Later messages from the source's identity now land on the target's open ticket.
    assert customer_writes(api_channel, sender="a").ticket.pk == target_ticket.pk


@pytest.mark.django_db
def test_two_open_tickets_become_one(api_channel: ChannelAccount, alice: User) -> None:
    source_ticket = customer_writes(api_channel, sender="a", text="dal telefono").ticket
    target_ticket = customer_writes(api_channel, sender="b", text="dal computer").ticket

    contact_merge(source=source_ticket.contact, target=target_ticket.contact, actor=alice)

    merged = Ticket.objects.get(pk=source_ticket.pk)
    assert merged.status == Ticket.Status.CLOSED
    assert merged.merged_into_id == target_ticket.pk
    assert merged.contact_id == target_ticket.contact_id
    assert Ticket.objects.filter(contact=target_ticket.contact, status__in=Ticket.OPEN_STATUSES).get() == (
        target_ticket
    )
    texts = [message.text for message in ticket_timeline(user=alice, ticket=target_ticket)]
    assert texts == ["dal telefono", "dal computer"]
    assert TicketEvent.objects.filter(ticket=target_ticket, type="ticket.merged_in").exists()


@pytest.mark.django_db
def test_undo_restores_contacts_identities_and_the_merged_ticket(
    api_channel: ChannelAccount, sam: User
) -> None:
    source_ticket = customer_writes(api_channel, sender="a").ticket
    ticket_update(ticket=source_ticket, actor=sam, status=Ticket.Status.PENDING)
    target_ticket = customer_writes(api_channel, sender="b").ticket
    source, target = source_ticket.contact, target_ticket.contact
    merge = contact_merge(source=source, target=target, actor=sam)

    contact_merge_undo(merge=merge, actor=sam)

    merge.refresh_from_db()
    assert merge.undone_at is not None
    assert Contact.objects.get(pk=source.pk).merged_into is None
    assert list(ContactIdentity.objects.filter(contact=source).values_list("value", flat=True)) == [
        f"{api_channel.pk}:a"
    ]
    restored = Ticket.objects.get(pk=source_ticket.pk)
    assert (restored.contact_id, restored.status, restored.merged_into_id) == (
        source.pk,
        Ticket.Status.PENDING,
        None,
    )
    assert Ticket.objects.get(pk=target_ticket.pk).status == Ticket.Status.NEW
    assert customer_writes(api_channel, sender="a").ticket.pk == source_ticket.pk
    with pytest.raises(ValidationError, match="already undone"):
        contact_merge_undo(merge=merge, actor=sam)


@pytest.mark.django_db
def test_merge_dismisses_the_suggestion_between_the_two(
    api_channel: ChannelAccount, second_channel: ChannelAccount, alice: User
) -> None:
    first = customer_writes(api_channel, sender="a", email="maria@example.com").ticket.contact
    second = customer_writes(
        second_channel, sender="x", email="maria@example.com", email_verified=False
    ).ticket
    suggestion = MergeSuggestion.objects.get()
    assert second.contact_id != first.pk

    contact_merge(source=second.contact, target=first, actor=alice)

    suggestion.refresh_from_db()
    assert suggestion.dismissed_at is not None


@pytest.mark.django_db
def test_merge_refuses_itself_and_already_merged_contacts(api_channel: ChannelAccount, alice: User) -> None:
    a = customer_writes(api_channel, sender="a").ticket.contact
    b = customer_writes(api_channel, sender="b").ticket.contact
    c = customer_writes(api_channel, sender="c").ticket.contact

    with pytest.raises(ValidationError, match="itself"):
        contact_merge(source=a, target=a, actor=alice)
    contact_merge(source=a, target=b, actor=alice)
    with pytest.raises(ValidationError, match="already merged"):
        contact_merge(source=a, target=c, actor=alice)
    with pytest.raises(ValidationError, match="merge into that one"):
        contact_merge(source=c, target=a, actor=alice)


@pytest.mark.django_db
def test_undo_waits_for_a_later_merge_of_the_target_to_be_undone(
    api_channel: ChannelAccount, alice: User
) -> None:
    a = customer_writes(api_channel, sender="a").ticket.contact
    b = customer_writes(api_channel, sender="b").ticket.contact
    c = customer_writes(api_channel, sender="c").ticket.contact
    first = contact_merge(source=a, target=b, actor=alice)
    second = contact_merge(source=b, target=c, actor=alice)

    with pytest.raises(ValidationError, match="undo that merge first"):
        contact_merge_undo(merge=first, actor=alice)
    contact_merge_undo(merge=second, actor=alice)
    contact_merge_undo(merge=first, actor=alice)

    assert ContactIdentity.objects.get(value=f"{api_channel.pk}:a").contact == a
    assert ContactIdentity.objects.get(value=f"{api_channel.pk}:b").contact == b
    assert ContactIdentity.objects.get(value=f"{api_channel.pk}:c").contact == c
    for contact in (a, b, c):
        assert Ticket.objects.filter(contact=contact, status__in=Ticket.OPEN_STATUSES).count() == 1


@pytest.mark.django_db(transaction=True)
def test_crossed_merges_at_the_same_time_leave_one_contact(api_channel: ChannelAccount, sam: User) -> None:
    a = customer_writes(api_channel, sender="a").ticket.contact
    b = customer_writes(api_channel, sender="b").ticket.contact

    def merge(index: int) -> str:
        source, target = (a, b) if index % 2 == 0 else (b, a)
        try:
            contact_merge(source=source, target=target, actor=sam)
        except ValidationError:
            return "refused"
        finally:
            connection.close()
        return "merged"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(merge, range(2)))

    # Both lock the pair in the same order, so one waits for the other and then sees it merged.
    assert outcomes == ["merged", "refused"]
    assert Contact.objects.filter(merged_into__isnull=True).count() == 1
    survivor = Contact.objects.get(merged_into__isnull=True)
    assert ContactIdentity.objects.filter(contact=survivor).count() == 2
    assert Ticket.objects.filter(contact=survivor, status__in=Ticket.OPEN_STATUSES).count() == 1
