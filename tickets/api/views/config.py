"""Routing rules, SLA policies and business calendars: every agent reads them, supervisors and admins
change them; and a supervisor's rerun of the rules on one ticket."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from tickets.api.config_serializers import (
    BusinessCalendarSerializer,
    RoutingRuleSerializer,
    SLAPolicySerializer,
)
from tickets.api.pagination import KeysetPagination, NamePagination
from tickets.api.parsers import BoundedJSONParser
from tickets.api.permissions import IsSupervisor, IsSupervisorOrReadOnly
from tickets.api.serializers import ErrorSerializer, TicketSerializer
from tickets.keyset import Key
from tickets.models import BusinessCalendar, RoutingRule, SLAPolicy
from tickets.selectors import ticket_card, ticket_get_or_404
from tickets.services import routing_config as config

_T = TypeVar("_T")
_IN_USE = OpenApiResponse(ErrorSerializer, description="Still in use: the answer says by what.")
_INVALID = OpenApiResponse(description="A field is invalid: the body names it and the place inside it.")


class OrderPagination(KeysetPagination):
    """Evaluation order: by ``order``, then id."""

    keys = (Key("order"), Key("id"))
    page_size = 100


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _checked(write: Callable[[], _T]) -> _T:
    """The service's write, its refusals as the API answers them: 400 naming the field, 409 if in use."""
    try:
        return write()
    except DjangoValidationError as error:
        if not hasattr(error, "error_dict"):
            raise ValidationError({"non_field_errors": error.messages}) from error
        detail = {
            ("non_field_errors" if field == NON_FIELD_ERRORS else field): problems
            for field, problems in error.message_dict.items()
        }
        raise ValidationError(detail) from error
    except config.InUse as in_use:
        raise Conflict(in_use.message) from in_use


class _ConfigView:
    permission_classes = [IsSupervisorOrReadOnly]
    # JSON only: rules and policies are nested objects, read by the one bounded loader.
    parser_classes = [BoundedJSONParser]
    request: Request


def _detail_schema(
    tag: str, noun: str, serializer: type[BaseSerializer[Any]], *, deletable_in_use: bool = False
) -> dict[str, Any]:
    delete_responses: dict[int, Any] = {204: None, 404: ErrorSerializer}
    if deletable_in_use:
        delete_responses[409] = _IN_USE
    return {
        "get": extend_schema(
            tags=[tag], summary=f"One {noun}", responses={200: serializer, 404: ErrorSerializer}
        ),
        "put": extend_schema(
            tags=[tag],
            summary=f"Replace a {noun} (supervisors, admins)",
            responses={200: serializer, 400: _INVALID, 404: ErrorSerializer},
        ),
        "patch": extend_schema(
            tags=[tag],
            summary=f"Change a {noun} (supervisors, admins)",
            responses={200: serializer, 400: _INVALID, 404: ErrorSerializer},
        ),
        "delete": extend_schema(
            tags=[tag], summary=f"Delete a {noun} (supervisors, admins)", responses=delete_responses
        ),
    }


@extend_schema_view(
    get=extend_schema(tags=["routing"], summary="List routing rules in evaluation order"),
    post=extend_schema(
        tags=["routing"],
        summary="Create a routing rule (supervisors, admins)",
        responses={201: RoutingRuleSerializer, 400: _INVALID},
    ),
)
class RoutingRuleListView(_ConfigView, generics.ListCreateAPIView):
    serializer_class = RoutingRuleSerializer
    pagination_class = OrderPagination
    queryset = RoutingRule.objects.all()

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        data = serializer.validated_data
        serializer.instance = _checked(lambda: config.routing_rule_create(actor=self.request.user, **data))


@extend_schema_view(**_detail_schema("routing", "routing rule", RoutingRuleSerializer))
class RoutingRuleDetailView(_ConfigView, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = RoutingRuleSerializer
    queryset = RoutingRule.objects.all()
    lookup_url_kwarg = "rule_id"

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        rule, data = serializer.instance, serializer.validated_data
        serializer.instance = _checked(
            lambda: config.routing_rule_update(rule=rule, actor=self.request.user, **data)
        )

    def perform_destroy(self, instance: RoutingRule) -> None:
        config.routing_rule_delete(rule=instance, actor=self.request.user)


@extend_schema_view(
    get=extend_schema(tags=["sla"], summary="List SLA policies in the order they are tried"),
    post=extend_schema(
        tags=["sla"],
        summary="Create an SLA policy (supervisors, admins)",
        responses={201: SLAPolicySerializer, 400: _INVALID},
    ),
)
class SLAPolicyListView(_ConfigView, generics.ListCreateAPIView):
    serializer_class = SLAPolicySerializer
    pagination_class = OrderPagination
    queryset = SLAPolicy.objects.all()

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        data = serializer.validated_data
        serializer.instance = _checked(lambda: config.sla_policy_create(actor=self.request.user, **data))


@extend_schema_view(**_detail_schema("sla", "SLA policy", SLAPolicySerializer, deletable_in_use=True))
class SLAPolicyDetailView(_ConfigView, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = SLAPolicySerializer
    queryset = SLAPolicy.objects.all()
    lookup_url_kwarg = "policy_id"

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        policy, data = serializer.instance, serializer.validated_data
        serializer.instance = _checked(
            lambda: config.sla_policy_update(policy=policy, actor=self.request.user, **data)
        )

    def perform_destroy(self, instance: SLAPolicy) -> None:
        _checked(lambda: config.sla_policy_delete(policy=instance, actor=self.request.user))


@extend_schema_view(
    get=extend_schema(tags=["sla"], summary="List business calendars by name"),
    post=extend_schema(
        tags=["sla"],
        summary="Create a business calendar (supervisors, admins)",
        responses={201: BusinessCalendarSerializer, 400: _INVALID},
    ),
)
class BusinessCalendarListView(_ConfigView, generics.ListCreateAPIView):
    serializer_class = BusinessCalendarSerializer
    pagination_class = NamePagination

    def get_queryset(self) -> QuerySet[BusinessCalendar]:
        return BusinessCalendar.objects.annotate(sort_name=F("name"))

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        data = serializer.validated_data
        serializer.instance = _checked(
            lambda: config.business_calendar_create(actor=self.request.user, **data)
        )


@extend_schema_view(
    **_detail_schema("sla", "business calendar", BusinessCalendarSerializer, deletable_in_use=True)
)
class BusinessCalendarDetailView(_ConfigView, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = BusinessCalendarSerializer
    queryset = BusinessCalendar.objects.all()
    lookup_url_kwarg = "calendar_id"

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        calendar, data = serializer.instance, serializer.validated_data
        serializer.instance = _checked(
            lambda: config.business_calendar_update(calendar=calendar, actor=self.request.user, **data)
        )

    def perform_destroy(self, instance: BusinessCalendar) -> None:
        _checked(lambda: config.business_calendar_delete(calendar=instance, actor=self.request.user))


class TicketTriageView(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(
        tags=["tickets"],
        summary="Run the routing rules and the SLA choice again, then assign (supervisors, admins)",
        request=None,
        responses={
            200: TicketSerializer,
            404: ErrorSerializer,
            409: OpenApiResponse(ErrorSerializer, description="The ticket is not open."),
        },
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
        if not ticket.is_open:
            raise Conflict("Rules run on open tickets only: reopen the ticket first.")
        config.ticket_rules_rerun(ticket_id=ticket.pk, actor=request.user)
        return Response(TicketSerializer(ticket_card(ticket_id=ticket.pk), context={"request": request}).data)
