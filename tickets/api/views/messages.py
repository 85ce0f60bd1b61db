"""A ticket's timeline, agent replies, internal notes and retrying a failed delivery."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.api.pagination import TimelinePagination
from tickets.api.serializers import ErrorSerializer, MessageSerializer, NoteSerializer, ReplySerializer
from tickets.models import Message
from tickets.selectors import message_get, ticket_get_or_404, ticket_timeline
from tickets.services.messages import message_retry, message_send_reply, note_add
from tickets.services.outgoing_attachments import AttachmentRefused, uploads_from


@extend_schema(
    tags=["messages"],
    summary="The ticket's timeline, oldest first",
    description=(
        "Customer messages, replies (with their delivery status), internal notes and system entries, "
        "including those of tickets merged into this one."
    ),
)
class TicketMessagesView(generics.ListAPIView):
    serializer_class = MessageSerializer
    pagination_class = TimelinePagination

    def get_queryset(self) -> QuerySet[Message]:
        if getattr(self, "swagger_fake_view", False):
            return Message.objects.none()
        ticket = ticket_get_or_404(user=self.request.user, ticket_id=self.kwargs["ticket_id"])
        return ticket_timeline(user=self.request.user, ticket=ticket)


class TicketReplyView(APIView):
    @extend_schema(
        tags=["messages"],
        summary="Reply to the customer",
        description="Queued and delivered in the background; its status follows on the timeline.",
        request=ReplySerializer,
        responses={
            201: MessageSerializer,
            400: OpenApiResponse(description="The body names the field (`files` for a refused file)."),
            404: ErrorSerializer,
            413: OpenApiResponse(ErrorSerializer, description="Too many files, or too large."),
        },
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
        body = ReplySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            message = message_send_reply(
                ticket=ticket,
                author=request.user,
                text=data["text"],
                html=data["html"],
                channel_account=data["channel"],
                attachments=uploads_from(data["files"]),
            )
        except AttachmentRefused as refused:
            return refusal_response(refused)
        except DjangoValidationError as error:
            # The text is checked above; what is left is that nobody can be reached on that channel.
            raise ValidationError({"channel": error.messages}) from error
        return Response(
            MessageSerializer(message, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class TicketNoteView(APIView):
    @extend_schema(
        tags=["messages"],
        summary="Add an internal note",
        description="Visible to agents on the timeline; never sent to the customer.",
        request=NoteSerializer,
        responses={
            201: MessageSerializer,
            400: OpenApiResponse(description="The body names the field (`files` for a refused file)."),
            404: ErrorSerializer,
            413: OpenApiResponse(ErrorSerializer, description="Too many files, or too large."),
        },
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
        body = NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            message = note_add(
                ticket=ticket,
                author=request.user,
                text=data["text"],
                attachments=uploads_from(data["files"]),
            )
        except AttachmentRefused as refused:
            return refusal_response(refused)
        except DjangoValidationError as error:
            raise ValidationError({"text": error.messages}) from error
        return Response(
            MessageSerializer(message, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class MessageRetryView(APIView):
    @extend_schema(
        tags=["messages"],
        summary="Send a failed reply again",
        request=None,
        responses={200: MessageSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request, message_id: int) -> Response:
        message = message_get(user=request.user, message_id=message_id)
        if message is None:
            raise NotFound("No such message.")
        try:
            message = message_retry(message=message, actor=request.user)
        except DjangoValidationError as error:
            return Response({"detail": error.messages[0]}, status=status.HTTP_409_CONFLICT)
        return Response(MessageSerializer(message, context={"request": request}).data)


def refusal_response(refused: AttachmentRefused) -> Response:
    """413 for files over a limit, 400 naming ``files`` for a type or content refused."""
    text = " ".join(refused.messages)
    if refused.too_large:
        return Response({"detail": text}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    return Response({"files": [text]}, status=status.HTTP_400_BAD_REQUEST)
