"""The widget's HTTP side: configuration, iframe page, sessions, uploads and file downloads."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.core import signing
from django.test import Client

from channels_in.models import ChannelAccount, InboundEvent
from channels_in.webchat.tests.conftest import SHOP, make_webchat_channel
from channels_in.webchat.tokens import identity_hash, visitor_token_read
from tickets.models import Attachment, Message

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def start_session(client: Client, account: ChannelAccount, **body: Any) -> Any:
    body.setdefault("origin", SHOP)
    return client.post(f"/widget/{account.key}/session", json.dumps(body), content_type="application/json")


@pytest.mark.django_db
def test_config_is_served_to_an_allowed_site_with_cors(client: Client, webchat: ChannelAccount) -> None:
    response = client.get(f"/widget/{webchat.key}/config.json", headers={"Origin": SHOP})

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert response.json()["frame_url"] == f"http://testserver/widget/{webchat.key}/frame/"
    assert "secret" not in response.content.decode()


@pytest.mark.django_db
def test_config_is_refused_to_another_site(client: Client, webchat: ChannelAccount) -> None:
    response = client.get(f"/widget/{webchat.key}/config.json", headers={"Origin": "https://evil.example"})

    assert response.status_code == 403
    assert response.json()["error"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.django_db
def test_self_lets_the_help_desk_embed_its_own_chat(client: Client, billing) -> None:  # type: ignore[no-untyped-def]
    account = make_webchat_channel(team=billing, allowed_origins=["'self'"])

    assert client.get(f"/widget/{account.key}/config.json").status_code == 200
    assert client.get(f"/widget/{account.key}/config.json", headers={"Origin": SHOP}).status_code == 403


@pytest.mark.django_db
def test_unknown_or_inactive_channels_are_not_found(client: Client, webchat: ChannelAccount) -> None:
    webchat.active = False
    webchat.save()

    assert client.get(f"/widget/{webchat.key}/config.json", headers={"Origin": SHOP}).status_code == 404
    assert client.get("/widget/nope/config.json", headers={"Origin": SHOP}).status_code == 404


@pytest.mark.django_db
def test_the_frame_may_be_framed_only_by_the_channel_sites(client: Client, webchat: ChannelAccount) -> None:
    response = client.get(f"/widget/{webchat.key}/frame/", {"o": SHOP, "lang": "it-IT"})

    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert f"frame-ancestors {SHOP}" in policy
    assert "script-src 'self'" in policy
    assert "X-Frame-Options" not in response
    assert 'lang="it"' in response.content.decode()
    assert client.get(f"/widget/{webchat.key}/frame/", {"o": "https://evil.example"}).status_code == 403


@pytest.mark.django_db
def test_a_session_starts_resumes_and_records_prechat_answers(
    client: Client, webchat: ChannelAccount
) -> None:
    first = start_session(client, webchat).json()
    again = start_session(client, webchat, token=first["token"], name="Maria", email="Maria@Example.com")

    assert again.status_code == 200
    body = again.json()
    assert body["visitor_id"] == first["visitor_id"]
    assert (body["name"], body["email"], body["verified"], body["notice"]) == (
        "Maria",
        "maria@example.com",
        False,
        "",
    )
    visitor = visitor_token_read(webchat, body["token"])
    assert (visitor.origin, visitor.email) == (SHOP, "maria@example.com")


@pytest.mark.django_db
def test_a_tampered_token_starts_a_new_visitor_and_says_so(client: Client, webchat: ChannelAccount) -> None:
    first = start_session(client, webchat).json()

    body = start_session(client, webchat, token=first["token"][:-3] + "xyz").json()

    assert body["notice"] == "token_invalid"
    assert body["visitor_id"] != first["visitor_id"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"origin": "https://evil.example"}, 403, "origin_not_allowed"),
        ({"email": "not an address"}, 400, "email_invalid"),
        ({"identity": {"user_id": "7", "user_hash": "00" * 32}}, 403, "identity_invalid"),
    ],
)
@pytest.mark.django_db
def test_bad_sessions_are_refused_with_a_reason(
    client: Client, webchat: ChannelAccount, body: dict[str, Any], status: int, code: str
) -> None:
    response = start_session(client, webchat, **body)

    assert response.status_code == status
    assert response.json()["error"] == code
    assert "token" not in response.json()


@pytest.mark.django_db
def test_a_signed_identity_makes_a_verified_visitor(client: Client, webchat: ChannelAccount) -> None:
    signed = identity_hash(webchat.config["secret"], user_id="7", email="maria@example.com")

    body = start_session(
        client, webchat, identity={"user_id": "7", "email": "maria@example.com", "user_hash": signed}
    ).json()

    assert body["verified"] is True
    assert body["visitor_id"].startswith("u-")


def upload(client: Client, account: ChannelAccount, token: str, name: str, kind: str, content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        f"/widget/{account.key}/messages",
        {"client_id": "upload-0001", "text": "see", "file": SimpleUploadedFile(name, content, kind)},
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.django_db
def test_an_upload_is_recorded_and_its_file_served_only_by_the_visitor_link(  # type: ignore[no-untyped-def]
    client: Client, webchat: ChannelAccount, media_root, django_capture_on_commit_callbacks
) -> None:
    from channels_in.webchat.selectors import visitor_catch_up

    session = start_session(client, webchat).json()
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, webchat, session["token"], "photo.png", "image/png", PNG)

    assert response.status_code == 202
    assert response.json() == {"client_id": "upload-0001", "status": "accepted"}
    stored = Attachment.objects.get()
    messages, _marks = visitor_catch_up(account=webchat, visitor_id=session["visitor_id"], marks={})
    url = messages[0]["attachments"][0]["url"]
    served = client.get(url)
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == PNG
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"]
    assert stored.message.external_id == f"{session['visitor_id']}:upload-0001"
    assert client.get(url[:-4] + "AAAA").status_code == 404


@pytest.mark.parametrize(
    ("name", "kind", "content", "status", "code"),
    [
        ("page.html", "text/html", b"<script>alert(1)</script>", 415, "attachment_type"),
        ("fake.png", "image/png", b"<svg onload=alert(1)>", 415, "attachment_type"),
        ("big.png", "image/png", PNG + b"\x00" * 8000, 413, "attachment_too_large"),
    ],
)
@pytest.mark.django_db
def test_bad_uploads_are_refused_and_nothing_is_stored(  # type: ignore[no-untyped-def]
    client: Client, billing, name: str, kind: str, content: bytes, status: int, code: str
) -> None:
    account = make_webchat_channel(team=billing, max_attachment_bytes=4096)
    token = start_session(client, account).json()["token"]

    response = upload(client, account, token, name, kind, content)

    assert response.status_code == status
    assert response.json()["error"] == code
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_an_upload_without_a_good_token_is_refused(client: Client, webchat: ChannelAccount) -> None:
    response = upload(client, webchat, "forged", "photo.png", "image/png", PNG)

    assert response.status_code == 401
    assert response.json()["error"] == "token_invalid"
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_the_demo_page_embeds_the_demo_channel_with_one_tag(client: Client, billing) -> None:  # type: ignore[no-untyped-def]
    from channels_in.webchat.demo import DEMO_CHANNEL_KEY

    ChannelAccount.objects.create(
        kind=ChannelAccount.Kind.WEBCHAT,
        name="Demo",
        key=DEMO_CHANNEL_KEY,
        config={"allowed_origins": ["'self'"]},
    )

    page = client.get("/widget/demo/").content.decode()

    assert (
        f'<script async src="http://testserver/static/widget/widget.js" data-channel="{DEMO_CHANNEL_KEY}">'
        in page
    )


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["<maria@example.com>", "maria@example..com", "a,b@example.com"])
def test_the_web_chat_refuses_an_undeliverable_email(
    client: Client, webchat: ChannelAccount, email: str
) -> None:
    response = client.post(
        f"/widget/{webchat.key}/session",
        json.dumps({"origin": SHOP, "email": email}),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["error"] == "email_invalid"


@pytest.mark.django_db
def test_the_web_chat_refuses_a_signed_identity_with_an_undeliverable_email(
    client: Client, webchat: ChannelAccount
) -> None:
    email = "maria rossi@example.com"
    signed = identity_hash(webchat.config["secret"], user_id="7", email=email)

    response = client.post(
        f"/widget/{webchat.key}/session",
        json.dumps({"origin": SHOP, "identity": {"user_id": "7", "email": email, "user_hash": signed}}),
        content_type="application/json",
    )

    assert response.status_code == 403
    assert response.json()["error"] == "identity_invalid"


class _SignedEarlier(signing.TimestampSigner):
    """Signs as if it were ``seconds`` ago: a link the widget was given that long before."""

    def __init__(self, seconds: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seconds = seconds

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) - self.seconds)


@pytest.mark.django_db
def test_a_file_link_lives_only_minutes(  # type: ignore[no-untyped-def]
    client: Client, webchat: ChannelAccount, media_root, django_capture_on_commit_callbacks, settings
) -> None:
    from channels_in.webchat.selectors import FILE_SALT

    session = start_session(client, webchat).json()
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, webchat, session["token"], "photo.png", "image/png", PNG)
    data = {"a": Attachment.objects.get().pk, "v": session["visitor_id"]}

    def link(seconds_ago: int) -> str:
        signed = _SignedEarlier(seconds_ago, salt=FILE_SALT).sign_object(data, compress=True)
        return f"/widget/{webchat.key}/files/{signed}"

    lifetime = settings.WEBCHAT_FILE_LINK_SECONDS
    assert lifetime <= 15 * 60
    assert client.get(link(lifetime - 30)).status_code == 200
    # A link copied from an access log, a history or a shared screen is useless a few minutes later.
    assert client.get(link(lifetime + 30)).status_code == 404
    assert client.get(link(24 * 3600)).status_code == 404
