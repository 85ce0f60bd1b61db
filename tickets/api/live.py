"""Catch-up for live clients: what a screen missed while its socket was down (docs/events.md).

``GET /api/v1/tickets/<id>/events?after_seq=N`` is exact: a ticket's events are numbered without gaps.
``GET /api/v1/live/feed?since=T`` serves an inbox: every event of every ticket the agent may see,
recorded since ``T`` (re-reading a short grace period, so a transaction that committed late is not
missed; the client drops what it already has by ``(ticket_id, seq)``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.access import can_see_ticket, visible_tickets_q
from tickets.api.serializers import ErrorSerializer
from tickets.events import event_envelope
from tickets.models import Ticket, TicketEvent
from tickets.moments import MomentInvalid, moment_parse
from tickets.selectors import ticket_events_after

MAX_LIMIT = 500
# Longer than any transaction that records an event: an event becomes visible at most this late.
FEED_GRACE = timedelta(seconds=10)


# One class for both pages: the schema has one component per serializer class.
_EVENTS = inline_serializer(
    "LiveEvent",
    {
        "type": serializers.CharField(),
        "ticket_id": serializers.IntegerField(),
        "seq": serializers.IntegerField(),
        "at": serializers.DateTimeField(),
        "actor_id": serializers.IntegerField(allow_null=True),
        "data": serializers.DictField(help_text="Depends on type: see docs/events.md."),
    },
    many=True,
)


_LIMIT = OpenApiParameter(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    description=f"At most {MAX_LIMIT} (the default).",
)
# These views name the parameter with one reason, not a list of them as the rest of the API does.
_QUERY_ERROR = OpenApiResponse(
    {"type": "object", "additionalProperties": {"type": "string"}},
    description="A query parameter is invalid: the answer names it, with the reason.",
)


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", str(MAX_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationError({"limit": f"an integer from 1 to {MAX_LIMIT}"})
    return int(raw)


class TicketEventsView(APIView):
    """A ticket's events after ``after_seq``, in ``seq`` order."""

    @extend_schema(
        tags=["live"],
        summary="A ticket's events after a sequence number",
        description="Exact catch-up for one ticket: events are numbered 1, 2, 3... without gaps.",
        parameters=[
            OpenApiParameter(
                "after_seq", {"type": "integer", "minimum": 0}, description="The last seq the client has."
            ),
            _LIMIT,
        ],
        responses={
            200: inline_serializer(
                "TicketEventsPage",
                {
                    "ticket_id": serializers.IntegerField(),
                    "seq": serializers.IntegerField(help_text="The ticket's current seq."),
                    "events": _EVENTS,
                    "has_more": serializers.BooleanField(),
                },
            ),
            400: _QUERY_ERROR,
            404: ErrorSerializer,
        },
    )
    def get(self, request: Request, ticket_id: int) -> Response:
        raw = request.query_params.get("after_seq", "0")
        if not raw.isdigit():
            raise ValidationError({"after_seq": "a non-negative integer"})
        after_seq, limit = int(raw), _limit(request)
        ticket = Ticket.objects.filter(pk=ticket_id).only("pk", "team_id", "assignee_id", "seq").first()
        # Forbidden and missing answer alike, so ids cannot be probed.
        if ticket is None or not can_see_ticket(request.user, ticket):
            raise NotFound("No such ticket.")
        rows = list(ticket_events_after(ticket_id=ticket.pk, after_seq=after_seq)[: limit + 1])
        has_more = len(rows) > limit
        return Response(
            {
                "ticket_id": ticket.pk,
                "seq": ticket.seq,
                "events": [event_envelope(row) for row in rows[:limit]],
                "has_more": has_more,
            }
        )


def _moment(request: Request, name: str, problem: str) -> datetime:
    try:
        return moment_parse(request.query_params.get(name, ""))
    except MomentInvalid as invalid:
        raise ValidationError({name: f"{problem}: {invalid.reason}"}) from None


def _parse_cursor(raw: str) -> tuple[datetime, int]:
    at_text, _, id_text = raw.rpartition("|")
    if not id_text.isdigit() or len(id_text) > 19:
        raise ValidationError({"cursor": "use the cursor the previous page returned"})
    try:
        return moment_parse(at_text), int(id_text)
    except MomentInvalid as invalid:
        raise ValidationError(
            {"cursor": f"use the cursor the previous page returned: {invalid.reason}"}
        ) from None


class AgentFeedView(APIView):
    """Events of every ticket the agent may see, oldest first, for an inbox that was asleep."""

    @extend_schema(
        tags=["live"],
        summary="Inbox catch-up: events since a time",
        description=(
            "Re-reads a short grace period before `since`; drop events you have by (ticket_id, seq). "
            "Follow `cursor` and `until` while `has_more`, then keep `next_since`."
        ),
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="Time of the last read."),
            OpenApiParameter("cursor", OpenApiTypes.STR, description="From the previous page."),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="From the previous page."),
            _LIMIT,
        ],
        responses={
            200: inline_serializer(
                "LiveFeedPage",
                {
                    "events": _EVENTS,
                    "has_more": serializers.BooleanField(),
                    "until": serializers.DateTimeField(),
                    "cursor": serializers.CharField(required=False),
                    "next_since": serializers.DateTimeField(required=False),
                },
            ),
            400: _QUERY_ERROR,
        },
    )
    def get(self, request: Request) -> Response:
        limit = _limit(request)
        visible = Ticket.objects.filter(visible_tickets_q(request.user)).values("pk")
        rows = TicketEvent.objects.filter(ticket_id__in=visible)
        cursor = request.query_params.get("cursor")
        now = timezone.now()
        if cursor:
            at, last_id = _parse_cursor(cursor)
            rows = rows.filter(Q(created_at__gt=at) | Q(created_at=at, id__gt=last_id))
            until_at = _moment(request, "until", "use the until the previous page returned")
        else:
            since = _moment(request, "since", "the time of the last read")
            rows = rows.filter(created_at__gte=since - FEED_GRACE)
            until_at = now
        page = list(rows.order_by("created_at", "id")[: limit + 1])
        has_more = len(page) > limit
        page = page[:limit]
        body: dict[str, Any] = {
            "events": [event_envelope(row) for row in page],
            "has_more": has_more,
            "until": until_at.isoformat(),
        }
        if has_more:
            body["cursor"] = f"{page[-1].created_at.isoformat()}|{page[-1].pk}"
        else:
            # Where the next wake-up starts: the time this read began.
            body["next_since"] = until_at.isoformat()
        return Response(body)
