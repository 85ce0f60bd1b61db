"""Files agents attach to a reply or an internal note: checked, then stored like inbound ones.

Limits come from settings (``REPLY_ATTACHMENTS_MAX_FILES``, ``REPLY_ATTACHMENTS_MAX_BYTES``, each file
``ATTACHMENT_MAX_BYTES``) and the type must be on ``REPLY_ATTACHMENT_TYPES``. A file whose first bytes
contradict its declared type is refused: a "picture" that is really HTML must never reach a browser as
a picture. The checks run before anything is written, so a refused send loses nothing and stores nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from tickets.models import Attachment, Message
from tickets.sanitize import filename_clean
from tickets.services.attachments import attachment_file_save

# The magic numbers of the types whose content a browser would interpret (the widget checks them too).
CONTENT_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
    "application/zip": (b"PK\x03\x04", b"PK\x05\x06"),
}
_TEXT_TYPES = {"text/plain", "text/csv"}


@dataclass(frozen=True)
class Upload:
    """One file as the agent sent it: its name, the type it declares, its bytes."""

    filename: str
    content_type: str
    content: bytes


class AttachmentRefused(ValidationError):
    """Files the rules refuse; ``too_large`` marks the refusals that are a 413 at the HTTP boundary.

    Messages are translated lazily: the agent's screen shows them in the agent's language.
    """

    def __init__(self, message: Any, *, params: dict[str, Any], too_large: bool = False) -> None:
        super().__init__(message, code="too_large" if too_large else "invalid", params=params)
        self.too_large = too_large


def _base_type(content_type: str) -> str:
    return (content_type or "application/octet-stream").split(";")[0].strip().lower()


def upload_size_check(*, filename: str, size: int) -> None:
    """One file's size alone; callers holding a file on disk ask before reading it into memory."""
    if size > settings.ATTACHMENT_MAX_BYTES:
        raise AttachmentRefused(
            _("%(name)s is too large: at most %(limit)s KB per file."),
            params={"name": filename[:100], "limit": settings.ATTACHMENT_MAX_BYTES // 1024},
            too_large=True,
        )


def uploads_check(uploads: Sequence[Upload]) -> None:
    """Refuse the whole set if any file breaks a rule; the message names the file and the rule."""
    if len(uploads) > settings.REPLY_ATTACHMENTS_MAX_FILES:
        raise AttachmentRefused(
            _("At most %(limit)s files per message."),
            params={"limit": settings.REPLY_ATTACHMENTS_MAX_FILES},
            too_large=True,
        )
    total = 0
    for upload in uploads:
        size = len(upload.content)
        total += size
        name = upload.filename[:100]
        upload_size_check(filename=name, size=size)
        kind = _base_type(upload.content_type)
        if kind not in settings.REPLY_ATTACHMENT_TYPES:
            raise AttachmentRefused(
                _("%(name)s: files of type %(type)s cannot be attached."),
                params={"name": name, "type": kind[:60]},
            )
        signatures = CONTENT_SIGNATURES.get(kind)
        if signatures and not upload.content.startswith(signatures):
            raise AttachmentRefused(
                _("%(name)s: the content is not a %(type)s file."), params={"name": name, "type": kind}
            )
        if kind in _TEXT_TYPES and b"\x00" in upload.content[:4096]:
            raise AttachmentRefused(_("%(name)s: the file is not plain text."), params={"name": name})
    if total > settings.REPLY_ATTACHMENTS_MAX_BYTES:
        raise AttachmentRefused(
            _("The files are too large together: at most %(limit)s KB."),
            params={"limit": settings.REPLY_ATTACHMENTS_MAX_BYTES // 1024},
            too_large=True,
        )


def uploads_from(files: Iterable[UploadedFile]) -> list[Upload]:
    """Request files as uploads; an oversized one is refused before it is read into memory."""
    uploads = []
    for item in files:
        name = item.name or "attachment"
        upload_size_check(filename=name, size=item.size or 0)
        uploads.append(Upload(filename=name, content_type=item.content_type or "", content=item.read()))
    return uploads


def attachments_add(*, message: Message, uploads: Sequence[Upload]) -> list[Attachment]:
    """Store checked uploads as the message's attachments (content-addressed, one blob per content)."""
    stored = []
    for upload in uploads:
        row = Attachment(
            message=message,
            filename=filename_clean(upload.filename),
            content_type=_base_type(upload.content_type)[:150],
        )
        attachment_file_save(attachment=row, content=upload.content)
        row.save()
        stored.append(row)
    return stored
