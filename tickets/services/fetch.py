"""Downloads attachments sent by URL, after the message is safely stored (never inside its transaction)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from django.conf import settings

from tickets.models import Attachment
from tickets.services.attachments import attachment_file_save

logger = logging.getLogger(__name__)


class TooLarge(ValueError):
    pass


@dataclass(frozen=True)
class FetchOutcome:
    fetched: int
    # Failures worth another try later (the host was down or overloaded); the others never will be.
    transient: int = 0


def attachments_fetch(*, message_id: int) -> FetchOutcome:
    """Download and store each attachment of the message that is still only a URL; safe to run twice."""
    fetched = transient = 0
    pending = Attachment.objects.filter(message_id=message_id, file="").exclude(source_url="")
    for attachment in pending:
        try:
            content = _download(attachment.source_url)
        except httpx.HTTPStatusError as error:
            status = error.response.status_code
            permanent = 400 <= status < 500 and status not in (408, 425, 429)
            transient += 0 if permanent else 1
            logger.warning(
                "attachment %s of message %s: %s answered %s",
                attachment.pk,
                message_id,
                attachment.source_url,
                status,
            )
            continue
        except httpx.HTTPError as error:
            transient += 1
            logger.warning(
                "attachment %s of message %s not fetched: %s", attachment.pk, message_id, type(error).__name__
            )
            continue
        except TooLarge as error:
            logger.warning("attachment %s of message %s not stored: %s", attachment.pk, message_id, error)
            continue
        attachment_file_save(attachment=attachment, content=content)
        attachment.save(update_fields=["file", "sha256", "size"])
        fetched += 1
    return FetchOutcome(fetched=fetched, transient=transient)


def _download(url: str) -> bytes:
    limit = settings.ATTACHMENT_MAX_BYTES
    with httpx.stream("GET", url, timeout=30, follow_redirects=True) as response:
        response.raise_for_status()
        declared = int(response.headers.get("Content-Length") or 0)
        if declared > limit:
            raise TooLarge(f"{declared} bytes, larger than {limit}")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"larger than {limit} bytes")
            chunks.append(chunk)
    return b"".join(chunks)
