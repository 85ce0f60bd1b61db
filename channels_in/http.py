"""What every webhook view shares: one path from request to stored events, JSON errors with reasons,
and the body read within its limit."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from channels_in.inbound import Recorded, body_limit, inbound_event_record, request_headers
from channels_in.registry import adapter_for


class RequestRejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def response(self) -> JsonResponse:
        return JsonResponse({"error": self.reason}, status=self.status)


def read_body(request: HttpRequest) -> bytes:
    """The request body, or 413 before reading when the declared or actual size is over the limit."""
    limit = body_limit()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise RequestRejected(400, "Content-Length is not a number") from exc
    if declared > limit:
        raise RequestRejected(413, f"body is {declared} bytes; the limit is {limit}")
    try:
        body = request.body
    except RequestDataTooBig as exc:
        raise RequestRejected(413, f"body is over the limit of {limit} bytes") from exc
    if len(body) > limit:
        raise RequestRejected(413, f"body is over the limit of {limit} bytes")
    return body


def webhook_view(*, kind: str) -> Callable[..., JsonResponse]:
    """The one view path of every provider webhook: the kind's adapter verifies and splits the request
    (``route``), each event is stored before the answer, and the answer says what became of each."""

    @csrf_exempt
    @require_POST
    def view(request: HttpRequest, **kwargs: object) -> JsonResponse:
        try:
            routed = adapter_for(kind).route(request)
        except RequestRejected as rejected:
            return rejected.response()
        kept = request_headers(request)
        recorded = [
            inbound_event_record(
                account=item.account,
                body=item.body,
                headers={**kept, **item.headers} if item.headers else kept,
                content_type=item.content_type,
                provider_event_id=item.provider_event_id,
            )
            for item in routed
        ]
        return webhook_answer(recorded)

    view.__name__ = view.__qualname__ = f"{kind}_webhook"
    return view


def webhook_answer(recorded: list[Recorded]) -> JsonResponse:
    """202 naming the stored event (one), or each of them (several); a duplicate says so."""
    answers = [
        {"event_id": item.event.pk, "status": "accepted" if item.created else "duplicate"}
        for item in recorded
    ]
    if len(answers) == 1:
        return JsonResponse(answers[0], status=202)
    return JsonResponse({"events": answers}, status=202)
