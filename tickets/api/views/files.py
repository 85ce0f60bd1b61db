"""Splitting a customer's message into a new ticket, and downloading a message's files."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.access import visible_tickets_q
from tickets.api.serializers import (
    ErrorSerializer,
    SplitRequestSerializer,
    StaleTicketSerializer,
    TicketSerializer,
)
from tickets.files import attachment_response
from tickets.models import Attachment, Ticket
from tickets.selectors import message_get, ticket_card, ticket_get_or_404
from tickets.services.split import message_split
from tickets.services.tickets import StaleUpdate
from tickets.templatetags.workspace import PREVIEWABLE

_DOWNLOAD_TYPES = ["application/octet-stream", *sorted(PREVIEWABLE)]


class MessageSplitView(APIView):
    @extend_schema(
        tags=["messages"],
        summary="Split a customer's message into a new ticket",
        description=(
            "The message and its attachments move to a new ticket of the same contact, linked to the "
            "original (`split_from`), subject from the message, routed like a new ticket. The original "
            "records `ticket.split`, the new one `ticket.created` with the reason."
        ),
        request=SplitRequestSerializer,
        responses={
            201: TicketSerializer,
            400: OpenApiResponse(
                description=(
                    "A field is invalid (the answer names it), or the message cannot be split: not a "
                    "customer's message, or the ticket's only one (`detail` says which)."
                )
            ),
            404: ErrorSerializer,
            409: OpenApiResponse(
                StaleTicketSerializer, description="expected_seq is stale: the current ticket is returned."
            ),
        },
    )
    def post(self, request: Request, message_id: int) -> Response:
        message = message_get(user=request.user, message_id=message_id)
        if message is None:
            raise NotFound("No such message.")
        body = SplitRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            new = message_split(
                message=message,
                actor=request.user,
                expected_seq=body.validated_data["expected_seq"],
                reason=body.validated_data["reason"],
            )
        except StaleUpdate as stale:
            current = ticket_get_or_404(user=request.user, ticket_id=message.ticket_id)
            return Response(
                {"detail": stale.messages[0], "ticket": TicketSerializer(current).data},
                status=status.HTTP_409_CONFLICT,
            )
        except DjangoValidationError as error:
            return Response({"detail": error.messages[0]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(TicketSerializer(ticket_card(ticket_id=new.pk)).data, status=status.HTTP_201_CREATED)


class AttachmentDownloadView(APIView):
    @extend_schema(
        tags=["messages"],
        summary="Download a message's file",
        description=(
            "Always a download (`Content-Disposition: attachment`, `application/octet-stream`); "
            "`?preview=1` shows a raster image inline, with `nosniff` and a sandboxing CSP."
        ),
        parameters=[
            OpenApiParameter(
                "preview", OpenApiTypes.STR, description="`1`: a raster image inline; a download otherwise."
            )
        ],
        responses={
            **{(200, media_type): OpenApiTypes.BINARY for media_type in _DOWNLOAD_TYPES},
            404: ErrorSerializer,
        },
    )
    def get(self, request: Request, attachment_id: int) -> FileResponse:
        visible = Ticket.objects.filter(visible_tickets_q(request.user))
        row = Attachment.objects.filter(pk=attachment_id, message__ticket__in=visible).first()
        if row is None or not row.file:
            raise NotFound("No such file.")
        return attachment_response(row, preview=request.query_params.get("preview") == "1")
