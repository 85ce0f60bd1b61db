"""Times that clients send, read one way everywhere: aware, real, and in a range every layer can hold.

A time from outside (a query's ``since``, a cursor, an integrator's ``sent_at``) is refused at the door
with a reason unless it names a real moment with a real UTC offset (at most 14 hours either way, as on
Earth) between 1900 and 3000. The range keeps every later step safe: converting to UTC, subtracting a
grace period, storing it in PostgreSQL, printing it back in any time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from django.utils.dateparse import parse_datetime
from pydantic import AfterValidator, BeforeValidator

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
MAX_OFFSET = timedelta(hours=14)
# The longest ISO 8601 spelling of a time with microseconds and an offset, with room to spare.
MAX_CHARS = 64
SPELLING = "an ISO 8601 time with a UTC offset, such as 2026-05-01T09:30:00+02:00"


class MomentInvalid(ValueError):
    """Not a time the help desk takes; ``reason`` says why, for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def moment_parse(raw: str) -> datetime:
    """``raw`` as an aware time in UTC, or ``MomentInvalid``."""
    if not isinstance(raw, str) or len(raw) > MAX_CHARS:
        raise MomentInvalid(SPELLING)
    try:
        value = parse_datetime(raw.strip())
    except ValueError as error:  # well formed, but no such day, hour or offset
        raise MomentInvalid(f"no such date and time ({error})") from None
    if value is None:
        raise MomentInvalid(SPELLING)
    return moment_check(value)


def moment_check(value: datetime) -> datetime:
    """``value`` in UTC if it is aware, its offset real and the moment in range; else ``MomentInvalid``."""
    offset = value.utcoffset()
    if offset is None:
        raise MomentInvalid(f"the time has no UTC offset: {SPELLING}")
    if abs(offset) > MAX_OFFSET:
        raise MomentInvalid("UTC offsets run from -14:00 to +14:00")
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not EARLIEST <= moment < LATEST:
        raise MomentInvalid(f"times run from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}")
    return moment


def _spelled(value: Any) -> Any:
    if isinstance(value, str):
        return moment_parse(value)
    if isinstance(value, datetime):
        return value
    # A number would be read as a Unix time in seconds or milliseconds, a guess the sender never sees.
    raise MomentInvalid(SPELLING)


# A pydantic field for a time a client sends, as ISO 8601 text read by ``moment_parse``.
ClientMoment = Annotated[datetime, BeforeValidator(_spelled), AfterValidator(moment_check)]
