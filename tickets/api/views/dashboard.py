"""``GET /api/v1/dashboard``: the supervisor's dashboard figures, as the page shows them.

The same snapshot as ``/supervisor/data/`` (``tickets.dashboard``), under the same rule: supervisors and
admins, a supervisor limited to some teams seeing only those teams' tickets and agents.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.access import supervised_team_ids
from tickets.api.permissions import IsAgent
from tickets.api.serializers import ErrorSerializer
from tickets.dashboard import dashboard_snapshot, snapshot_data


class _Supervises(IsAgent):
    message = "Only supervisors and admins may read the dashboard."

    def has_permission(self, request: Request, view: Any) -> bool:
        try:
            supervised_team_ids(request.user)
        except DjangoPermissionDenied:
            return False
        return True


class FiguresSerializer(serializers.Serializer):
    waiting = serializers.IntegerField(help_text="Open tickets (any open status) nobody is assigned to.")
    oldest_waiting_since = serializers.DateTimeField(
        allow_null=True,
        help_text=(
            "Since when the longest waiting of them has waited: its customer's unanswered message, "
            "else its creation."
        ),
    )
    open = serializers.IntegerField(help_text="Tickets in status new or open.")
    pending = serializers.IntegerField(help_text="Tickets waiting on the customer.")
    on_hold = serializers.IntegerField(help_text="Tickets on hold.")
    at_risk = serializers.IntegerField(
        help_text=(
            "Open tickets not yet breached whose running SLA clock is due within the hour, or whose "
            "warning fired."
        )
    )
    breached = serializers.IntegerField(help_text="Open tickets that have missed an SLA target.")
    first_responses = serializers.IntegerField(help_text="Tickets first answered today.")
    first_response_average_seconds = serializers.FloatField(
        allow_null=True, help_text="Their average time from creation to the first reply, in seconds."
    )
    messages_in = serializers.IntegerField(
        help_text="Customer messages filed today (automatic ones left out)."
    )
    replies_out = serializers.IntegerField(help_text="Agents' replies written today.")
    messages_in_per_hour = serializers.FloatField(
        help_text="messages_in divided by the hours since midnight (at least 1)."
    )
    replies_out_per_hour = serializers.FloatField(
        help_text="replies_out divided by the hours since midnight (at least 1)."
    )
    solved_today = serializers.IntegerField(
        help_text="Tickets solved or closed today and still so, merged ones left out."
    )


class TeamFiguresSerializer(FiguresSerializer):
    id = serializers.IntegerField(
        allow_null=True, help_text="The team's id; null for tickets without a team."
    )
    name = serializers.CharField()


class ChannelFiguresSerializer(FiguresSerializer):
    id = serializers.IntegerField(
        allow_null=True, help_text="The channel's id; null for tickets begun on none."
    )
    name = serializers.CharField()
    kind = serializers.CharField(help_text="The channel's kind (email, webchat, api…); empty for null.")


class AgentFiguresSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The agent's user id.")
    name = serializers.CharField()
    presence = serializers.ChoiceField(choices=["online", "away", "offline"])
    presence_since = serializers.DateTimeField(allow_null=True)
    capacity = serializers.IntegerField()
    load = serializers.IntegerField(help_text="Open tickets weighted by channel, as routing counts them.")
    open_tickets = serializers.IntegerField()
    chats = serializers.IntegerField(help_text="Open tickets begun in a live chat.")
    last_reply_at = serializers.DateTimeField(allow_null=True, help_text="The agent's latest reply today.")
    replies_today = serializers.IntegerField()
    solved_today = serializers.IntegerField()


class DaySeriesSerializer(serializers.Serializer):
    date = serializers.DateField()
    arrivals = serializers.ListField(
        child=serializers.IntegerField(), help_text="Customer messages per slot."
    )
    answers = serializers.ListField(child=serializers.IntegerField(), help_text="Agents' replies per slot.")


class IntradaySerializer(serializers.Serializer):
    bucket_minutes = serializers.IntegerField(help_text="The length of a slot, from local midnight.")
    today = DaySeriesSerializer(help_text="Today, up to the slot now falls in.")
    last_week = DaySeriesSerializer(help_text="The same weekday a week before, every slot.")


class DashboardSerializer(serializers.Serializer):
    now = serializers.DateTimeField()
    time_zone = serializers.CharField(help_text="The desk's time zone: days start at its midnight.")
    day_start = serializers.DateTimeField()
    day_end = serializers.DateTimeField()
    next_change_at = serializers.DateTimeField(
        help_text="When a figure next changes by time alone (a ticket enters its last hour, or the day ends)."
    )
    all_teams = serializers.BooleanField(help_text="False for a supervisor limited to their teams.")
    team_ids = serializers.ListField(
        child=serializers.IntegerField(),
        allow_null=True,
        help_text="The supervised teams; null for every team.",
    )
    layout = serializers.CharField(
        help_text="The rows shown, as keys: it changes when a team, channel or agent comes or goes."
    )
    total = FiguresSerializer()
    teams = TeamFiguresSerializer(many=True)
    channels = ChannelFiguresSerializer(many=True)
    agents = AgentFiguresSerializer(many=True)
    intraday = IntradaySerializer()


class DashboardView(APIView):
    permission_classes = [_Supervises]

    @extend_schema(
        tags=["dashboard"],
        summary="The live dashboard's figures (supervisors, admins)",
        description=(
            "Every figure of the supervisor's dashboard at this moment: per team, per channel and in total, "
            "the agents panel, and today's messages per 15 minutes against the same weekday last week. A "
            "supervisor limited to their teams gets those teams' tickets and agents only. docs/supervisor.md "
            "explains each figure."
        ),
        responses={200: DashboardSerializer, 403: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(DashboardSerializer(snapshot_data(dashboard_snapshot(user=request.user))).data)
