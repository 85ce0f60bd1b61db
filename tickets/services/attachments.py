"""Attachments: content-addressed files, checked for size before they are stored."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from tickets.inbound import InboundAttachment
from tickets.models import Attachment, Message
from tickets.sanitize import filename_clean

logger = logging.getLogger(__name__)


def attachment_file_save(*, attachment: Attachment, content: bytes) -> None:
    """Store ``content`` once per sha256; the same file attached twice shares one blob."""
    digest = hashlib.sha256(content).hexdigest()
    attachment.sha256 = digest
    attachment.size = len(content)
    name = f"attachments/{digest[:2]}/{digest}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(content))
    attachment.file.name = name


def attachments_store(*, message: Message, attachments: Iterable[InboundAttachment]) -> list[Attachment]:
    stored = []
    for item in attachments:
        row = Attachment(
            message=message,
            filename=filename_clean(item.filename),
            content_type=(item.content_type or "application/octet-stream")[:150],
            content_id=item.content_id[:300],
            inline=item.inline,
            source_url=item.url[:2000],
        )
        if item.content is not None:
            if len(item.content) > settings.ATTACHMENT_MAX_BYTES:
                row.size = len(item.content)
                row.filename = filename_clean(f"{row.filename} (too large, not stored)")
            else:
                attachment_file_save(attachment=row, content=item.content)
        row.save()
        stored.append(row)
    return stored
