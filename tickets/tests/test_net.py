"""The guarded HTTP client: what the server will and will not fetch, against real local HTTP peers."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.http_peer import HttpPeer, Reply, free_port
from tickets.net import OutboundRefused, OutboundTooLarge, address_refusal, outbound_request

ROOT = Path(__file__).resolve().parents[2]


def fetch(url: str, **kwargs: object) -> httpx.Response:
    answer = outbound_request("GET", url, max_bytes=1024, **kwargs)  # type: ignore[arg-type]
    return httpx.Response(answer.status_code, content=answer.content)


@pytest.fixture
def forbidden_peer() -> Iterator[HttpPeer]:
    """A peer on another loopback address, which no test allows: it must never be reached."""
    peer = HttpPeer(host="127.0.0.2").start()
    peer.script("/secret", then=Reply(200, b"internal"))
    yield peer
    peer.stop()


def test_an_allowed_peer_is_fetched(http_peer: HttpPeer) -> None:
    http_peer.script("/file", then=Reply(200, b"hello"))

    assert fetch(http_peer.url("/file")).content == b"hello"


def test_the_default_refuses_a_local_peer(http_peer: HttpPeer, settings) -> None:  # type: ignore[no-untyped-def]
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    settings.OUTBOUND_ALLOWED_PORTS = []

    with pytest.raises(OutboundRefused, match="port"):
        fetch(http_peer.url("/file"))
    settings.OUTBOUND_ALLOWED_PORTS = [str(http_peer.port)]
    with pytest.raises(OutboundRefused, match="loopback"):
        fetch(http_peer.url("/file"))
    assert http_peer.received() == []


@pytest.mark.parametrize(
    "spelling",
    [
        "localhost",
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "017700000001",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::127.0.0.1]",
        "0.0.0.0",
        "0",
        "[::]",
    ],
)
def test_loopback_in_every_spelling_is_refused(spelling: str, http_peer: HttpPeer, settings) -> None:  # type: ignore[no-untyped-def]
    # Only the port is allowed: the address is what is being checked.
    settings.OUTBOUND_ALLOWED_NETWORKS = []

    with pytest.raises(OutboundRefused):
        fetch(f"http://{spelling}:{http_peer.port}/file")
    assert http_peer.received() == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/",
        "gopher://127.0.0.1:70/",
        "http://user:pw@example.com/",
        "//x/",
    ],
)
def test_other_schemes_and_credentials_are_refused(url: str) -> None:
    with pytest.raises(OutboundRefused):
        fetch(url)


def test_a_port_that_is_not_allowed_is_refused_before_connecting(http_peer: HttpPeer, settings) -> None:  # type: ignore[no-untyped-def]
    settings.OUTBOUND_ALLOWED_PORTS = []

    with pytest.raises(OutboundRefused, match=f"port {http_peer.port}"):
        fetch(http_peer.url("/file"))
    assert http_peer.received() == []


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/secret",
        "http://[::ffff:127.0.0.2]:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://10.0.0.1/",
        "file:///etc/passwd",
    ],
)
def test_a_redirect_to_a_forbidden_address_is_refused(
    target: str, http_peer: HttpPeer, forbidden_peer: HttpPeer, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.OUTBOUND_ALLOWED_PORTS = [*settings.OUTBOUND_ALLOWED_PORTS, str(forbidden_peer.port)]
    location = target.format(port=forbidden_peer.port)
    http_peer.script("/hop", then=Reply(302, headers={"Location": location}))

    with pytest.raises(OutboundRefused):
        fetch(http_peer.url("/hop"))
    assert len(http_peer.received("/hop")) == 1
    assert forbidden_peer.received() == []


def test_redirects_are_followed_each_hop_checked_up_to_a_limit(http_peer: HttpPeer) -> None:
    http_peer.script("/a", then=Reply(301, headers={"Location": "/b"}))
    http_peer.script("/b", then=Reply(303, headers={"Location": http_peer.url("/c")}))
    http_peer.script("/c", then=Reply(200, b"end"))
    http_peer.script("/loop", then=Reply(302, headers={"Location": "/loop"}))

    assert fetch(http_peer.url("/a")).content == b"end"
    with pytest.raises(OutboundRefused, match="redirects"):
        fetch(http_peer.url("/loop"))
    assert len(http_peer.received("/loop")) == 6


def test_a_name_is_resolved_once_and_the_connection_pinned_to_the_checked_address(
    http_peer: HttpPeer,
) -> None:
    http_peer.script("/file", then=Reply(200, b"pinned"))
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    # The name exists in no DNS: the request can only have gone to the address the check saw.
    url = f"http://files.example.test:{http_peer.port}/file"
    assert fetch(url, resolve=resolve).content == b"pinned"
    assert asked == ["files.example.test"]
    [request] = http_peer.received("/file")
    assert request.header("Host") == f"files.example.test:{http_peer.port}"


def test_a_name_with_any_forbidden_address_is_refused(http_peer: HttpPeer) -> None:
    def resolve(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.1.2.3"]

    with pytest.raises(OutboundRefused, match="private"):
        fetch(f"http://files.example.test:{http_peer.port}/file", resolve=resolve)


def test_answers_larger_than_the_limit_are_refused(http_peer: HttpPeer) -> None:
    http_peer.script("/huge", then=Reply(200, b"x" * 2048))

    with pytest.raises(OutboundTooLarge):
        fetch(http_peer.url("/huge"))


def test_an_unreachable_allowed_host_is_a_transport_error(settings) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1"]
    settings.OUTBOUND_ALLOWED_PORTS = [str(port)]

    with pytest.raises(httpx.ConnectError):
        fetch(f"http://127.0.0.1:{port}/file")


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.100.100.200",
        "127.255.255.254",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:10.0.0.1",
        "::ffff:8.8.8.8",
        "::127.0.0.1",
        "2002:7f00:1::",
        "2002:a9fe:a9fe::1",
        "64:ff9b::a9fe:a9fe",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "2001:db8::1",
    ],
)
def test_addresses_that_are_not_public(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


_HTTP_IMPORT = re.compile(
    r"^\s*(import|from)\s+(httpx|httpcore|requests|urllib3|urllib\.request|http\.client)\b", re.M
)


def test_only_the_guarded_client_imports_an_http_client() -> None:
    found = []
    for path in ROOT.glob("*/**/*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(("tests/", "bench/", ".venv/")) or "/tests/" in relative:
            continue
        if _HTTP_IMPORT.search(path.read_text()):
            found.append(relative)
    assert found == ["tickets/net.py"]
