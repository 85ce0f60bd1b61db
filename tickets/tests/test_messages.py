from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from channels_in.models import ChannelAccount
from channels_in.signing import body_signature, signature_valid
from tests.fixtures.http_peer import HttpPeer, Reply, free_port
from tests.fixtures.personas import make_api_channel
from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
from tickets.models import Message, Ticket, TicketEvent
from tickets.services.ingest import ingest_inbound_message
from tickets.services.messages import message_deliver, message_retry, message_send_reply, note_add

CALLBACK = "/callback"


@pytest.fixture
def channel(http_peer: HttpPeer, billing) -> ChannelAccount:  # type: ignore[no-untyped-def]
    return make_api_channel(
        team=billing, trust_identities=True, callback_url=http_peer.url(CALLBACK), callback_timeout=1
    )


def customer_writes(
    account: ChannelAccount, external_id: str, *, sender: str = "cust-42", email: str = "giulia@example.com"
) -> Ticket:
    return ingest_inbound_message(
        inbound=InboundMessage(
            channel_account_id=account.pk,
            external_id=external_id,
            sender=IdentityClaim(IdentityKind.API, f"{account.pk}:{sender}", verified=True),
            sender_name="Giulia Neri",
            other_identities=[IdentityClaim(IdentityKind.EMAIL, email, verified=True)],
            text="Dov'è il mio rimborso?",
        )
    ).ticket


def queued_reply(ticket: Ticket, author: User, text: str = "Lo abbiamo appena emesso.") -> Message:
    """A reply as the service leaves it, before its after-commit delivery (tests drive that by hand)."""
    return message_send_reply(ticket=ticket, author=author, text=text)


@pytest.mark.django_db
def test_reply_is_posted_signed_and_marked_sent(
    channel: ChannelAccount, alice: User, http_peer: HttpPeer
) -> None:
    http_peer.script(CALLBACK, Reply(200, b'{"id": "crm-msg-9"}'))
    ticket = customer_writes(channel, "in-1")
    reply = queued_reply(ticket, alice)
    assert reply.status == Message.Status.QUEUED

    outcome = message_deliver(message_id=reply.pk)

    assert outcome.status == Message.Status.SENT and outcome.retry_in is None
    reply.refresh_from_db()
    assert (reply.status, reply.external_id, reply.attempts) == (Message.Status.SENT, "reply:crm-msg-9", 1)
    assert reply.metadata == {"callback_id": "crm-msg-9"}
    [request] = http_peer.received(CALLBACK)
    assert request.method == "POST"
    assert request.header("Content-Type") == "application/json"
    assert request.header("Idempotency-Key") == f"sportello-message-{reply.pk}"
    assert signature_valid(channel.config["secret"], request.body, request.header("X-Sportello-Signature"))
    assert request.header("X-Sportello-Signature") == body_signature(channel.config["secret"], request.body)
    body = json.loads(request.body)
    assert body["event"] == "message.created"
    assert body["message_id"] == reply.pk
    assert body["ticket_id"] == ticket.pk
    assert body["recipient"] == {"id": "cust-42"}
    assert body["text"] == "Lo abbiamo appena emesso."
    assert body["author"] == {"name": "Alice Rossi"}
    statuses = TicketEvent.objects.filter(ticket=ticket, type="message.status")
    assert [event.payload["status"] for event in statuses] == ["sent"]


@pytest.mark.django_db
def test_reply_is_delivered_after_commit_by_the_task(
    channel: ChannelAccount, alice: User, http_peer: HttpPeer, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    http_peer.script(CALLBACK, Reply(200, b"{}"))
    ticket = customer_writes(channel, "in-1")
    with django_capture_on_commit_callbacks() as callbacks:
        reply = queued_reply(ticket, alice)
    # Nothing leaves before the transaction commits.
    assert http_peer.received() == []

    for callback in callbacks:
        callback()

    assert Message.objects.get(pk=reply.pk).status == Message.Status.SENT
    assert len(http_peer.received(CALLBACK)) == 1


@pytest.mark.django_db
def test_transient_failures_back_off_exponentially_then_send(
    channel: ChannelAccount, alice: User, http_peer: HttpPeer
) -> None:
    http_peer.script(
        CALLBACK,
        Reply(500, b"boom"),
        Reply(503),
        Reply(200, delay=3),  # longer than the channel's 1 s timeout
        Reply(close=True),
        Reply(429),
        then=Reply(201, b'{"id": "ok-1"}'),
    )
    reply = queued_reply(customer_writes(channel, "in-1"), alice)

    outcomes = [message_deliver(message_id=reply.pk) for _ in range(6)]

    assert [(o.status, o.retry_in) for o in outcomes] == [
        ("queued", 2.0),
        ("queued", 4.0),
        ("queued", 8.0),
        ("queued", 16.0),
        ("queued", 32.0),
        ("sent", None),
    ]
    reply.refresh_from_db()
    assert (reply.status, reply.external_id, reply.attempts) == ("sent", "reply:ok-1", 6)
    keys = {request.header("Idempotency-Key") for request in http_peer.received(CALLBACK)}
    assert keys == {f"sportello-message-{reply.pk}"}
    # Agents see each failed attempt, and why, while the retry waits.
    statuses = TicketEvent.objects.filter(ticket=reply.ticket, type="message.status").order_by("seq")
    assert [(e.payload["status"], e.payload["reason"]) for e in statuses] == [
        ("queued", "callback answered 500"),
        ("queued", "callback answered 503"),
        ("queued", "callback unreachable: ReadTimeout"),
        ("queued", "callback unreachable: RemoteProtocolError"),
        ("queued", "callback answered 429"),
        ("sent", ""),
    ]


@pytest.mark.django_db
def test_each_transient_failure_is_recorded_on_the_message(
    channel: ChannelAccount, alice: User, http_peer: HttpPeer
) -> None:
    http_peer.script(CALLBACK, Reply(502))
    reply = queued_reply(customer_writes(channel, "in-1"), alice)

    message_deliver(message_id=reply.pk)

    reply.refresh_from_db()
    assert (reply.status, reply.failure_reason) == ("queued", "callback answered 502")


@pytest.mark.django_db
def test_connection_refused_is_transient(alice: User, billing, settings) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1"]
    settings.OUTBOUND_ALLOWED_PORTS = [str(port)]
    nobody = make_api_channel(team=billing, callback_url=f"http://127.0.0.1:{port}/cb")
    reply = queued_reply(customer_writes(nobody, "in-1"), alice)

    outcome = message_deliver(message_id=reply.pk)

    assert (outcome.status, outcome.retry_in) == ("queued", 2.0)
    assert Message.objects.get(pk=reply.pk).failure_reason == "callback unreachable: ConnectError"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/callback", "127.0.0.1 is a loopback address"),
        (
            "http://[::ffff:7f00:1]:{port}/callback",
            "::ffff:7f00:1 is an IPv6 form of 127.0.0.1, a loopback address",
        ),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("gopher://127.0.0.1:{port}/callback", "the scheme 'gopher' is not http or https"),
    ],
)
def test_a_callback_to_an_internal_address_fails_at_once_and_sends_nothing(
    url: str, reason: str, alice: User, http_peer: HttpPeer, billing, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    internal = make_api_channel(team=billing, callback_url=url.format(port=http_peer.port))
    reply = queued_reply(customer_writes(internal, "in-1"), alice)

    outcome = message_deliver(message_id=reply.pk)

    assert (outcome.status, outcome.retry_in) == ("failed", None)
    assert Message.objects.get(pk=reply.pk).failure_reason == f"callback not allowed: {reason}"
    assert http_peer.received() == []


@pytest.mark.django_db
def test_client_error_fails_at_once_with_the_reason(
    channel: ChannelAccount, alice: User, http_peer: HttpPeer
) -> None:
    http_peer.script(CALLBACK, Reply(422, b'{"error": "recipient unknown"}'))
    reply = queued_reply(customer_writes(channel, "in-1"), alice)

    outcome = message_deliver(message_id=reply.pk)

    assert (outcome.status, outcome.retry_in) == ("failed", None)
    reply.refresh_from_db()
    assert reply.status == Message.Status.FAILED
    assert reply.failure_reason == 'callback refused the reply: 422 {"error": "recipient unknown"}'
    event = TicketEvent.objects.filter(type="message.status").get()
    assert event.payload == {"message_id": reply.pk, "status": "failed", "reason": reply.failure_reason}
    # A failed message is not picked up again by a stray duplicate task.
    assert message_deliver(message_id=reply.pk).status == "failed"
    assert len(http_peer.received(CALLBACK)) == 1


@pytest.mark.django_db
def test_gives_up_after_the_last_attempt(
    channel: ChannelAccount, alice: User, http_peer: HttpPeer, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.DELIVERY_MAX_ATTEMPTS = 3
    http_peer.script(CALLBACK, then=Reply(500))
    reply = queued_reply(customer_writes(channel, "in-1"), alice)

    outcomes = [message_deliver(message_id=reply.pk).status for _ in range(3)]

    assert outcomes == ["queued", "queued", "failed"]
    reply.refresh_from_db()
    assert reply.failure_reason == "gave up after 3 attempts: callback answered 500"
    assert len(http_peer.received(CALLBACK)) == 3


@pytest.mark.django_db
def test_channel_without_callback_fails_permanently(alice: User, billing) -> None:  # type: ignore[no-untyped-def]
    silent = make_api_channel(team=billing)
    reply = queued_reply(customer_writes(silent, "in-1"), alice)

    assert message_deliver(message_id=reply.pk).status == "failed"
    assert (
        Message.objects.get(pk=reply.pk).failure_reason == "this API channel has no callback URL configured"
    )


@pytest.mark.django_db
def test_failed_message_can_be_retried_and_is_then_sent(
    channel: ChannelAccount, alice: User, http_peer: HttpPeer, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    http_peer.script(CALLBACK, Reply(400, b"bad"), then=Reply(200, b'{"id": "second-try"}'))
    reply = queued_reply(customer_writes(channel, "in-1"), alice)
    message_deliver(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.status == "failed"

    with django_capture_on_commit_callbacks(execute=True):
        retried = message_retry(message=reply, actor=alice)

    assert retried.pk == reply.pk
    reply.refresh_from_db()
    assert (reply.status, reply.external_id, reply.failure_reason, reply.attempts) == (
        "sent",
        "reply:second-try",
        "",
        1,
    )
    assert len(http_peer.received(CALLBACK)) == 2


@pytest.mark.django_db
def test_only_failed_messages_can_be_retried(
    channel: ChannelAccount, alice: User, http_peer: HttpPeer
) -> None:
    http_peer.script(CALLBACK, Reply(200, b"{}"))
    reply = queued_reply(customer_writes(channel, "in-1"), alice)
    message_deliver(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.status == "sent"

    with pytest.raises(ValidationError):
        message_retry(message=reply, actor=alice)


@pytest.mark.django_db
def test_a_note_is_never_sent(
    channel: ChannelAccount, alice: User, http_peer: HttpPeer, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    ticket = customer_writes(channel, "in-1")
    with django_capture_on_commit_callbacks(execute=True):
        note = note_add(ticket=ticket, author=alice, text="Cliente VIP, rimborsare subito")

    assert (note.direction, note.channel_account_id, note.identity_id) == ("note", None, None)
    # Even a stray delivery task for it sends nothing.
    assert message_deliver(message_id=note.pk).status == "sent"
    assert http_peer.received() == []
    event = TicketEvent.objects.filter(ticket=ticket, type="message.created").last()
    assert event.payload["direction"] == "note"


@pytest.mark.django_db
def test_reply_goes_to_the_identity_the_customer_last_wrote_from(
    channel: ChannelAccount, alice: User, http_peer: HttpPeer, billing
) -> None:  # type: ignore[no-untyped-def]
    crm = make_api_channel(team=billing, trust_identities=True, callback_url=http_peer.url("/crm"))
    ticket = customer_writes(channel, "in-1")
    # The same customer (same verified email) writes again from the CRM integration.
    assert customer_writes(crm, "crm-1", sender="crm-77").pk == ticket.pk

    latest = queued_reply(ticket, alice)
    pinned = message_send_reply(ticket=ticket, author=alice, text="Anche qui", channel_account=channel)
    message_deliver(message_id=latest.pk)
    message_deliver(message_id=pinned.pk)

    assert latest.channel_account == crm and latest.identity.value == f"{crm.pk}:crm-77"
    assert json.loads(http_peer.received("/crm")[0].body)["recipient"] == {"id": "crm-77"}
    assert json.loads(http_peer.received(CALLBACK)[0].body)["recipient"] == {"id": "cust-42"}


@pytest.mark.django_db
def test_no_reply_on_a_channel_the_customer_never_used(channel: ChannelAccount, alice: User) -> None:
    ticket = customer_writes(channel, "in-1")
    elsewhere = make_api_channel()

    with pytest.raises(ValidationError, match="has not written on that channel"):
        message_send_reply(ticket=ticket, author=alice, text="Ciao", channel_account=elsewhere)
    with pytest.raises(ValidationError, match="needs some text"):
        message_send_reply(ticket=ticket, author=alice, text="   ")
    assert Message.objects.filter(direction=Message.Direction.OUTBOUND).count() == 0


@pytest.mark.django_db
def test_reply_updates_the_ticket_clock(channel: ChannelAccount, alice: User) -> None:
    ticket = customer_writes(channel, "in-1")
    assert ticket.awaiting_agent_since is not None

    reply = queued_reply(ticket, alice)

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.first_response_at == reply.sent_at
    assert ticket.last_agent_message_at == reply.sent_at
    assert ticket.awaiting_agent_since is None


@pytest.mark.django_db
def test_reply_without_an_id_in_the_answer_gets_our_own(
    channel: ChannelAccount, alice: User, http_peer: HttpPeer
) -> None:
    http_peer.script(CALLBACK, Reply(204, b"", content_type="text/plain"))
    reply = queued_reply(customer_writes(channel, "in-1"), alice)

    assert message_deliver(message_id=reply.pk).status == "sent"
    assert Message.objects.get(pk=reply.pk).external_id == f"sportello-message-{reply.pk}"


@pytest.mark.django_db
def test_a_provider_id_given_twice_still_leaves_both_replies_sent(
    channel: ChannelAccount, alice: User, http_peer: HttpPeer
) -> None:
    http_peer.script(CALLBACK, then=Reply(200, b'{"id": "ok"}'))
    ticket = customer_writes(channel, "in-1")
    first, second = queued_reply(ticket, alice), queued_reply(ticket, alice, "E poi?")

    assert [message_deliver(message_id=m.pk).status for m in (first, second)] == ["sent", "sent"]

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.external_id, second.external_id) == ("reply:ok", None)
    assert second.metadata["duplicate_provider_id"] == "reply:ok"


@pytest.mark.django_db
def test_reply_ids_never_shadow_later_customer_messages(
    channel: ChannelAccount, alice: User, http_peer: HttpPeer
) -> None:
    """An integrator numbering replies and messages apart may answer with an id a message will have."""
    http_peer.script(CALLBACK, Reply(200, b'{"id": "17"}'))
    ticket = customer_writes(channel, "16")
    message_deliver(message_id=queued_reply(ticket, alice).pk)

    customer_writes(channel, "17")

    assert list(ticket.messages.values_list("direction", "external_id")) == [
        ("inbound", "16"),
        ("outbound", "reply:17"),
        ("inbound", "17"),
    ]


@pytest.mark.django_db
def test_a_channel_without_a_secret_sends_no_signature(alice: User, http_peer: HttpPeer, billing) -> None:  # type: ignore[no-untyped-def]
    unsigned = make_api_channel(team=billing, callback_url=http_peer.url(CALLBACK))
    unsigned.config.pop("secret")
    unsigned.save()
    http_peer.script(CALLBACK, Reply(200, b"{}"))
    reply = queued_reply(customer_writes(unsigned, "in-1"), alice)

    assert message_deliver(message_id=reply.pk).status == "sent"
    [request] = http_peer.received(CALLBACK)
    assert request.header("X-Sportello-Signature") == ""
    assert request.header("Idempotency-Key") == f"sportello-message-{reply.pk}"


@pytest.mark.django_db
def test_an_adapter_crash_is_retried_then_given_up(
    alice: User, http_peer: HttpPeer, billing, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.DELIVERY_MAX_ATTEMPTS = 2
    # A misconfigured channel makes the adapter itself raise, not the provider.
    broken = make_api_channel(team=billing, callback_url=http_peer.url(CALLBACK), callback_timeout="soon")
    reply = queued_reply(customer_writes(broken, "in-1"), alice)

    first, second = message_deliver(message_id=reply.pk), message_deliver(message_id=reply.pk)

    assert (first.status, first.retry_in, second.status) == ("queued", 2.0, "failed")
    reply.refresh_from_db()
    assert reply.failure_reason == "gave up after 2 attempts: internal error: ValueError"
    assert http_peer.received() == []
