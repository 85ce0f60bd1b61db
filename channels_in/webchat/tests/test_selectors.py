"""What a visitor may read: their own messages and the replies to them, never a note, never another's."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from channels_in.models import ChannelAccount
from channels_in.webchat.adapter import provider_message_id
from channels_in.webchat.schemas import config_parse
from channels_in.webchat.selectors import availability, visitor_catch_up
from tickets.inbound import IdentityClaim, IdentityKind, InboundAttachment, InboundMessage
from tickets.models import AgentProfile, Ticket
from tickets.services.ingest import ingest_inbound_message
from tickets.services.messages import message_send_reply, note_add


def visitor_writes(account: ChannelAccount, visitor_id: str, client_id: str, text: str) -> Ticket:
    return ingest_inbound_message(
        inbound=InboundMessage(
            channel_account_id=account.pk,
            external_id=provider_message_id(visitor_id, client_id),
            sender=IdentityClaim(IdentityKind.WEBCHAT, visitor_id),
            text=text,
        )
    ).ticket


@pytest.mark.django_db
def test_history_holds_the_conversation_without_notes_or_staff_ids(
    webchat: ChannelAccount, alice: User, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    ticket = visitor_writes(webchat, "v-maria0001", "c-00000001", "<b>ciao</b><script>x()</script>")
    with django_capture_on_commit_callbacks(execute=True):
        message_send_reply(ticket=ticket, author=alice, text="Buongiorno!")
    note_add(ticket=ticket, author=alice, text="internal: VIP customer")

    messages, marks = visitor_catch_up(account=webchat, visitor_id="v-maria0001", marks={})

    assert [(m["direction"], m["text"]) for m in messages] == [
        ("in", "<b>ciao</b><script>x()</script>"),
        ("out", "Buongiorno!"),
    ]
    assert messages[0]["client_id"] == "c-00000001"
    assert messages[1]["author"] == "Alice"
    assert "author_id" not in messages[1]
    ticket.refresh_from_db()
    assert marks == {ticket.pk: ticket.seq}


@pytest.mark.django_db
def test_another_visitor_sees_nothing_of_it(webchat: ChannelAccount) -> None:
    visitor_writes(webchat, "v-maria0001", "c-00000001", "mine")

    assert visitor_catch_up(account=webchat, visitor_id="v-luigi0001", marks={}) == ([], {})


@pytest.mark.django_db
def test_catch_up_after_a_mark_brings_only_what_was_missed(
    webchat: ChannelAccount, alice: User, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    ticket = visitor_writes(webchat, "v-maria0001", "c-00000001", "first")
    _, marks = visitor_catch_up(account=webchat, visitor_id="v-maria0001", marks={})
    with django_capture_on_commit_callbacks(execute=True):
        message_send_reply(ticket=ticket, author=alice, text="missed while offline")
    visitor_writes(webchat, "v-maria0001", "c-00000002", "second")

    messages, newer = visitor_catch_up(account=webchat, visitor_id="v-maria0001", marks=marks)

    assert [m["text"] for m in messages] == ["missed while offline", "second"]
    assert newer[ticket.pk] > marks[ticket.pk]
    assert visitor_catch_up(account=webchat, visitor_id="v-maria0001", marks=newer)[0] == []


@pytest.mark.django_db
def test_availability_follows_hours_and_agents_online(webchat: ChannelAccount, alice: User) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    config = config_parse(
        {**webchat.config, "hours": [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}]}
    )
    monday_noon = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/Rome"))
    sunday_noon = datetime(2026, 11, 22, 12, 0, tzinfo=ZoneInfo("Europe/Rome"))

    assert availability(webchat, config, monday_noon)["online"] is False
    AgentProfile.objects.filter(user=alice).update(presence=AgentProfile.Presence.ONLINE)
    assert availability(webchat, config, monday_noon)["online"] is True
    closed = availability(webchat, config, sunday_noon)
    assert (closed["online"], closed["open"]) == (False, False)


@pytest.mark.django_db
def test_a_sync_for_files_renews_every_file_link(webchat: ChannelAccount, media_root) -> None:  # type: ignore[no-untyped-def]
    ticket = ingest_inbound_message(
        inbound=InboundMessage(
            channel_account_id=webchat.pk,
            external_id=provider_message_id("v-maria0001", "c-00000001"),
            sender=IdentityClaim(IdentityKind.WEBCHAT, "v-maria0001"),
            attachments=[InboundAttachment(filename="foto.png", content_type="image/png", content=b"png")],
        )
    ).ticket
    visitor_writes(webchat, "v-maria0001", "c-00000002", "e un testo")
    _, marks = visitor_catch_up(account=webchat, visitor_id="v-maria0001", marks={})

    # Up to date: nothing to send, unless the widget asks for its files' links again.
    assert visitor_catch_up(account=webchat, visitor_id="v-maria0001", marks=marks)[0] == []
    renewed, same = visitor_catch_up(account=webchat, visitor_id="v-maria0001", marks=marks, files=True)

    assert [m["attachments"][0]["name"] for m in renewed] == ["foto.png"]
    assert renewed[0]["attachments"][0]["url"].startswith(f"/widget/{webchat.key}/files/")
    assert same == marks and ticket.pk in marks


@pytest.mark.django_db
def test_availability_promises_the_visitors_sla_due_time_and_nothing_more(
    webchat: ChannelAccount, alice: User
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from tickets.tests.sla_support import due_in, sla_policy

    config = config_parse(webchat.config)
    ticket = visitor_writes(webchat, "v-maria0001", "c-00000001", "aiuto")
    plain = availability(webchat, config, timezone.now(), visitor_id="v-maria0001")
    assert plain["reply_due_at"] is None  # no policy: the widget says the usual answer time

    ticket = due_in(ticket, sla_policy(first_response_minutes=120), timedelta(minutes=90))
    promised = availability(webchat, config, timezone.now(), visitor_id="v-maria0001")
    assert promised["reply_due_at"] == ticket.first_response_due_at.isoformat()
    assert set(promised) == {"online", "open", "response_minutes", "reply_due_at", "email_fallback"}
    # Another visitor, or none, learns nothing of it.
    assert availability(webchat, config, timezone.now(), visitor_id="v-luigi0001")["reply_due_at"] is None
    assert availability(webchat, config, timezone.now())["reply_due_at"] is None

    message_send_reply(ticket=ticket, author=alice, text="Eccomi")
    assert availability(webchat, config, timezone.now(), visitor_id="v-maria0001")["reply_due_at"] is None
