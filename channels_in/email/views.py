"""Mail in by HTTP: an MTA pipe posts raw MIME (``curl --data-binary @- …``), an ESP its own payload."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from anymail.exceptions import (
    AnymailAPIError,
    AnymailConfigurationError,
    AnymailError,
    AnymailWebhookValidationFailure,
)
from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.generic import View

from channels_in.email.esp import InboundEsp, esp_served, view_class
from channels_in.email.intake import mail_record
from channels_in.email.schemas import MailboxConfigError, mailbox_config
from channels_in.http import RequestRejected, read_body
from channels_in.inbound import request_headers
from channels_in.models import ChannelAccount
from channels_in.signing import bearer_valid

_ACCEPTED_TYPES = {"message/rfc822", "application/octet-stream", "text/plain"}


@csrf_exempt
@require_POST
def raw_message(request: HttpRequest, channel_key: str) -> JsonResponse:
    """Accept one raw mail: verify the token, store it untouched, answer 202 — parsing is async."""
    account = ChannelAccount.objects.filter(
        key=channel_key, kind=ChannelAccount.Kind.EMAIL, active=True
    ).first()
    if account is None:
        return JsonResponse({"error": "unknown mailbox"}, status=404)
    try:
        try:
            token = mailbox_config(account.config).inbound_token
        except MailboxConfigError:
            token = ""
        if not bearer_valid(token, request.headers.get("Authorization", "")):
            raise RequestRejected(401, "missing or wrong token")
        body = read_body(request)
        if not body.strip():
            raise RequestRejected(400, "empty message")
        if (request.content_type or "").lower() not in _ACCEPTED_TYPES:
            raise RequestRejected(415, "send the mail as message/rfc822")
    except RequestRejected as rejected:
        return rejected.response()
    recorded = mail_record(account=account, raw=body, headers=request_headers(request), source="http")
    return JsonResponse(
        {"event_id": recorded.event.pk, "status": "accepted" if recorded.created else "duplicate"}, status=202
    )


class _PayloadMalformed(Exception):
    pass


# What Anymail raises on a payload it cannot read (not a network failure: that is worth a retry). The
# standard library's MIME parser, which it runs first, recurses once per nesting level.
_MALFORMED = (
    AnymailConfigurationError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    RecursionError,
)


class _Guarded:
    """Mixed into Anymail's inbound view: an unreadable payload is a 400 with its reason, not a 500."""

    def run_validators(self, request: HttpRequest) -> None:
        try:
            super().run_validators(request)  # type: ignore[misc]
        except AnymailWebhookValidationFailure:
            raise
        except (*_MALFORMED, AnymailError) as error:
            raise _PayloadMalformed(str(error)) from error

    def parse_events(self, request: HttpRequest) -> list[Any]:
        try:
            return super().parse_events(request)  # type: ignore[misc]
        except AnymailAPIError:
            raise
        except (*_MALFORMED, AnymailError) as error:
            raise _PayloadMalformed(str(error)) from error


@cache
def _esp_view(esp: InboundEsp) -> Callable[..., HttpResponseBase]:
    base = view_class(esp)
    guarded: type[View] = type(f"Guarded{base.__name__}", (_Guarded, base), {})
    return guarded.as_view()


@csrf_exempt
def esp_inbound(request: HttpRequest, esp_name: str) -> HttpResponseBase:
    """An ESP's inbound webhook, through Anymail's view; absent until it is enabled and authenticated."""
    esp = esp_served(esp_name)
    if esp is None or not ChannelAccount.objects.filter(kind=ChannelAccount.Kind.EMAIL, active=True).exists():
        return JsonResponse({"error": "not found"}, status=404)
    try:
        read_body(request)
        return _esp_view(esp)(request)
    except RequestRejected as rejected:
        return rejected.response()
    except AnymailWebhookValidationFailure:
        response = JsonResponse({"error": f"missing or wrong {esp.label} webhook credentials"}, status=401)
        response["WWW-Authenticate"] = 'Basic realm="sportello-email"'
        return response
    except _PayloadMalformed as error:
        return JsonResponse({"error": f"unreadable {esp.label} payload: {error}"[:500]}, status=400)
