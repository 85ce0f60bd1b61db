"""Downloads attachments sent by URL, after the message is safely stored (never inside its transaction)."""

from __future__ import annotations

import logging

import httpx
from django.conf import settings

from tickets.models import Attachment
from tickets.services.attachments import attachment_file_save

logger = logging.getLogger(__name__)


def attachments_fetch(*, message_id: int) -> int:
    fetched = 0
    pending = Attachment.objects.filter(message_id=message_id, file="").exclude(source_url="")
    for attachment in pending:
        try:
            content = _download(attachment.source_url)
        except (httpx.HTTPError, ValueError) as error:
            logger.warning("attachment %s of message %s not fetched: %s", attachment.pk, message_id, error)
            continue
        attachment_file_save(attachment=attachment, content=content)
        attachment.save(update_fields=["file", "sha256", "size"])
        fetched += 1
    return fetched


def _download(url: str) -> bytes:
    limit = settings.ATTACHMENT_MAX_BYTES
    with httpx.stream("GET", url, timeout=30, follow_redirects=True) as response:
        response.raise_for_status()
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise ValueError(f"larger than {limit} bytes")
            chunks.append(chunk)
    return b"".join(chunks)
