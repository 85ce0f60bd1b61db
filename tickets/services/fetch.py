"""Downloads attachments sent by reference, after the message is safely stored (never inside its transaction).

The channel the message came by fetches each file (``fetch_media`` through ``tickets.channel_port``),
with its account's credentials where the provider wants them, through the guarded client
(``tickets.net``): a URL pointing inside our network is refused before any connection is made, and
marked so that it is never tried again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tickets.channel_port import MediaFailure, MediaUnavailable, UnknownChannelKind, channel_for
from tickets.models import Attachment
from tickets.services.attachments import attachment_file_save

logger = logging.getLogger(__name__)

# Why an attachment's URL will not be fetched again (``Attachment.fetch_failure``).
FetchFailure = MediaFailure


@dataclass(frozen=True)
class FetchOutcome:
    fetched: int
    # Failures worth another try later (the host was down or overloaded); the others never will be.
    transient: int = 0


def attachments_fetch(*, message_id: int) -> FetchOutcome:
    """Download and store each attachment of the message that is still only a URL; safe to run twice."""
    fetched = transient = 0
    pending = (
        Attachment.objects.filter(message_id=message_id, file="", fetch_failure="")
        .exclude(source_url="")
        .select_related("message__channel_account")
    )
    for attachment in pending:
        where = f"attachment {attachment.pk} of message {message_id}"
        account = attachment.message.channel_account
        try:
            if account is None:
                raise MediaUnavailable("no channel to fetch it from", failure=MediaFailure.REFUSED)
            try:
                channel = channel_for(account.kind)
            except UnknownChannelKind as unknown:
                raise MediaUnavailable(
                    f"no channel of kind {unknown}", failure=MediaFailure.REFUSED
                ) from None
            content = channel.fetch_media(account=account, ref=attachment.source_url)
        except MediaUnavailable as error:
            logger.warning("%s not fetched: %s", where, error.reason)
            if error.failure is None:
                transient += 1
            else:
                _failed(attachment, error.failure)
            continue
        attachment_file_save(attachment=attachment, content=content)
        attachment.save(update_fields=["file", "sha256", "size"])
        fetched += 1
    return FetchOutcome(fetched=fetched, transient=transient)


def _failed(attachment: Attachment, failure: str) -> None:
    attachment.fetch_failure = failure
    attachment.save(update_fields=["fetch_failure"])
