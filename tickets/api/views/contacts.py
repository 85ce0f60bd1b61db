"""Contacts: the customer directory, one customer's identities and history, merge and undo."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.api.filters import ContactFilterSet
from tickets.api.pagination import ContactPagination
from tickets.api.permissions import contact_merge_check, contact_merge_undo_check
from tickets.api.serializers import (
    ContactDetailSerializer,
    ContactMergeRequestSerializer,
    ContactMergeSerializer,
    ContactSerializer,
    ErrorSerializer,
)
from tickets.models import Contact
from tickets.selectors import contact_find, contact_get, contact_list, contact_merge_get
from tickets.services.contacts import contact_merge, contact_merge_undo, contact_open_ticket


@extend_schema(tags=["contacts"], summary="List or search contacts")
class ContactListView(generics.ListAPIView):
    serializer_class = ContactSerializer
    pagination_class = ContactPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = ContactFilterSet

    def get_queryset(self) -> QuerySet[Contact]:
        return contact_list(user=self.request.user)


class ContactDetailView(APIView):
    @extend_schema(
        tags=["contacts"],
        summary="One contact with identities and ticket history",
        description="The history lists only the tickets you may see.",
        responses={200: ContactDetailSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request, contact_id: int) -> Response:
        contact = contact_get(user=request.user, contact_id=contact_id)
        if contact is None:
            raise NotFound("No such contact.")
        return Response(ContactDetailSerializer(contact).data)


class ContactMergeView(APIView):
    @extend_schema(
        tags=["contacts"],
        summary="Merge this contact into another",
        description=(
            "Identities and tickets move to `into`. If both have an open ticket, this contact's is merged "
            "into the other's. The merge is recorded and can be undone."
        ),
        request=ContactMergeRequestSerializer,
        responses={
            201: ContactMergeSerializer,
            400: OpenApiResponse(description="The body names the field."),
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
        },
    )
    def post(self, request: Request, contact_id: int) -> Response:
        source = contact_find(contact_id=contact_id)
        if source is None:
            raise NotFound("No such contact.")
        body = ContactMergeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        target: Contact = body.validated_data["into"]
        if target.pk == source.pk:
            raise ValidationError({"into": ["A contact cannot be merged into itself."]})
        if source.merged_into_id is not None:
            return Response(
                {"detail": f"This contact is already merged into #{source.merged_into_id}."},
                status=status.HTTP_409_CONFLICT,
            )
        open_tickets = [contact_open_ticket(contact=source), contact_open_ticket(contact=target)]
        if all(open_tickets):
            contact_merge_check(actor=request.user, open_tickets=[t for t in open_tickets if t])
        try:
            merge = contact_merge(
                source=source, target=target, actor=request.user, reason=body.validated_data["reason"]
            )
        except DjangoValidationError as error:
            raise ValidationError({"into": error.messages}) from error
        return Response(ContactMergeSerializer(merge).data, status=status.HTTP_201_CREATED)


class ContactMergeUndoView(APIView):
    @extend_schema(
        tags=["contacts"],
        summary="Undo a contact merge",
        description="Supervisors and admins may undo any merge; an agent, the merges they made.",
        request=None,
        responses={
            200: ContactMergeSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
        },
    )
    def post(self, request: Request, merge_id: int) -> Response:
        merge = contact_merge_get(merge_id=merge_id)
        if merge is None:
            raise NotFound("No such merge.")
        contact_merge_undo_check(actor=request.user, merge=merge)
        try:
            merge = contact_merge_undo(merge=merge, actor=request.user)
        except DjangoValidationError as error:
            return Response({"detail": error.messages[0]}, status=status.HTTP_409_CONFLICT)
        return Response(ContactMergeSerializer(merge).data)
