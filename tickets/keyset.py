"""Keyset ("seek") pagination: a page starts exactly after the row at the edge of the last one.

A position is the ordering values of that row, so a page starts where the last ended whatever was
inserted or removed meanwhile: no offsets, no duplicates, no skipped rows. The last ordering field must
be unique (the primary key) to break ties. The API's pagination (``tickets.api.pagination``) and the
inbox's "more" link (``tickets.views.inbox``) both seek through here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from tickets.jsonload import json_load
from tickets.moments import moment_parse

# A cursor holds a few ordering values; anything longer was not made here.
CURSOR_MAX_BYTES = 2048


@dataclass(frozen=True)
class Key:
    """One ordering field: its name on the queryset (an annotation is fine), direction and value type."""

    field: str
    descending: bool = False
    kind: str = "int"  # "int", "str" or "datetime"

    def encode(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    def decode(self, raw: Any) -> Any:
        if self.kind == "datetime":
            if not isinstance(raw, str):
                raise ValueError(raw)
            return moment_parse(raw)
        if self.kind == "int":
            if not isinstance(raw, int) or isinstance(raw, bool):
                raise ValueError(raw)
            return raw
        if not isinstance(raw, str):
            raise ValueError(raw)
        return raw


# The ticket queue: most urgent first, then whoever has waited longest, then by id.
TICKET_QUEUE_KEYS = (Key("priority", descending=True), Key("waiting_since", kind="datetime"), Key("id"))
# The tickets with a running SLA clock, soonest due first (``selectors.TICKET_DUE_ORDER``).
TICKET_DUE_KEYS = (Key("sla_due_at", kind="datetime"), Key("id"))


def keyset_after(keys: Sequence[Key], values: Sequence[Any], *, reverse: bool = False) -> Q:
    """Rows strictly after ``values`` in the ordering (before it, when ``reverse``)."""
    condition = Q(pk__in=[])
    equal_so_far = Q()
    for key, value in zip(keys, values, strict=True):
        later = key.descending != reverse
        condition |= equal_so_far & Q(**{f"{key.field}__{'lt' if later else 'gt'}": value})
        equal_so_far &= Q(**{key.field: value})
    return condition


def keyset_order(keys: Sequence[Key], *, reverse: bool = False) -> list[str]:
    return [("-" if key.descending != reverse else "") + key.field for key in keys]


def keyset_values(keys: Sequence[Key], row: Any) -> list[Any]:
    """``row``'s ordering values, as a cursor carries them."""
    return [key.encode(getattr(row, key.field)) for key in keys]


def keyset_decode(keys: Sequence[Key], raw: Any) -> list[Any]:
    """The values a cursor carried, typed; ``ValueError`` unless there is one of the right type per key."""
    if not isinstance(raw, list) or len(raw) != len(keys):
        raise ValueError(raw)
    return [key.decode(value) for key, value in zip(keys, raw, strict=True)]


def cursor_encode(payload: Any) -> str:
    """``payload`` as an opaque, URL-safe cursor."""
    text = json.dumps(payload, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def cursor_decode(cursor: str) -> Any:
    """What ``cursor_encode`` was given; ``ValueError`` (or ``binascii.Error``) for anything else."""
    return json_load(
        base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4)),
        max_bytes=CURSOR_MAX_BYTES,
    )
