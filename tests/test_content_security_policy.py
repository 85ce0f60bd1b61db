"""Every page carries a strict Content-Security-Policy; the widget's frame and stored files keep their own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.test import Client

from channels_in.models import ChannelAccount
from channels_in.webchat.tests.conftest import SHOP, make_webchat_channel
from tests.fixtures.browser import customer_writes
from tests.fixtures.files import PNG
from tickets.models import Attachment, Message

pytestmark = pytest.mark.django_db


def directives(header: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.fixture
def staff_client(alice: User) -> Client:
    User.objects.filter(pk=alice.pk).update(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def ticket_id(api_channel: ChannelAccount) -> int:
    return customer_writes(api_channel, "hello, <b>world</b>", html="<p style='color:red'>hello</p>").pk


def test_the_workspace_pages_have_a_strict_policy(staff_client: Client, ticket_id: int) -> None:
    pages = ["/inbox/mine/", f"/tickets/{ticket_id}/", "/admin/", "/api/docs/"]
    for url in [*pages, "/login/"]:
        client = staff_client if url != "/login/" else Client()
        response = client.get(url)
        assert response.status_code == 200, url

        policy = directives(response["Content-Security-Policy"])

        assert policy["default-src"] == ["'self'"], url
        assert policy["script-src"] == ["'self'"], url
        assert "'unsafe-inline'" not in policy.get("style-src", []), url
        assert policy["img-src"] == ["'self'", "data:"], url
        assert policy["frame-ancestors"] == ["'none'"], url
        assert policy["object-src"] == ["'none'"], url
        assert policy["connect-src"] == ["'self'", "ws://testserver"], url


def test_the_socket_origin_follows_the_request(staff_client: Client) -> None:
    response = staff_client.get("/inbox/mine/", secure=True, headers={"host": "localhost"})

    assert directives(response["Content-Security-Policy"])["connect-src"] == ["'self'", "wss://localhost"]


def test_pages_have_no_inline_script_handler_or_style(staff_client: Client, ticket_id: int) -> None:
    for url in ["/inbox/mine/", "/inbox/unassigned/", f"/tickets/{ticket_id}/", "/login/", "/widget/demo/"]:
        page = staff_client.get(url).content.decode()

        assert not re.search(r"<[^>]+\son[a-z]+\s*=", page), url
        assert not re.search(r"<[^>]+\sstyle\s*=", page), url
        assert "<style" not in page, url
        for script in re.findall(r"<script\b[^>]*>", page):
            assert "src=" in script or 'type="application/json"' in script, (url, script)


def test_the_widget_frame_keeps_its_own_policy(billing: object) -> None:
    chat = make_webchat_channel()
    response = Client().get(f"/widget/{chat.key}/frame/", {"o": SHOP})

    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["frame-ancestors"] == [SHOP]
    assert policy["default-src"] == ["'none'"]


def test_a_stored_file_keeps_its_sandbox(staff_client: Client, ticket_id: int, media_tmp: Path) -> None:
    message = Message.objects.filter(ticket_id=ticket_id).get()
    row = Attachment(
        message=message, filename="p.png", content_type="image/png", size=len(PNG), sha256="cd" * 32
    )
    row.file.save("p.png", ContentFile(PNG), save=True)

    response = staff_client.get(f"/attachments/{row.pk}/", {"preview": "1"})

    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
