from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery.exceptions import Retry

from channels_in.models import ChannelAccount
from tests.fixtures.http_peer import HttpPeer, Reply, free_port
from tickets import tasks
from tickets.inbound import IdentityClaim, IdentityKind, InboundAttachment, InboundMessage
from tickets.models import Attachment
from tickets.services.fetch import FetchOutcome, attachments_fetch
from tickets.services.ingest import ingest_inbound_message

PHOTO = b"\x89PNG\r\n\x1a\n" + b"pixels" * 300


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"


def message_with(account: ChannelAccount, *urls: str) -> int:
    """A stored customer message whose attachments are still only URLs (the fetch runs after commit)."""
    return ingest_inbound_message(
        inbound=InboundMessage(
            channel_account_id=account.pk,
            external_id="with-files",
            sender=IdentityClaim(IdentityKind.API, f"{account.pk}:c1", verified=True),
            text="Ecco le foto",
            attachments=[
                InboundAttachment(filename=f"f{i}.png", content_type="image/png", url=url)
                for i, url in enumerate(urls)
            ],
        )
    ).message.pk


@pytest.mark.django_db
def test_a_host_that_fails_for_a_while_is_tried_again(
    api_channel: ChannelAccount, http_peer: HttpPeer
) -> None:
    http_peer.script("/photo.png", Reply(503), then=Reply(200, PHOTO, content_type="image/png"))
    message_id = message_with(api_channel, http_peer.url("/photo.png"))

    assert attachments_fetch(message_id=message_id) == FetchOutcome(fetched=0, transient=1)
    assert attachments_fetch(message_id=message_id) == FetchOutcome(fetched=1, transient=0)
    assert attachments_fetch(message_id=message_id) == FetchOutcome(fetched=0, transient=0)

    attachment = Attachment.objects.get()
    assert (attachment.sha256, attachment.size) == (hashlib.sha256(PHOTO).hexdigest(), len(PHOTO))
    assert Path(attachment.file.path).read_bytes() == PHOTO
    assert len(http_peer.received("/photo.png")) == 2


@pytest.mark.django_db
def test_missing_too_large_and_unreachable_files(
    api_channel: ChannelAccount, http_peer: HttpPeer, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.ATTACHMENT_MAX_BYTES = 1024
    http_peer.script("/gone.png", then=Reply(404))
    http_peer.script("/huge.png", then=Reply(200, b"x" * 2048, content_type="image/png"))
    http_peer.script("/ok.png", then=Reply(200, b"small", content_type="image/png"))
    down = free_port()
    settings.OUTBOUND_ALLOWED_PORTS = [*settings.OUTBOUND_ALLOWED_PORTS, str(down)]
    message_id = message_with(
        api_channel,
        http_peer.url("/gone.png"),
        http_peer.url("/huge.png"),
        f"http://127.0.0.1:{down}/down.png",
        http_peer.url("/ok.png"),
    )

    # Only the unreachable host is worth another try.
    assert attachments_fetch(message_id=message_id) == FetchOutcome(fetched=1, transient=1)
    stored = dict(Attachment.objects.values_list("filename", "size"))
    assert stored == {"f0.png": 0, "f1.png": 0, "f2.png": 0, "f3.png": 5}
    failures = dict(Attachment.objects.values_list("filename", "fetch_failure"))
    assert failures == {"f0.png": "gone", "f1.png": "too_large", "f2.png": "", "f3.png": ""}


@pytest.mark.django_db
def test_the_task_retries_with_backoff_while_a_fetch_may_still_succeed(
    api_channel: ChannelAccount, http_peer: HttpPeer
) -> None:
    http_peer.script("/photo.png", Reply(502), then=Reply(200, PHOTO))
    message_id = message_with(api_channel, http_peer.url("/photo.png"))

    with pytest.raises(Retry) as retry:
        tasks.fetch_attachments.apply((message_id,), throw=True)
    assert retry.value.when == 2

    assert tasks.fetch_attachments.apply((message_id,), throw=True).get() == 1


@pytest.fixture
def forbidden_peer() -> Iterator[HttpPeer]:
    """A file host on another loopback address, which no test allows."""
    peer = HttpPeer(host="127.0.0.2").start()
    peer.script("/secret", then=Reply(200, b"internal", content_type="text/plain"))
    yield peer
    peer.stop()


@pytest.mark.django_db
def test_attachment_urls_to_internal_addresses_are_refused_for_good(
    api_channel: ChannelAccount, http_peer: HttpPeer, forbidden_peer: HttpPeer, settings
) -> None:  # type: ignore[no-untyped-def]
    port = forbidden_peer.port
    settings.OUTBOUND_ALLOWED_PORTS = [*settings.OUTBOUND_ALLOWED_PORTS, str(port)]
    http_peer.script("/hop", then=Reply(302, headers={"Location": forbidden_peer.url("/secret")}))
    message_id = message_with(
        api_channel,
        forbidden_peer.url("/secret"),
        f"http://[::ffff:127.0.0.2]:{port}/secret",
        f"http://2130706434:{port}/secret",
        http_peer.url("/hop"),
        "http://169.254.169.254/latest/meta-data/",
    )

    assert attachments_fetch(message_id=message_id) == FetchOutcome(fetched=0, transient=0)
    assert attachments_fetch(message_id=message_id) == FetchOutcome(fetched=0, transient=0)

    assert forbidden_peer.received() == []
    assert len(http_peer.received("/hop")) == 1  # refused once, never tried again
    assert set(Attachment.objects.values_list("file", "size", "fetch_failure")) == {("", 0, "refused")}


@pytest.mark.django_db
def test_a_refused_target_logs_the_same_whether_its_port_is_open_or_closed(
    api_channel: ChannelAccount, http_peer: HttpPeer, settings, caplog
) -> None:  # type: ignore[no-untyped-def]
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    closed = free_port()
    settings.OUTBOUND_ALLOWED_PORTS = [str(http_peer.port), str(closed)]
    message_id = message_with(
        api_channel, f"http://127.0.0.1:{http_peer.port}/x", f"http://127.0.0.1:{closed}/x"
    )

    with caplog.at_level("WARNING", logger="tickets.services.fetch"):
        assert attachments_fetch(message_id=message_id) == FetchOutcome(fetched=0, transient=0)

    first, second = Attachment.objects.order_by("pk").values_list("pk", flat=True)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert lines[0].replace(f"attachment {first} ", "") == lines[1].replace(f"attachment {second} ", "")
    assert http_peer.received() == []
