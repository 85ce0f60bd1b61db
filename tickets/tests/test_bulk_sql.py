"""``rows_insert`` and ``rows_update`` write exactly what the ORM's bulk statements write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Model
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy
from pytest_django import DjangoAssertNumQueries

from channels_in.models import ChannelAccount
from tickets.models import Contact, ContactIdentity, Message, Ticket
from tickets.services.bulk_sql import rows_insert, rows_insert_new, rows_update

_SENT = datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Rome"))


@pytest.fixture
def ticket(db: None) -> Ticket:
    return Ticket.objects.create(contact=Contact.objects.create(name="Maria Rossi"), subject="Ordine")


def _messages(ticket: Ticket, account: ChannelAccount, identity: ContactIdentity) -> list[Message]:
    """The same rows every call: JSON, NULLs, aware datetimes in two zones, choices members, flags."""
    return [
        Message(
            ticket=ticket,
            direction=Message.Direction.INBOUND,
            channel_account=account,
            identity=identity,
            subject="Ordine",
            text="Il mio ordine non arriva",
            external_id="m-1",
            is_public=True,
            sent_at=_SENT,
            created_at=datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
            status_changed_at=_SENT + timedelta(microseconds=7),
            metadata={"headers": {"x-id": "1"}, "list": [1, 2.5, None, True], "text": "è"},
        ),
        Message(
            ticket=ticket,
            direction="note",
            text="",
            external_id=None,
            status=Message.Status.SENT,
            attempts=3,
            sent_at=_SENT,
            created_at=_SENT,
            status_changed_at=_SENT,
            metadata={},
        ),
    ]


def _stored(
    model: type[Model], rows: list[Any], *, leave_out: tuple[str, ...] = ("id",)
) -> list[dict[str, Any]]:
    found = {row["id"]: row for row in model._default_manager.filter(pk__in=[r.pk for r in rows]).values()}
    return [{k: v for k, v in found[row.pk].items() if k not in leave_out} for row in rows]


@pytest.mark.django_db
def test_messages_are_stored_as_bulk_create_stores_them(ticket: Ticket, api_channel: ChannelAccount) -> None:
    identity = ContactIdentity.objects.create(contact=ticket.contact, kind="email", value="maria@example.com")
    by_orm = Message.objects.bulk_create(_messages(ticket, api_channel, identity))
    inserted = _messages(ticket, api_channel, identity)
    for row in inserted:
        row.external_id = row.external_id and f"{row.external_id}-again"

    rows_insert(Message, inserted)

    stored, expected = _stored(Message, inserted), _stored(Message, by_orm)
    assert stored[0].pop("external_id") == "m-1-again"
    expected[0].pop("external_id")
    assert stored == expected
    assert stored[0]["direction"] == "inbound"
    assert stored[0]["metadata"] == {"headers": {"x-id": "1"}, "list": [1, 2.5, None, True], "text": "è"}
    assert stored[1]["identity_id"] is None


@pytest.mark.django_db
def test_ids_are_set_in_order_as_bulk_create_sets_them(ticket: Ticket) -> None:
    rows = [Message(ticket=ticket, direction="inbound", text=f"riga {index}") for index in range(5)]

    rows_insert(Message, rows)

    assert [row.pk for row in rows] == sorted(row.pk for row in rows)
    assert [Message.objects.get(pk=row.pk).text for row in rows] == [f"riga {index}" for index in range(5)]
    assert all(not row._state.adding and row._state.db == "default" for row in rows)


@pytest.mark.django_db
def test_many_rows_are_split_into_statements(
    ticket: Ticket, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # 19 columns a row, 30,000 parameters a statement at most: 1,578 rows a statement.
    rows = [Message(ticket=ticket, direction="inbound", text=str(index)) for index in range(1600)]

    with django_assert_num_queries(2):
        rows_insert(Message, rows)

    assert Message.objects.filter(ticket=ticket).count() == 1600
    assert [row.text for row in Message.objects.filter(ticket=ticket).order_by("pk")] == [
        row.text for row in rows
    ]


@pytest.mark.django_db
def test_auto_now_is_applied_as_on_insert() -> None:
    created = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    by_orm = Contact.objects.bulk_create([Contact(name="Anna", tags=["vip"], created_at=created)])
    before = timezone.now()
    inserted = [Contact(name="Anna", tags=["vip"], created_at=created)]

    rows_insert(Contact, inserted)

    assert inserted[0].updated_at >= before
    assert _stored(Contact, inserted)[0]["updated_at"] == inserted[0].updated_at
    leave_out = ("id", "updated_at")
    assert _stored(Contact, inserted, leave_out=leave_out) == _stored(Contact, by_orm, leave_out=leave_out)


@pytest.mark.django_db
def test_a_related_row_saved_after_its_assignment_gives_its_id() -> None:
    contact = Contact(name="Anna")
    identity = ContactIdentity(contact=contact, kind="email", value="anna@example.com")
    rows_insert(Contact, [contact])

    rows_insert(ContactIdentity, [identity])

    assert ContactIdentity.objects.get(pk=identity.pk).contact_id == contact.pk


@pytest.mark.django_db
def test_rows_with_an_id_keep_it() -> None:
    rows = [Contact(name="Con id", id=990_001), Contact(name="Senza id")]

    rows_insert(Contact, rows)

    assert rows[0].pk == 990_001
    assert Contact.objects.get(pk=rows[1].pk).name == "Senza id"


@pytest.mark.django_db
def test_a_lazy_translation_is_stored_as_its_text() -> None:
    rows = [Contact(name=gettext_lazy("Customer"), tier=gettext_lazy("gold"))]

    rows_insert(Contact, rows)

    assert Contact.objects.values_list("name", "tier").get(pk=rows[0].pk) == ("Customer", "gold")


@pytest.mark.django_db
def test_a_naive_datetime_is_made_aware_as_django_does(ticket: Ticket) -> None:
    naive = datetime(2026, 7, 1, 12, 0)  # noqa: DTZ001 - naive on purpose: the case under test
    by_orm = [Message(ticket=ticket, direction="inbound", sent_at=naive)]
    inserted = [Message(ticket=ticket, direction="inbound", sent_at=naive)]
    with pytest.warns(RuntimeWarning, match="received a naive datetime"):
        Message.objects.bulk_create(by_orm)

    with pytest.warns(RuntimeWarning, match="received a naive datetime"):
        rows_insert(Message, inserted)

    stored = Message.objects.get(pk=inserted[0].pk).sent_at
    assert stored == Message.objects.get(pk=by_orm[0].pk).sent_at
    assert stored == timezone.make_aware(naive, timezone.get_default_timezone())


@pytest.mark.django_db
def test_an_expression_is_left_to_bulk_create(ticket: Ticket) -> None:
    rows = [Message(ticket=ticket, direction="inbound", sent_at=Now())]
    before = timezone.now()

    rows_insert(Message, rows)

    assert rows[0].pk is not None
    assert Message.objects.get(pk=rows[0].pk).sent_at >= before - timedelta(seconds=1)


def _changed(rows: list[Message]) -> None:
    for number, row in enumerate(rows):
        row.status = Message.Status.DELIVERED
        row.text = gettext_lazy("Customer") if number else "testo"
        row.metadata = {"delivery": {"at": "2026-03-29", "n": number}, "none": None}
        row.status_changed_at = _SENT + timedelta(hours=number)
        row.identity_id = None
        row.attempts = number + 1
        row.is_public = not row.is_public


@pytest.mark.django_db
def test_rows_update_writes_what_bulk_update_writes(ticket: Ticket, api_channel: ChannelAccount) -> None:
    identity = ContactIdentity.objects.create(contact=ticket.contact, kind="email", value="maria@example.com")
    by_orm = Message.objects.bulk_create(_messages(ticket, api_channel, identity))
    updated = _messages(ticket, api_channel, identity)
    updated[0].external_id = "m-2"
    rows_insert(Message, updated)
    fields = ["status", "text", "metadata", "status_changed_at", "identity", "attempts", "is_public"]
    _changed(by_orm)
    _changed(updated)

    Message.objects.bulk_update(by_orm, fields)
    rows_update(Message, updated, fields)

    stored, expected = _stored(Message, updated), _stored(Message, by_orm)
    assert stored[0].pop("external_id") == "m-2"
    expected[0].pop("external_id")
    assert stored == expected
    assert stored[1]["text"] == "Customer"
    assert stored[1]["metadata"] == {"delivery": {"at": "2026-03-29", "n": 1}, "none": None}


@pytest.mark.django_db
def test_rows_insert_new_skips_rows_whose_key_is_taken_and_gives_them_back(
    ticket: Ticket, api_channel: ChannelAccount, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    rows_insert(
        Message, [Message(ticket=ticket, direction="inbound", channel_account=api_channel, external_id="m-2")]
    )

    def row(external_id: str | None) -> Message:
        return Message(
            ticket=ticket, direction="inbound", channel_account=api_channel, external_id=external_id
        )

    rows = [row("m-1"), row(None), row("m-2"), row(None), row("m-3")]
    with django_assert_num_queries(1):
        skipped = rows_insert_new(Message, rows, key=("channel_account", "external_id"))

    assert skipped == [rows[2]] and rows[2].pk is None and rows[2]._state.adding
    inserted = [rows[0], rows[1], rows[3], rows[4]]
    assert all(item.pk is not None and not item._state.adding for item in inserted)
    assert [Message.objects.get(pk=item.pk).external_id for item in inserted] == ["m-1", None, None, "m-3"]
    assert Message.objects.filter(external_id="m-2").count() == 1
