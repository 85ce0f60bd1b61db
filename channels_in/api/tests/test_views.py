from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from django.test import Client

from channels_in.api.tests.wire import b64, inbound_url, payload, post
from channels_in.models import ChannelAccount, InboundEvent
from tests.fixtures.http_peer import AsgiServer, HttpPeer, Reply
from tests.fixtures.personas import make_api_channel
from tickets.models import Attachment, Contact, ContactIdentity, Message, Ticket
from tickets.sanitize import html_sanitize


def no_rows() -> bool:
    counts = {model.__name__: model.objects.count() for model in (InboundEvent, Contact, Ticket, Message)}
    assert counts == dict.fromkeys(counts, 0), counts
    return True


@pytest.fixture
def filed(django_capture_on_commit_callbacks) -> Callable:  # type: ignore[no-untyped-def,type-arg]
    """Post and let the after-commit work (the ingest task, in-process here) run."""

    def run(*args, **kwargs):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            return post(*args, **kwargs)

    return run


@pytest.mark.django_db
def test_bearer_post_is_accepted_then_filed_on_a_ticket(
    api_client: Client, api_channel: ChannelAccount, filed
) -> None:  # type: ignore[no-untyped-def]
    response = filed(api_client, api_channel, payload("order-1"))

    assert response.status_code == 202
    event = InboundEvent.objects.get()
    assert response.json() == {"event_id": event.pk, "status": "accepted"}
    assert event.state == InboundEvent.State.DONE
    assert event.provider_event_id == "order-1"
    # The raw request is kept for audit and replay, its credentials are not.
    assert "Authorization" not in event.headers and "authorization" not in event.headers
    assert event.headers["Content-Type"] == "application/json"
    message = Message.objects.get()
    assert event.result == {"message_ids": [message.pk]}
    assert message.text == "Il pacco è arrivato rotto"
    assert message.external_id == "order-1"
    assert message.direction == Message.Direction.INBOUND
    assert message.ticket.origin_channel == api_channel
    assert message.ticket.team == api_channel.default_team
    assert message.ticket.contact.name == "Giulia Neri"
    assert message.identity.value == f"{api_channel.pk}:cust-42"
    assert set(ContactIdentity.objects.values_list("kind", "value", "verified")) == {
        ("api", f"{api_channel.pk}:cust-42", True),
        ("email", "giulia@example.com", True),
    }


@pytest.mark.django_db
def test_signed_post_is_accepted(api_client: Client, api_channel: ChannelAccount, filed) -> None:  # type: ignore[no-untyped-def]
    response = filed(api_client, api_channel, payload("signed-1"), auth="signature")

    assert response.status_code == 202
    assert response.json()["status"] == "accepted"
    assert Message.objects.get().external_id == "signed-1"


@pytest.mark.django_db
def test_duplicate_post_returns_the_same_event_and_files_one_message(
    api_client: Client, api_channel: ChannelAccount, filed
) -> None:  # type: ignore[no-untyped-def]
    first = filed(api_client, api_channel, payload("dup-1"))
    again = filed(api_client, api_channel, payload("dup-1", text="sent twice by a retrying client"))

    assert again.status_code == 202
    assert again.json() == {"event_id": first.json()["event_id"], "status": "duplicate"}
    assert InboundEvent.objects.count() == 1
    assert Message.objects.get().text == "Il pacco è arrivato rotto"


@pytest.mark.django_db
def test_two_messages_of_one_customer_share_a_ticket(
    api_client: Client, api_channel: ChannelAccount, filed
) -> None:  # type: ignore[no-untyped-def]
    filed(api_client, api_channel, payload("a"))
    filed(api_client, api_channel, payload("b", text="E nessuno risponde"))

    ticket = Ticket.objects.get()
    assert list(ticket.messages.values_list("external_id", flat=True)) == ["a", "b"]


def _wrong_credentials(account: ChannelAccount, other: ChannelAccount) -> list[dict[str, str]]:
    body = json.dumps(payload()).encode()
    from channels_in.signing import body_signature

    return [
        {},
        {"Authorization": "Bearer not-the-token"},
        {"Authorization": f"Basic {account.config['token']}"},
        {"Authorization": f"Bearer {other.config['token']}"},
        {"X-Sportello-Signature": body_signature("wrong-secret", body)},
        {"X-Sportello-Signature": body_signature(account.config["secret"], body + b" ")},
        {"X-Sportello-Signature": body_signature(account.config["secret"], body)[len("sha256=") :]},
    ]


@pytest.mark.django_db
def test_wrong_or_missing_credentials_are_401_and_store_nothing(
    api_client: Client, api_channel: ChannelAccount
) -> None:
    other = make_api_channel()
    for headers in _wrong_credentials(api_channel, other):
        response = post(api_client, api_channel, payload(), auth="none", headers=headers)
        assert response.status_code == 401, headers
        assert response.json() == {"error": "missing or wrong token or signature"}
    assert no_rows()


@pytest.mark.django_db
def test_channel_without_secrets_accepts_nobody(api_client: Client) -> None:
    bare = ChannelAccount.objects.create(kind=ChannelAccount.Kind.API, name="Bare", key="bare", config={})
    body = json.dumps(payload()).encode()
    from channels_in.signing import body_signature

    for headers in ({"Authorization": "Bearer "}, {"X-Sportello-Signature": body_signature("", body)}):
        response = post(api_client, bare, body, auth="none", headers=headers)
        assert response.status_code == 401
    assert no_rows()


@pytest.mark.django_db
def test_credentials_are_checked_before_the_body_is_judged(
    api_client: Client, api_channel: ChannelAccount
) -> None:
    response = post(api_client, api_channel, b"{not json", auth="none")

    assert response.status_code == 401
    assert no_rows()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "reason_starts"),
    [
        (b"{not json", "body: malformed JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "body: JSON nested deeper than 32 levels"),
        (
            json.dumps(
                payload(extra=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]])
            ).encode(),
            "body: JSON nested deeper than 32 levels",
        ),
        (b'{"message_id": "m", "sender": {"id": "c"}, "text": "hi", "score": NaN}', "body: malformed JSON"),
        (b"[1, 2]", "body: "),
        (json.dumps({"sender": {"id": "x"}, "text": "hi"}).encode(), "message_id: "),
        (json.dumps(payload(sender={"name": "No id"})).encode(), "sender.id: "),
        (json.dumps(payload(sender={"id": ""})).encode(), "sender.id: "),
        (json.dumps(payload(sender={"id": "x", "email": "nope"})).encode(), "sender: "),
        (json.dumps(payload(text="", html="")).encode(), "body: "),
        (json.dumps(payload(sent_at="2026-11-01T10:00:00")).encode(), "sent_at: "),
        (
            json.dumps(payload(attachments=[{"filename": "a.txt", "content_base64": "@@@"}])).encode(),
            "attachments.0.content_base64: ",
        ),
        (
            json.dumps(payload(attachments=[{"filename": "a.txt"}])).encode(),
            "attachments.0: ",
        ),
        (
            json.dumps(payload(attachments=[{"filename": "a.txt", "url": "ftp://files/a"}])).encode(),
            "attachments.0.url: ",
        ),
    ],
)
def test_malformed_payload_is_400_naming_the_field(
    api_client: Client, api_channel: ChannelAccount, body: bytes, reason_starts: str
) -> None:
    response = post(api_client, api_channel, body)

    assert response.status_code == 400
    assert response.json()["error"].startswith(reason_starts), response.json()
    assert no_rows()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sent_at",
    [
        "2026-02-30T10:00:00+00:00",
        "2026-05-01T10:00:00+99:00",
        "2026-05-01T10:00:00+14:30",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "1066-10-14T09:00:00+00:00",
        # The schema promises ISO 8601 text: a number is not read as a Unix time.
        0,
        1767225600,
    ],
)
def test_an_impossible_sent_at_is_refused_at_the_door(
    api_client: Client, api_channel: ChannelAccount, sent_at: str | int
) -> None:
    response = post(api_client, api_channel, payload(sent_at=sent_at))

    assert response.status_code == 400, response.content
    assert response.json()["error"].startswith("sent_at: ")
    assert no_rows()


@pytest.mark.django_db
def test_a_sent_at_with_any_real_offset_is_filed_at_that_moment(
    api_client: Client, api_channel: ChannelAccount, filed
) -> None:  # type: ignore[no-untyped-def]
    response = filed(api_client, api_channel, payload(sent_at="2026-01-01T09:00:00+14:00"))

    assert response.status_code == 202
    assert Message.objects.get().sent_at.isoformat() == "2025-12-31T19:00:00+00:00"


@pytest.mark.django_db
def test_missing_sender_id_reason_names_it_exactly(api_client: Client, api_channel: ChannelAccount) -> None:
    response = post(api_client, api_channel, payload(sender={"name": "Anon"}))

    assert response.json() == {"error": "sender.id: Field required"}


@pytest.mark.django_db
def test_body_over_the_limit_by_content_length_is_413(
    api_client: Client, api_channel: ChannelAccount, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.INBOUND_MAX_BYTES = 2048
    response = post(api_client, api_channel, payload(text="x" * 3000))

    assert response.status_code == 413
    assert "limit is 2048" in response.json()["error"]
    assert no_rows()


@pytest.mark.django_db
def test_unknown_inactive_or_other_kind_channel_is_404(
    api_client: Client, api_channel: ChannelAccount
) -> None:
    ghost = ChannelAccount(kind=ChannelAccount.Kind.API, key="no-such-channel", config=api_channel.config)
    inactive = make_api_channel()
    ChannelAccount.objects.filter(pk=inactive.pk).update(active=False)
    mailbox = ChannelAccount.objects.create(
        kind=ChannelAccount.Kind.EMAIL, name="Mail", key="mail", config=api_channel.config
    )
    for account in (ghost, inactive, mailbox):
        response = post(api_client, account, payload())
        assert response.status_code == 404, account.key
        assert response.json() == {"error": "unknown channel"}
    assert no_rows()


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "text/xml"])
def test_a_body_declared_as_anything_but_json_is_415(
    api_client: Client, api_channel: ChannelAccount, content_type: str
) -> None:
    response = api_client.post(
        inbound_url(api_channel),
        data=json.dumps(payload()).encode(),
        content_type=content_type,
        headers={"Authorization": f"Bearer {api_channel.config['token']}"},
    )

    assert response.status_code == 415
    assert response.json() == {"error": "send the message as application/json"}
    assert no_rows()


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON", ""])
def test_json_with_parameters_or_no_declared_type_is_accepted(
    api_client: Client, api_channel: ChannelAccount, content_type: str
) -> None:
    response = api_client.generic(
        "POST",
        inbound_url(api_channel),
        data=json.dumps(payload()).encode(),
        content_type=content_type,
        headers={"Authorization": f"Bearer {api_channel.config['token']}"},
    )

    assert response.status_code == 202, response.content
    assert InboundEvent.objects.count() == 1


@pytest.mark.django_db
def test_the_media_type_is_judged_after_the_credentials(
    api_client: Client, api_channel: ChannelAccount
) -> None:
    response = api_client.post(inbound_url(api_channel), data=b"hello", content_type="text/plain")

    assert response.status_code == 401
    assert no_rows()


@pytest.mark.django_db
def test_only_post_is_allowed(api_client: Client, api_channel: ChannelAccount) -> None:
    assert api_client.get(inbound_url(api_channel)).status_code == 405
    assert no_rows()


@pytest.mark.django_db
def test_base64_attachment_is_stored_with_its_digest(
    api_client: Client, api_channel: ChannelAccount, media_root: Path, filed
) -> None:  # type: ignore[no-untyped-def]
    content = b"%PDF-1.4 receipt 2026-11"
    attachments = [
        {"filename": "ricevuta.pdf", "content_type": "application/pdf", "content_base64": b64(content)}
    ]
    response = filed(api_client, api_channel, payload(attachments=attachments))

    assert response.status_code == 202
    attachment = Attachment.objects.get()
    assert attachment.message == Message.objects.get()
    assert (attachment.filename, attachment.content_type) == ("ricevuta.pdf", "application/pdf")
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert attachment.size == len(content)
    assert Path(attachment.file.path).read_bytes() == content
    assert Path(attachment.file.path).is_relative_to(media_root)


@pytest.mark.django_db
def test_attachment_names_cannot_disguise_their_extension(
    api_client: Client, api_channel: ChannelAccount, media_root: Path, filed
) -> None:  # type: ignore[no-untyped-def]
    attachments = [
        {"filename": "report\u202egnp.exe", "content_base64": b64(b"MZ")},
        {"filename": "../../.bashrc", "content_base64": b64(b"#")},
    ]
    filed(api_client, api_channel, payload(attachments=attachments))

    assert sorted(Attachment.objects.values_list("filename", flat=True)) == ["bashrc", "reportgnp.exe"]


@pytest.mark.django_db
def test_attachment_by_url_is_fetched_after_the_message_is_stored(
    api_client: Client, api_channel: ChannelAccount, media_root: Path, http_peer: HttpPeer, filed
) -> None:  # type: ignore[no-untyped-def]
    photo = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    http_peer.script("/files/photo.png", Reply(200, photo, content_type="image/png"))
    attachments = [
        {"filename": "photo.png", "content_type": "image/png", "url": http_peer.url("/files/photo.png")}
    ]

    response = filed(api_client, api_channel, payload(attachments=attachments))

    assert response.status_code == 202
    assert [(r.method, r.path) for r in http_peer.received()] == [("GET", "/files/photo.png")]
    attachment = Attachment.objects.get()
    assert attachment.source_url == http_peer.url("/files/photo.png")
    assert attachment.sha256 == hashlib.sha256(photo).hexdigest()
    assert attachment.size == len(photo)
    assert Path(attachment.file.path).read_bytes() == photo


@pytest.mark.django_db(transaction=True)
def test_real_server_rejects_oversize_bodies_by_header_and_by_actual_size(
    asgi_server: AsgiServer, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.INBOUND_MAX_BYTES = 4096
    account = make_api_channel()
    url = asgi_server.url(inbound_url(account))
    auth = {"Authorization": f"Bearer {account.config['token']}", "Content-Type": "application/json"}
    big = json.dumps(payload(text="y" * 10_000)).encode()

    declared = httpx.post(url, content=big, headers=auth, timeout=10)

    def chunks():  # type: ignore[no-untyped-def]
        # A generator makes httpx send Transfer-Encoding: chunked, with no Content-Length to trust.
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    streamed = httpx.post(url, content=chunks(), headers=auth, timeout=10)

    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert "limit of 4096" in streamed.json()["error"]
    assert no_rows()

    small = httpx.post(url, content=json.dumps(payload()).encode(), headers=auth, timeout=10)
    assert small.status_code == 202
    assert InboundEvent.objects.count() == 1


@pytest.mark.django_db
def test_nul_characters_are_dropped_not_fatal(api_client: Client, api_channel: ChannelAccount, filed) -> None:  # type: ignore[no-untyped-def]
    response = filed(api_client, api_channel, payload(text="rotto\u0000 davvero", sender={"id": "c\u00001"}))

    assert response.status_code == 202
    assert InboundEvent.objects.get().state == InboundEvent.State.DONE
    message = Message.objects.get()
    assert message.text == "rotto davvero"
    assert message.identity.value == f"{api_channel.pk}:c1"


@pytest.mark.django_db
def test_html_is_sanitized_before_it_is_stored(
    api_client: Client, api_channel: ChannelAccount, filed
) -> None:  # type: ignore[no-untyped-def]
    html = '<p onclick="steal()">Ciao <b>team</b><script>alert(1)</script><img src=x onerror="steal()"></p>'
    filed(api_client, api_channel, payload(html=html))

    stored = Message.objects.get().html
    assert "<b>team</b>" in stored
    assert "script" not in stored and "onclick" not in stored and "onerror" not in stored


PIXEL = "data:image/png;base64,iVBORw0KGgo="


@pytest.mark.django_db
def test_html_keeps_no_remote_or_relative_image_as_email_does(
    api_client: Client, api_channel: ChannelAccount, filed
) -> None:  # type: ignore[no-untyped-def]
    html = (
        '<p>Ciao<img src="https://tracker.example/open.gif?u=42" width="1">'
        '<img src="/logout/"><img src="//tracker.example/p.gif"><img src="logo.png">'
        f'<img src="{PIXEL}" alt="inline"><img src="cid:logo@crm" alt="logo">'
        '<img src="data:text/html,&lt;script&gt;x()&lt;/script&gt;">'
        '<span style="background: url(https://tracker.example/bg.gif)">sfondo</span>'
        '<a href="https://shop.example/ordine/5521">ordine</a></p>'
    )
    filed(api_client, api_channel, payload(html=html))

    stored = Message.objects.get().html
    assert "tracker.example" not in stored and "/logout/" not in stored and "logo.png" not in stored
    assert "data:text" not in stored and "url(" not in stored
    # Embedded and inline (cid:, a reference to an attachment) images stay, as in an email.
    assert f'<img src="{PIXEL}" alt="inline">' in stored
    assert '<img src="cid:logo@crm" alt="logo">' in stored
    assert 'href="https://shop.example/ordine/5521"' in stored
    assert stored == html_sanitize(html)


@pytest.mark.django_db(transaction=True)
def test_the_same_message_posted_ten_times_at_once_is_stored_and_filed_once(asgi_server: AsgiServer) -> None:
    account = make_api_channel()
    body = json.dumps(payload("race-1")).encode()
    headers = {"Authorization": f"Bearer {account.config['token']}", "Content-Type": "application/json"}
    start = threading.Barrier(10)

    def send(_: int) -> httpx.Response:
        start.wait(timeout=10)
        return httpx.post(asgi_server.url(inbound_url(account)), content=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(send, range(10)))

    assert [answer.status_code for answer in answers] == [202] * 10
    statuses = sorted(answer.json()["status"] for answer in answers)
    assert statuses == ["accepted"] + ["duplicate"] * 9
    event = InboundEvent.objects.get()
    assert {answer.json()["event_id"] for answer in answers} == {event.pk}
    assert Message.objects.count() == 1
    assert Message.objects.get().external_id == "race-1"


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["<maria@example.com>", "maria@example..com", "a,b@example.com"])
def test_the_api_channel_refuses_an_undeliverable_sender_email(
    api_client: Client, api_channel: ChannelAccount, email: str
) -> None:
    response = post(api_client, api_channel, json.dumps(payload(sender={"id": "x", "email": email})).encode())

    assert response.status_code == 400
    assert response.json()["error"].startswith("sender: ")
    assert not InboundEvent.objects.exists()
