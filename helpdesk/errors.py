"""Error answers for requests no view handled: JSON under the API, in the shape of the API they are under.

A client of the REST API or of a webhook reads JSON on every answer, also when the address matches no
route (``/api/v1/tickets/abc``) or Django refuses the request before any view runs (too many fields). The
REST API says ``{"detail": …}`` as DRF does; the inbound webhooks say ``{"error": …}`` as their views do.
Every other address keeps Django's own pages.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework.exceptions import NotFound, ParseError

from helpdesk.urls import INBOUND_PREFIX

API_PREFIX = "api/"


def _json(request: HttpRequest, reason: str, status: int) -> HttpResponse | None:
    if request.path.startswith("/" + INBOUND_PREFIX):
        return JsonResponse({"error": reason}, status=status)
    if request.path.startswith("/" + API_PREFIX):
        return JsonResponse({"detail": reason}, status=status)
    return None


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _json(request, str(NotFound.default_detail), 404) or defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _json(request, str(ParseError.default_detail), 400) or defaults.bad_request(request, exception)
