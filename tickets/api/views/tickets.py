"""Tickets: the queue, one ticket, and the changes agents make to it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.api.filters import TicketFilterSet
from tickets.api.pagination import TicketPagination
from tickets.api.permissions import assignment_check, is_team_member
from tickets.api.serializers import (
    ErrorSerializer,
    StaleTicketSerializer,
    TicketSerializer,
    TicketUpdateSerializer,
)
from tickets.models import Ticket
from tickets.selectors import ticket_card, ticket_get_or_404, tickets_visible
from tickets.services.tickets import StaleUpdate, ticket_update

_CHANGES = ("status", "priority", "team", "assignee", "tags")


@extend_schema(tags=["tickets"], summary="List tickets you may see, in queue order")
class TicketListView(generics.ListAPIView):
    serializer_class = TicketSerializer
    pagination_class = TicketPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = TicketFilterSet

    def get_queryset(self) -> QuerySet[Ticket]:
        return tickets_visible(user=self.request.user)


class TicketDetailView(APIView):
    @extend_schema(
        tags=["tickets"],
        summary="One ticket",
        responses={200: TicketSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request, ticket_id: int) -> Response:
        ticket = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
        return Response(TicketSerializer(ticket, context={"request": request}).data)

    @extend_schema(
        tags=["tickets"],
        summary="Change status, priority, team, assignee or tags",
        request=TicketUpdateSerializer,
        responses={
            200: TicketSerializer,
            400: OpenApiResponse(description="A field is invalid; the body names it."),
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: OpenApiResponse(
                StaleTicketSerializer, description="expected_seq is stale: the current ticket is returned."
            ),
        },
    )
    def patch(self, request: Request, ticket_id: int) -> Response:
        ticket = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
        body = TicketUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        changes = _changes_for(request, ticket, data)
        try:
            updated = ticket_update(
                ticket=ticket,
                actor=request.user,
                reason=data.get("reason", ""),
                expected_seq=data.get("expected_seq"),
                **changes,
            )
        except StaleUpdate as stale:
            current = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
            return Response(
                {"detail": stale.messages[0], "ticket": TicketSerializer(current).data},
                status=status.HTTP_409_CONFLICT,
            )
        except DjangoValidationError as error:
            # Priority is checked by the serializer, so what the service refuses is a status change.
            raise ValidationError({"status": error.messages}) from error
        return Response(TicketSerializer(ticket_card(ticket_id=updated.pk)).data)


def _changes_for(request: Request, ticket: Ticket, data: dict[str, Any]) -> dict[str, Any]:
    changes = {field: data[field] for field in _CHANGES if field in data}
    team = changes.get("team", ticket.team)
    # A ticket handed to another team goes to that team's queue unless its agent is in that team too.
    handed_over = "team" in changes and "assignee" not in changes
    if (
        handed_over
        and ticket.assignee_id is not None
        and not is_team_member(user_id=ticket.assignee_id, team=team)
    ):
        changes["assignee"] = None
    if "assignee" in changes:
        assignment_check(actor=request.user, ticket=ticket, team=team, assignee=changes["assignee"])
    return changes
