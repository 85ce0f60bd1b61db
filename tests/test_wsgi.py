"""The scaled mode's WSGI application: webhooks through the light middleware, people through all of it."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.signals import request_started
from django.db import close_old_connections

from channels_in.api.tests.wire import payload
from channels_in.models import ChannelAccount, InboundEvent
from helpdesk.wsgi import application

pytestmark = pytest.mark.django_db


def call(method: str, path: str, body: bytes = b"", **headers: str) -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ACCEPT_LANGUAGE": "it",
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"], answer["headers"] = status, dict(response_headers)

    # As Django's test client does: the test's transaction holds the connection, so the handler must
    # not close it between requests.
    request_started.disconnect(close_old_connections)
    try:
        content = b"".join(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
    return answer["status"], answer["headers"], content


def test_a_webhook_is_served_without_the_middleware_of_people(api_channel: ChannelAccount) -> None:
    body = json.dumps(payload("m-1")).encode()
    token = api_channel.config["token"]

    status, headers, content = call(
        "POST", f"/api/v1/inbound/{api_channel.key}/messages", body, authorization=f"Bearer {token}"
    )

    assert status.startswith("202")
    assert InboundEvent.objects.filter(pk=json.loads(content)["event_id"]).exists()
    assert headers["X-Content-Type-Options"] == "nosniff"  # security headers still apply
    assert headers["Content-Length"] == str(len(content))  # not a chunked answer
    assert "Content-Language" not in headers  # no language negotiation
    assert "Set-Cookie" not in headers


def test_a_refused_webhook_still_gets_its_reason(api_channel: ChannelAccount) -> None:
    status, _headers, content = call(
        "POST", f"/api/v1/inbound/{api_channel.key}/messages", b"{}", authorization="Bearer wrong"
    )
    assert status.startswith("401")
    assert json.loads(content) == {"error": "missing or wrong token or signature"}


def test_pages_for_people_keep_the_whole_middleware() -> None:
    status, headers, content = call("GET", "/admin/login/")

    assert status.startswith("200")
    assert headers["Content-Language"] == "it"
    assert "csrftoken" in headers.get("Set-Cookie", "")
    assert b"csrfmiddlewaretoken" in content
