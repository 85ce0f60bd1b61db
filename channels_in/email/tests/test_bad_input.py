from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest

from channels_in.email.parse import MAX_DEPTH, MAX_NESTING, email_parse
from channels_in.email.tests.mails import mail
from channels_in.email.tests.receiving import receive
from channels_in.models import ChannelAccount, InboundEvent
from tickets.models import Ticket
from tickets.sanitize import html_sanitize


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\x01\x02\xff\xfe",
        b"not an email at all",
        b"From: \r\nSubject: =?x-unknown?B?AAAA?=\r\n\r\nbody",
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--",
        b"From: a@b.c\r\nContent-Type: text/plain; charset=klingon-8\r\n\r\n\xc0\xc1\xf5 bytes",
        b"From: =?utf-8?q?broken\r\nDate: yesterday at noon\r\n\r\n",
        b"Subject: \xe8 latin-1 \xe0 in a header\r\nFrom: b\xe9b@example.com\r\n\r\n\xe8\r\n",
    ],
    ids=[
        "empty",
        "binary",
        "no-headers",
        "unknown-word-charset",
        "empty-boundary",
        "unknown-charset",
        "broken-word-and-date",
        "8bit-headers",
    ],
)
def test_garbage_never_raises(raw: bytes) -> None:
    parsed = email_parse(raw)

    assert parsed.message_id.startswith("sha256:") or parsed.message_id
    "".join([parsed.subject, parsed.text, parsed.html]).encode("utf-8")


def test_unknown_charset_falls_back_to_readable_text() -> None:
    raw = b"From: a@example.com\r\nContent-Type: text/plain; charset=klingon-8\r\n\r\nciao \xc3\xa8 ok\r\n"

    assert email_parse(raw).text.strip() == "ciao è ok"


def test_missing_from_and_date() -> None:
    parsed = email_parse(b"Subject: hello\r\n\r\nwho am I?\r\n")

    assert parsed.sender is None
    assert parsed.date is None
    assert parsed.text.strip() == "who am I?"


def _nested_multiparts(depth: int) -> bytes:
    head = "".join(
        f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n' for i in range(depth)
    )
    return (
        "From: bomb@example.com\r\nSubject: bomb\r\n"
        'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n' + head + "innermost\r\n"
    ).encode()


def _nested_messages(depth: int) -> bytes:
    """Forwards of forwards: each a message/rfc822 part inside a multipart."""
    head = "".join(
        f'Content-Type: multipart/mixed; boundary="m{i}"\r\n\r\n--m{i}\r\n'
        "Content-Type: message/rfc822\r\n\r\nFrom: inner@example.com\r\n"
        for i in range(depth)
    )
    return ("From: bomb@example.com\r\nSubject: bomb\r\n" + head + "\r\ninnermost\r\n").encode()


def _nested_bare_messages(depth: int) -> bytes:
    head = "Content-Type: message/rfc822\r\n\r\n" * depth
    return ("From: bomb@example.com\r\nSubject: bomb\r\n" + head + "Subject: x\r\n\r\nbody\r\n").encode()


def test_a_mime_tree_cut_at_its_depth_is_still_read() -> None:
    parsed = email_parse(_nested_multiparts(MAX_DEPTH + 5))

    assert "nested too deep" in parsed.defects
    assert parsed.refused == ""
    assert parsed.sender is not None


@pytest.mark.parametrize("build", [_nested_multiparts, _nested_messages, _nested_bare_messages])
@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 5_000, 50_000])
def test_mime_nesting_bomb_is_refused_without_raising(build: Callable[[int], bytes], depth: int) -> None:
    parsed = email_parse(build(depth))

    assert parsed.refused.startswith("MIME parts nested deeper than")
    assert parsed.attachments == []


def test_nesting_up_to_the_limit_is_read() -> None:
    parsed = email_parse(_nested_messages(MAX_NESTING // 2 - 1))

    assert parsed.refused == ""
    assert [item.filename for item in parsed.attachments] == ["Forwarded message.eml"]


@pytest.mark.django_db
def test_mime_nesting_bomb_fails_its_event_at_once_with_the_reason(
    mailbox: ChannelAccount,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    event = receive(mailbox, _nested_multiparts(5_000), django_capture_on_commit_callbacks)

    assert event.state == InboundEvent.State.FAILED
    assert event.attempts == 1
    assert "nested deeper than" in event.error
    assert not Ticket.objects.exists()


def test_zip_bomb_is_stored_as_the_bytes_that_arrived() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (20 * 1024 * 1024))
    bomb = buffer.getvalue()

    parsed = email_parse(mail(attachments=[("invoice.zip", "application/zip", bomb)]))

    # Attachments are never unpacked: 20 MB of zeros stay a small archive.
    assert [(item.filename, item.size) for item in parsed.attachments] == [("invoice.zip", len(bomb))]


def test_active_content_is_removed() -> None:
    html = (
        '<p onclick="steal()">Hello <a href="javascript:alert(1)">click</a>'
        '<a href="https://example.com/ok">ok</a></p>'
        "<script>alert('x')</script><style>body{background:url(https://t.example/x)}</style>"
        '<img src="https://tracker.example/pixel.gif" width="1" height="1">'
        '<img src="cid:logo@example">'
        '<iframe src="https://evil.example"></iframe><form action="https://evil.example"><input></form>'
        '<div style="color: red; background-image: url(https://t.example/y)">styled</div>'
    )
    parsed = email_parse(mail(text="", html=html))
    clean = parsed.html

    for forbidden in (
        "onclick",
        "javascript:",
        "<script",
        "alert(",
        "tracker.example",
        "<iframe",
        "<form",
        "url(",
    ):
        assert forbidden not in clean
    assert 'href="https://example.com/ok"' in clean
    assert 'rel="noopener noreferrer nofollow"' in clean
    assert 'src="cid:logo@example"' in clean
    assert parsed.remote_images == 1
    assert "Hello" in parsed.text


def test_sanitize_keeps_ordinary_formatting() -> None:
    assert html_sanitize("<p><b>bold</b> <i>it</i></p><ul><li>one</li></ul>") == (
        "<p><b>bold</b> <i>it</i></p><ul><li>one</li></ul>"
    )
