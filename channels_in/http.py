"""What every webhook view shares: JSON errors with reasons, and the body read within its limit."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse

from channels_in.inbound import body_limit


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
