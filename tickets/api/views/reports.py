"""Reports for supervisors and admins: the figures as JSON, every report and the tickets' rows as CSV.

The filter parameters are read by ``tickets.reports.filters.report_filter_from`` (the page uses it too):
an agent gets 403, a limited supervisor 403 for a team not theirs, a bad value 400 naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import StreamingHttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.api.serializers import ErrorSerializer
from tickets.reports.export import REPORTS, csv_response, csv_rows
from tickets.reports.figures import report_agents, report_heatmap, report_summary, report_volume
from tickets.reports.filters import ReportFilter, ReportFilterError, report_filter_from


class CsvRenderer(BaseRenderer):
    """Chosen by ``?format=csv`` or ``Accept: text/csv``; the view streams the file itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return b"" if data is None else str(data).encode()


FILTER_PARAMETERS = [
    OpenApiParameter(
        "from",
        OpenApiTypes.DATE,
        description="First day (YYYY-MM-DD, desk time zone); default 29 days before `to`.",
    ),
    OpenApiParameter(
        "to", OpenApiTypes.DATE, description="Last day, included; default today. At most 2 years."
    ),
    OpenApiParameter(
        "team", OpenApiTypes.INT, description="Team id (a limited supervisor: one of their teams)."
    ),
    OpenApiParameter("channel", OpenApiTypes.INT, description="Channel account id."),
    OpenApiParameter("agent", OpenApiTypes.INT, description="User id of an agent."),
    OpenApiParameter("tag", OpenApiTypes.STR, description="Tag name."),
]
_FORMAT = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=["json", "csv"], description="`csv`: the same report as a CSV download."
)


HEATMAP_SCHEMA = {
    "type": "array",
    "minItems": 7,
    "maxItems": 7,
    "items": {"type": "array", "minItems": 24, "maxItems": 24, "items": {"type": "integer"}},
}


class TimingSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    median_seconds = serializers.IntegerField(allow_null=True)
    p90_seconds = serializers.IntegerField(allow_null=True)


class SlaSerializer(serializers.Serializer):
    met = serializers.IntegerField(help_text="Tickets under a policy solved in the range without a breach.")
    breached = serializers.IntegerField(
        help_text="Tickets under a policy that breached a target in the range."
    )
    compliance_percent = serializers.FloatField(allow_null=True)


class SummarySerializer(serializers.Serializer):
    created = serializers.IntegerField()
    solved = serializers.IntegerField(help_text="Times a ticket left the open statuses.")
    reopened = serializers.IntegerField()
    messages_in = serializers.IntegerField()
    replies_out = serializers.IntegerField()
    first_response = TimingSerializer(help_text="Tickets first answered in the range.")
    resolution = TimingSerializer(help_text="Tickets solved in the range (and still solved).")
    sla = SlaSerializer()
    csat = serializers.FloatField(allow_null=True, help_text="Null until surveys are sent.")
    nps = serializers.FloatField(allow_null=True, help_text="Null until surveys are sent.")


class VolumeDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    created = serializers.IntegerField()
    solved = serializers.IntegerField()
    reopened = serializers.IntegerField()
    backlog = serializers.IntegerField(help_text="Tickets open at the end of the day.")


class AgentRowSerializer(serializers.Serializer):
    agent_id = serializers.IntegerField()
    name = serializers.CharField()
    assigned = serializers.IntegerField(help_text="Tickets created in the range, assigned to the agent now.")
    solved = serializers.IntegerField()
    replies = serializers.IntegerField()
    first_response_median_seconds = serializers.IntegerField(allow_null=True)
    resolution_median_seconds = serializers.IntegerField(allow_null=True)


class _ReportView(APIView):
    renderer_classes = [JSONRenderer, CsvRenderer]
    report = ""
    figures: Callable[[ReportFilter], Any]

    def get(self, request: Request) -> Response | StreamingHttpResponse:
        report_filter = filter_from(request)
        if request.accepted_renderer.format == "csv":
            return report_download(report_filter, self.report)
        return Response(type(self).figures(report_filter))

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The framework answers an unknown ?format= with 404, as if the report did not exist.
        wanted = request.query_params.get("format")
        if not force and wanted is not None and wanted not in {"json", "csv"}:
            raise ValidationError({"format": ["Expected json or csv."]})
        return super().perform_content_negotiation(request, force)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # An error is answered as JSON, whatever format was asked for.
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


def filter_from(request: Request) -> ReportFilter:
    # A page's form sends an empty field for "the default"; the API documents a date, so blank is wrong.
    for name in ("from", "to"):
        if name in request.query_params and not request.query_params[name].strip():
            raise ValidationError({name: [gettext("Expected a date as YYYY-MM-DD.")]})
    try:
        return report_filter_from(request.query_params, user=request.user)
    except ReportFilterError as error:
        raise ValidationError({error.field: [error.message]}) from error


def report_download(report_filter: ReportFilter, report: str) -> StreamingHttpResponse:
    first = report_filter.start.date().isoformat()
    last = report_filter.days()[-1].isoformat()
    return csv_response(csv_rows(report_filter, report), filename=f"{report}-{first}-{last}.csv")


def _described(summary: str, description: str, response: Any) -> Callable[[Any], Any]:
    return extend_schema(
        tags=["reports"],
        summary=summary,
        description=description + " Supervisors and admins; a limited supervisor's teams only.",
        parameters=[*FILTER_PARAMETERS, _FORMAT],
        responses={200: response, (200, "text/csv"): OpenApiTypes.STR, 403: ErrorSerializer},
    )


class ReportSummaryView(_ReportView):
    report = "summary"
    figures = staticmethod(report_summary)

    @_described(
        "Report: totals", "Volume, messages, first response and resolution times, SLA.", SummarySerializer
    )
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        return super().get(request)


class ReportVolumeView(_ReportView):
    report = "volume"
    figures = staticmethod(report_volume)

    @_described(
        "Report: volume per day",
        "Created, solved, reopened and the backlog, per day.",
        VolumeDaySerializer(many=True),
    )
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        return super().get(request)


class ReportHeatmapView(_ReportView):
    report = "heatmap"
    figures = staticmethod(report_heatmap)

    @_described(
        "Report: busiest hours",
        "Tickets created per weekday (7 rows, Monday first) and hour (24 columns), desk time zone.",
        HEATMAP_SCHEMA,
    )
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        return super().get(request)


class ReportAgentsView(_ReportView):
    report = "agents"
    figures = staticmethod(report_agents)

    @_described(
        "Report: agents",
        "Per agent: assigned, solved, replies, median times; by name.",
        AgentRowSerializer(many=True),
    )
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        return super().get(request)


class ReportCsvView(APIView):
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        tags=["reports"],
        summary="Report as CSV",
        description=(
            "`summary`, `volume`, `heatmap`, `agents`, or `tickets`: one row per ticket created in the "
            "range with its timings. Streamed. Supervisors and admins; a limited supervisor's teams only."
        ),
        parameters=FILTER_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR, 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request, report: str) -> StreamingHttpResponse:
        if report not in REPORTS:
            raise NotFound("No such report.")
        return report_download(filter_from(request), report)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)
