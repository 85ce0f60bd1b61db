from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from celery.exceptions import Retry

from channels_in.base import IdentityClaim, IdentityKind, InboundAttachment, InboundMessage
from channels_in.models import ChannelAccount
from tests.fixtures.http_peer import HttpPeer, Reply, free_port
from tickets import tasks
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
    message_id = message_with(
        api_channel,
        http_peer.url("/gone.png"),
        http_peer.url("/huge.png"),
        f"http://127.0.0.1:{free_port()}/down.png",
        http_peer.url("/ok.png"),
    )

    # Only the unreachable host is worth another try.
    assert attachments_fetch(message_id=message_id) == FetchOutcome(fetched=1, transient=1)
    stored = dict(Attachment.objects.values_list("filename", "size"))
    assert stored == {"f0.png": 0, "f1.png": 0, "f2.png": 0, "f3.png": 5}


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
