from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_api_channel
from tickets.inbound import IdentityClaim, IdentityKind, InboundAttachment, InboundMessage
from tickets.models import Message, Team, Ticket, TicketEvent
from tickets.services.ingest import ingest_inbound_message
from tickets.services.messages import message_deliver, message_send_reply, note_add
from tickets.tests.api_support import client_for, customer_writes, new_ticket


def timeline(user: User, ticket: Ticket, **params: object) -> list[dict]:  # type: ignore[type-arg]
    response = client_for(user).get(f"/api/v1/tickets/{ticket.pk}/messages", params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.mark.django_db
def test_timeline_shows_messages_with_channel_author_notes_and_attachments(
    api_channel: ChannelAccount, alice: User
) -> None:
    result = ingest_inbound_message(
        inbound=InboundMessage(
            channel_account_id=api_channel.pk,
            external_id="with-file",
            sender=IdentityClaim(IdentityKind.API, f"{api_channel.pk}:c1", verified=True),
            sender_name="Maria Rossi",
            text="Ecco la ricevuta",
            attachments=[InboundAttachment("ricevuta.pdf", "application/pdf", content=b"%PDF-1.4 receipt")],
        )
    )
    ticket = result.ticket
    message_send_reply(ticket=ticket, author=alice, text="Grazie, la controllo.")
    note_add(ticket=ticket, author=alice, text="Cliente abituale")

    rows = timeline(alice, ticket)

    assert [row["direction"] for row in rows] == ["inbound", "outbound", "note"]
    inbound, reply, note = rows
    assert inbound["channel"] == {"id": api_channel.pk, "kind": "api", "name": api_channel.name}
    assert inbound["identity"]["value"] == f"{api_channel.pk}:c1"
    assert inbound["author"] is None
    [attachment] = inbound["attachments"]
    assert (attachment["filename"], attachment["content_type"], attachment["size"]) == (
        "ricevuta.pdf",
        "application/pdf",
        16,
    )
    assert attachment["url"].startswith("http://testserver/")
    assert reply["author"]["username"] == "alice_rossi"
    assert reply["status"] == "queued"
    assert note["text"] == "Cliente abituale" and note["channel"] is None


@pytest.mark.django_db
def test_timeline_costs_the_same_queries_for_one_or_twenty_messages(
    api_channel: ChannelAccount, alice: User
) -> None:
    ticket = customer_writes(api_channel, sender="c").ticket
    client = client_for(alice)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/api/v1/tickets/{ticket.pk}/messages").status_code == 200
        return len(captured)

    one = queries()
    for number in range(9):
        customer_writes(api_channel, sender="c", text=f"altro {number}")
        message_send_reply(ticket=ticket, author=alice, text=f"risposta {number}")
    note_add(ticket=ticket, author=alice, text="nota")

    assert len(timeline(alice, ticket)) == 20
    assert queries() == one


@pytest.mark.django_db
def test_timeline_pages_oldest_first(api_channel: ChannelAccount, alice: User) -> None:
    ticket = customer_writes(api_channel, sender="c", text="uno").ticket
    for text in ("due", "tre"):
        customer_writes(api_channel, sender="c", text=text)
    client = client_for(alice)

    first = client.get(f"/api/v1/tickets/{ticket.pk}/messages", {"page_size": 2}).json()
    second = client.get(first["next"]).json()

    assert [row["text"] for row in first["results"]] == ["uno", "due"]
    assert [row["text"] for row in second["results"]] == ["tre"]
    assert second["next"] is None


@pytest.mark.django_db
def test_reply_is_queued_for_delivery_to_the_customer(api_channel: ChannelAccount, alice: User) -> None:
    ticket = customer_writes(api_channel, sender="c").ticket

    response = client_for(alice).post(
        f"/api/v1/tickets/{ticket.pk}/reply",
        {"text": "Arriva domani.", "html": "<p>Arriva <b>domani</b>.<script>alert(1)</script></p>"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["direction"], body["status"], body["text"]) == ("outbound", "queued", "Arriva domani.")
    assert "<script>" not in body["html"] and "<b>domani</b>" in body["html"]
    assert body["channel"]["id"] == api_channel.pk
    message = Message.objects.get(pk=body["id"])
    assert message.identity.value == f"{api_channel.pk}:c"
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.OPEN
    assert TicketEvent.objects.filter(ticket=ticket, type="message.created", actor=alice).exists()


@pytest.mark.django_db
def test_reply_on_a_chosen_channel_the_customer_used(api_channel: ChannelAccount, alice: User) -> None:
    crm = make_api_channel(team=api_channel.default_team, trust_identities=True)
    ticket = customer_writes(api_channel, sender="c", email="maria@example.com").ticket
    customer_writes(crm, sender="crm-c", email="maria@example.com")
    client = client_for(alice)

    on_crm = client.post(
        f"/api/v1/tickets/{ticket.pk}/reply", {"text": "ok", "channel": crm.pk}, format="json"
    )
    on_first = client.post(
        f"/api/v1/tickets/{ticket.pk}/reply", {"text": "ok", "channel": api_channel.pk}, format="json"
    )

    assert on_crm.json()["identity"]["value"] == f"{crm.pk}:crm-c"
    assert on_first.json()["identity"]["value"] == f"{api_channel.pk}:c"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "   "}, "text"),
        ({}, "text"),
        ({"text": "ok", "channel": 999999}, "channel"),
        # Text is a string, as the schema says: a number is refused, not read as its digits.
        ({"text": 0}, "text"),
        ({"text": "ok", "html": 12}, "html"),
    ],
)
def test_bad_reply_is_400_naming_the_field(
    api_channel: ChannelAccount, alice: User, body: dict[str, object], field: str
) -> None:
    ticket = customer_writes(api_channel, sender="c").ticket

    response = client_for(alice).post(f"/api/v1/tickets/{ticket.pk}/reply", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "status", "reason"),
    [
        (b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "nested deeper than"),
        (b'{"text": "ok", "x": ' + b"[" * 40 + b"]" * 40 + b"}", 400, "nested deeper than"),
        (b'{"text": NaN}', 400, "malformed JSON"),
        (b'{"text": "' + b"x" * 300_000 + b'"}', 413, "limit of 250000 bytes"),
    ],
)
def test_a_reply_body_too_deep_too_large_or_malformed_is_refused_with_a_reason(
    api_channel: ChannelAccount, alice: User, settings, raw: bytes, status: int, reason: str
) -> None:  # type: ignore[no-untyped-def]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 250_000
    ticket = customer_writes(api_channel, sender="c").ticket

    response = client_for(alice).post(
        f"/api/v1/tickets/{ticket.pk}/reply", raw, content_type="application/json"
    )

    assert response.status_code == status
    assert reason in response.json()["detail"]
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()


@pytest.mark.django_db
def test_reply_on_a_channel_the_customer_never_used_is_refused(
    api_channel: ChannelAccount, alice: User, billing: Team
) -> None:
    ticket = customer_writes(api_channel, sender="c").ticket
    unused = make_api_channel(team=billing)

    response = client_for(alice).post(
        f"/api/v1/tickets/{ticket.pk}/reply", {"text": "ok", "channel": unused.pk}, format="json"
    )

    assert response.status_code == 400
    assert "nobody to reply to" in response.json()["channel"][0]


@pytest.mark.django_db
def test_note_is_added_and_never_sent(api_channel: ChannelAccount, bob: User) -> None:
    ticket = new_ticket(api_channel)

    response = client_for(bob).post(
        f"/api/v1/tickets/{ticket.pk}/notes", {"text": "Ha già chiamato due volte"}, format="json"
    )

    assert response.status_code == 201
    note = Message.objects.get(pk=response.json()["id"])
    assert note.direction == Message.Direction.NOTE
    assert note.channel_account_id is None and note.author == bob
    blank = client_for(bob).post(f"/api/v1/tickets/{ticket.pk}/notes", {"text": ""}, format="json")
    assert blank.status_code == 400 and list(blank.json()) == ["text"]


@pytest.fixture
def failed_reply(api_channel: ChannelAccount, alice: User) -> Message:
    """A reply whose delivery failed for good: this channel has nowhere to send it."""
    ticket = customer_writes(api_channel, sender="c").ticket
    reply = message_send_reply(ticket=ticket, author=alice, text="Ecco il rimborso")
    assert message_deliver(message_id=reply.pk).status == Message.Status.FAILED
    reply.refresh_from_db()
    return reply


@pytest.mark.django_db
def test_failed_reply_shows_its_reason_and_can_be_retried(failed_reply: Message, bob: User) -> None:
    [_, shown] = timeline(bob, failed_reply.ticket)
    assert shown["status"] == "failed" and "callback URL" in shown["failure_reason"]

    response = client_for(bob).post(f"/api/v1/messages/{failed_reply.pk}/retry")

    assert response.status_code == 200
    assert response.json()["status"] == "queued"
    assert Message.objects.get(pk=failed_reply.pk).status == Message.Status.QUEUED
    again = client_for(bob).post(f"/api/v1/messages/{failed_reply.pk}/retry")
    assert again.status_code == 409
    assert again.json() == {"detail": "Only a failed message can be retried."}


@pytest.mark.django_db
def test_retry_of_another_teams_message_is_not_found(failed_reply: Message, carla: User) -> None:
    response = client_for(carla).post(f"/api/v1/messages/{failed_reply.pk}/retry")

    assert response.status_code == 404
    assert Message.objects.get(pk=failed_reply.pk).status == Message.Status.FAILED


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"text": 0}, {"text": ["a"]}, {"text": True}])
def test_a_note_whose_text_is_not_a_string_is_400(api_channel: ChannelAccount, bob: User, body: dict) -> None:  # type: ignore[type-arg]
    ticket = customer_writes(api_channel, sender="c").ticket

    response = client_for(bob).post(f"/api/v1/tickets/{ticket.pk}/notes", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["text"]
    assert not Message.objects.filter(direction=Message.Direction.NOTE).exists()
