"""Keyset ("cursor") pagination over any ordering, including mixed directions (``tickets.keyset``).

The cursor holds the ordering values of the row at the edge of the page and the direction it was made
for; a page has ``next`` and ``previous`` links.
"""

from __future__ import annotations

import binascii
from collections.abc import Sequence
from typing import Any

from django.db.models import Model, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from tickets.keyset import (
    TICKET_DUE_KEYS,
    TICKET_QUEUE_KEYS,
    Key,
    cursor_decode,
    cursor_encode,
    keyset_after,
    keyset_decode,
    keyset_order,
    keyset_values,
)

CURSOR_PARAM = "cursor"
PAGE_SIZE_PARAM = "page_size"


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
        rows = queryset.order_by(*keyset_order(self.keys, reverse=backwards))
        if values is not None:
            rows = rows.filter(keyset_after(self.keys, values, reverse=backwards))
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
            decoded = cursor_decode(raw)
            direction = decoded["d"]
            if direction not in {"n", "p"}:
                raise ValueError(direction)
            return direction == "p", keyset_decode(self.keys, decoded["v"])
        except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error):
            raise ValidationError(
                {CURSOR_PARAM: ["Invalid cursor: use the next or previous link as given."]}
            ) from None

    def _encode(self, backwards: bool, row: Model) -> str:
        return cursor_encode({"d": "p" if backwards else "n", "v": keyset_values(self.keys, row)})

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None or self.request is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(remove_query_param(url, CURSOR_PARAM), CURSOR_PARAM, cursor)


class DefaultCursorPagination(KeysetPagination):
    """Newest first; for lists whose rows have nothing better to be ordered by."""

    keys = (Key("id", descending=True),)


class TicketPagination(KeysetPagination):
    """The queue order: most urgent first, then whoever has waited longest; soonest due with ``sort=due``."""

    keys: Sequence[Key] = TICKET_QUEUE_KEYS

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any]:
        self.keys = TICKET_DUE_KEYS if request.query_params.get("sort") == "due" else TICKET_QUEUE_KEYS
        return super().paginate_queryset(queryset, request, view)


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
