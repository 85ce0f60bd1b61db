"""Teams, agents and canned responses: what agents pick from while they work."""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from tickets.api.pagination import NamePagination
from tickets.api.permissions import IsSupervisorOrReadOnly
from tickets.api.serializers import AgentSerializer, CannedResponseSerializer, ErrorSerializer, TeamSerializer
from tickets.models import AgentProfile, CannedResponse, Team
from tickets.selectors import agent_get, agents_list, canned_responses_visible, teams_list
from tickets.services.canned import canned_response_create, canned_response_delete, canned_response_update


@extend_schema(tags=["directory"], summary="List teams")
class TeamListView(generics.ListAPIView):
    serializer_class = TeamSerializer
    pagination_class = NamePagination

    def get_queryset(self) -> QuerySet[Team]:
        return teams_list().annotate(sort_name=F("name"))


@extend_schema(tags=["directory"], summary="List active agents")
class AgentListView(generics.ListAPIView):
    serializer_class = AgentSerializer
    pagination_class = NamePagination

    def get_queryset(self) -> QuerySet[AgentProfile]:
        return agents_list().annotate(sort_name=F("user__username"))


class AgentMeView(APIView):
    @extend_schema(tags=["directory"], summary="The signed-in agent", responses={200: AgentSerializer})
    def get(self, request: Request) -> Response:
        profile = agent_get(user_id=request.user.pk)
        if profile is None:
            raise NotFound("No agent profile.")
        return Response(AgentSerializer(profile).data)


class _CannedResponseMixin:
    serializer_class = CannedResponseSerializer
    permission_classes = [IsSupervisorOrReadOnly]
    request: Request

    def get_queryset(self) -> QuerySet[CannedResponse]:
        return canned_responses_visible(user=self.request.user).annotate(sort_name=F("shortcut"))


@extend_schema_view(
    get=extend_schema(tags=["canned responses"], summary="List canned responses you may use"),
    post=extend_schema(tags=["canned responses"], summary="Create a canned response (supervisors, admins)"),
)
class CannedResponseListView(_CannedResponseMixin, generics.ListCreateAPIView):
    pagination_class = NamePagination

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        data = serializer.validated_data
        serializer.instance = canned_response_create(
            title=data["title"],
            shortcut=data["shortcut"],
            body=data["body"],
            team=data.get("team"),
            actor=self.request.user,
        )


@extend_schema_view(
    get=extend_schema(
        tags=["canned responses"],
        summary="One canned response",
        responses={200: CannedResponseSerializer, 404: ErrorSerializer},
    ),
    put=extend_schema(tags=["canned responses"], summary="Replace a canned response (supervisors, admins)"),
    patch=extend_schema(tags=["canned responses"], summary="Change a canned response (supervisors, admins)"),
    delete=extend_schema(tags=["canned responses"], summary="Delete a canned response (supervisors, admins)"),
)
class CannedResponseDetailView(_CannedResponseMixin, generics.RetrieveUpdateDestroyAPIView):
    lookup_url_kwarg = "response_id"

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = canned_response_update(
            response=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: CannedResponse) -> None:
        canned_response_delete(response=instance)
