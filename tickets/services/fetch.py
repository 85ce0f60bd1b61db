"""Downloads attachments sent by URL, after the message is safely stored (never inside its transaction).

Every download goes through the guarded client (``tickets.net``): a URL pointing inside our network is
refused before any connection is made, and marked so that it is never tried again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings

from tickets.models import Attachment
from tickets.net import OutboundRefused, OutboundTooLarge, OutboundUnreachable, outbound_request
from tickets.services.attachments import attachment_file_save

logger = logging.getLogger(__name__)


class FetchFailure:
    """Why an attachment's URL will not be fetched again (``Attachment.fetch_failure``)."""

    REFUSED = "refused"
    TOO_LARGE = "too_large"
    GONE = "gone"


@dataclass(frozen=True)
class FetchOutcome:
    fetched: int
    # Failures worth another try later (the host was down or overloaded); the others never will be.
    transient: int = 0


def attachments_fetch(*, message_id: int) -> FetchOutcome:
    """Download and store each attachment of the message that is still only a URL; safe to run twice."""
    fetched = transient = 0
    pending = Attachment.objects.filter(message_id=message_id, file="", fetch_failure="").exclude(
        source_url=""
    )
    for attachment in pending:
        where = f"attachment {attachment.pk} of message {message_id}"
        try:
            answer = outbound_request("GET", attachment.source_url, max_bytes=settings.ATTACHMENT_MAX_BYTES)
        except OutboundRefused as refused:
            # Said before any connection, so the line is the same whatever listens behind the address.
            logger.warning("%s not fetched: refused, %s", where, refused.reason)
            _failed(attachment, FetchFailure.REFUSED)
            continue
        except OutboundTooLarge as error:
            logger.warning("%s not stored: %s", where, error)
            _failed(attachment, FetchFailure.TOO_LARGE)
            continue
        except OutboundUnreachable as error:
            transient += 1
            logger.warning("%s not fetched: %s", where, type(error).__name__)
            continue
        status = answer.status_code
        if status >= 300:
            permanent = 300 <= status < 500 and status not in (408, 425, 429)
            logger.warning("%s: %s answered %s", where, attachment.source_url, status)
            if permanent:
                _failed(attachment, FetchFailure.GONE)
            else:
                transient += 1
            continue
        attachment_file_save(attachment=attachment, content=answer.content)
        attachment.save(update_fields=["file", "sha256", "size"])
        fetched += 1
    return FetchOutcome(fetched=fetched, transient=transient)


def _failed(attachment: Attachment, failure: str) -> None:
    attachment.fetch_failure = failure
    attachment.save(update_fields=["fetch_failure"])
