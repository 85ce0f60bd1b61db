"""Request bodies of the REST API: JSON through the one bounded loader (tickets/jsonload.py), and
oversize bodies answered 413 with a reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tickets.jsonload import JsonRejected, json_load


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with the size and depth limits every JSON input has; 400 or 413 with a reason."""

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        if stream is None:
            raise ParseError("JSON parse error - the body is empty.")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or settings.INBOUND_MAX_BYTES
        # One byte past the limit tells "too large" from "exactly the limit" without reading the rest.
        raw = stream.read(limit + 1)
        try:
            return json_load(raw, max_bytes=limit)
        except JsonRejected as rejected:
            if rejected.status == 413:
                raise BodyTooLarge(f"JSON parse error - {rejected.reason}.") from None
            raise ParseError(f"JSON parse error - {rejected.reason}.") from None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, and a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` answered 413 with a reason, not 400."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = BodyTooLarge(f"The request body is over the limit of {limit} bytes.")
    return drf_exception_handler(exc, context)
