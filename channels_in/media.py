"""Files customers send by URL, fetched for a channel's ``fetch_media`` through the guarded client.

Every download goes through ``tickets.net``: a URL pointing inside our network is refused before any
connection is made, and reported as a permanent failure so that it is never tried again.
"""

from __future__ import annotations

from django.conf import settings

from tickets.channel_port import MediaFailure, MediaUnavailable
from tickets.net import OutboundRefused, OutboundTooLarge, OutboundUnreachable, outbound_request


def media_fetch_url(url: str, *, headers: dict[str, str] | None = None) -> bytes:
    """The file at ``url`` (``headers`` carry an account's credentials where a provider wants them)."""
    try:
        # Credentials are never carried along a redirect, which may lead to another host.
        answer = outbound_request(
            "GET", url, headers=headers, max_bytes=settings.ATTACHMENT_MAX_BYTES, follow_redirects=not headers
        )
    except OutboundRefused as refused:
        # Said before any connection, so the reason is the same whatever listens behind the address.
        raise MediaUnavailable(f"refused, {refused.reason}", failure=MediaFailure.REFUSED) from refused
    except OutboundTooLarge as error:
        raise MediaUnavailable(str(error), failure=MediaFailure.TOO_LARGE) from error
    except OutboundUnreachable as error:
        raise MediaUnavailable(type(error).__name__) from error
    status = answer.status_code
    if status >= 300:
        permanent = 300 <= status < 500 and status not in (408, 425, 429)
        raise MediaUnavailable(f"{url} answered {status}", failure=MediaFailure.GONE if permanent else None)
    return answer.content
