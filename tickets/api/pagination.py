"""Keyset ("cursor") pagination over any ordering, including mixed directions.

The cursor holds the ordering values of the row at the edge of the page, so a page starts exactly after
that row whatever was inserted or removed meanwhile: no offsets, no duplicates, no skipped rows. The
last ordering field must be unique (the primary key) to break ties.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Model, Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from tickets.jsonload import json_load
from tickets.moments import moment_parse

CURSOR_PARAM = "cursor"
PAGE_SIZE_PARAM = "page_size"
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


def _after(keys: Sequence[Key], values: Sequence[Any], *, reverse: bool) -> Q:
    """Rows strictly after ``values`` in the ordering (before it, when ``reverse``)."""
    condition = Q(pk__in=[])
    equal_so_far = Q()
    for key, value in zip(keys, values, strict=True):
        later = key.descending != reverse
        condition |= equal_so_far & Q(**{f"{key.field}__{'lt' if later else 'gt'}": value})
        equal_so_far &= Q(**{key.field: value})
    return condition


def _order(keys: Sequence[Key], *, reverse: bool) -> list[str]:
    return [("-" if key.descending != reverse else "") + key.field for key in keys]


class KeysetPagination(BasePagination):
    """``?cursor=`` and ``?page_size=``; responses are ``{"next", "previous", "results"}``."""

    keys: Sequence[Key] = (Key("id"),)
    page_size = 50
    max_page_size = 200

    def __init__(self) -> None:
        self.request: Request | None = None
        self.next_cursor: str | None = None
        self.previous_cursor: str | None = None

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any]:
        self.request = request
        size = self._page_size(request)
        backwards, values = self._cursor(request)
        rows = queryset.order_by(*_order(self.keys, reverse=backwards))
        if values is not None:
            rows = rows.filter(_after(self.keys, values, reverse=backwards))
        page = list(rows[: size + 1])
        more = len(page) > size
        page = page[:size]
        if backwards:
            page.reverse()
        if not page:
            return page
        has_next, has_previous = (True, more) if backwards else (more, values is not None)
        self.next_cursor = self._encode(False, page[-1]) if has_next else None
        self.previous_cursor = self._encode(True, page[0]) if has_previous else None
        return page

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "next": self._link(self.next_cursor),
                "previous": self._link(self.previous_cursor),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": CURSOR_PARAM,
                "required": False,
                "in": "query",
                "description": "Opaque position from a previous page's `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": PAGE_SIZE_PARAM,
                "required": False,
                "in": "query",
                "description": f"Rows per page, 1 to {self.max_page_size} (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]

    def _page_size(self, request: Request) -> int:
        raw = request.query_params.get(PAGE_SIZE_PARAM)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {PAGE_SIZE_PARAM: [f"Expected a whole number from 1 to {self.max_page_size}."]}
            )
        return size

    def _cursor(self, request: Request) -> tuple[bool, list[Any] | None]:
        raw = request.query_params.get(CURSOR_PARAM)
        if not raw:
            return False, None
        try:
            decoded = json_load(
                base64.urlsafe_b64decode(raw.encode("ascii") + b"=" * (-len(raw) % 4)),
                max_bytes=CURSOR_MAX_BYTES,
            )
            direction, values = decoded["d"], decoded["v"]
            if direction not in {"n", "p"} or len(values) != len(self.keys):
                raise ValueError(direction)
            return direction == "p", [key.decode(value) for key, value in zip(self.keys, values, strict=True)]
        except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error):
            raise ValidationError(
                {CURSOR_PARAM: ["Invalid cursor: use the next or previous link as given."]}
            ) from None

    def _encode(self, backwards: bool, row: Model) -> str:
        values = [key.encode(getattr(row, key.field)) for key in self.keys]
        payload = json.dumps({"d": "p" if backwards else "n", "v": values}, separators=(",", ":"))
        return base64.urlsafe_b64encode(payload.encode()).decode("ascii").rstrip("=")

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None or self.request is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(remove_query_param(url, CURSOR_PARAM), CURSOR_PARAM, cursor)


class DefaultCursorPagination(KeysetPagination):
    """Newest first; for lists whose rows have nothing better to be ordered by."""

    keys = (Key("id", descending=True),)


class TicketPagination(KeysetPagination):
    """The queue order: most urgent first, then whoever has waited longest."""

    keys = (Key("priority", descending=True), Key("waiting_since", kind="datetime"), Key("id"))


class TimelinePagination(KeysetPagination):
    """Conversation order, oldest first."""

    keys = (Key("sent_at", kind="datetime"), Key("id"))
    page_size = 100
    max_page_size = 500


class ContactPagination(KeysetPagination):
    keys = (Key("created_at", descending=True, kind="datetime"), Key("id", descending=True))


class NamePagination(KeysetPagination):
    """Alphabetical, for short directories (teams, agents, canned responses)."""

    keys = (Key("sort_name", kind="str"), Key("id"))
    page_size = 100
