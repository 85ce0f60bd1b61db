"""What supervisors do to an agent's work through the API: redistribute their open tickets."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.api.permissions import IsAgent, is_supervisor
from tickets.api.serializers import ErrorSerializer
from tickets.models import AgentProfile
from tickets.services.redistribute import agent_tickets_redistribute


class _SupervisorsOnly(IsAgent):
    message = "Only supervisors and admins may redistribute an agent's tickets."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_supervisor(request.user)


class ReassignedSerializer(serializers.Serializer):
    ticket = serializers.IntegerField(help_text="The ticket's id.")
    assignee = serializers.IntegerField(help_text="The user id of the agent who has it now.")


class RedistributionSerializer(serializers.Serializer):
    reassigned = ReassignedSerializer(many=True, help_text="Tickets routing gave to another agent.")
    waiting = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Ids of the tickets nobody else could take now: they wait in their team's queue.",
    )


class AgentRedistributeView(APIView):
    permission_classes = [_SupervisorsOnly]

    @extend_schema(
        tags=["directory"],
        summary="Redistribute an agent's open tickets (supervisors, admins)",
        description=(
            "Every open ticket of the agent is unassigned and offered to routing, most urgent first, "
            "passing over this agent: it goes to an online agent of its team with room, the skills and "
            "the language it needs, or waits in the team's queue. Each step is in the ticket's audit "
            "trail with its reason."
        ),
        request=None,
        responses={200: RedistributionSerializer, 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def post(self, request: Request, agent_id: int) -> Response:
        try:
            outcome = agent_tickets_redistribute(agent_user_id=agent_id, actor=request.user)
        except AgentProfile.DoesNotExist as error:
            raise NotFound("No such agent.") from error
        data = {
            "reassigned": [
                {"ticket": ticket_id, "assignee": assignee_id}
                for ticket_id, assignee_id in outcome.reassigned.items()
            ],
            "waiting": outcome.waiting,
        }
        return Response(RedistributionSerializer(data).data)
