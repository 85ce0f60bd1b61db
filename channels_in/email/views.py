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
from django.views.generic import View

from channels_in.base import RoutedEvent
from channels_in.email.esp import InboundEsp, esp_served, view_class
from channels_in.email.intake import mail_routed
from channels_in.email.schemas import MailboxConfigError, mailbox_config
from channels_in.http import RequestRejected, read_body, webhook_view
from channels_in.models import ChannelAccount
from channels_in.signing import bearer_valid

_ACCEPTED_TYPES = {"message/rfc822", "application/octet-stream", "text/plain"}


def raw_route(request: HttpRequest) -> list[RoutedEvent]:
    """One raw mail for the mailbox the URL names: the token verified, the mail stored untouched."""
    channel_key = request.resolver_match.kwargs["channel_key"] if request.resolver_match else ""
    account = ChannelAccount.objects.filter(
        key=channel_key, kind=ChannelAccount.Kind.EMAIL, active=True
    ).first()
    if account is None:
        raise RequestRejected(404, "unknown mailbox")
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
    return [mail_routed(account=account, raw=body, source="http")]


# Accept one raw mail: verify the token, store it untouched, answer 202 — parsing is async.
raw_message = webhook_view(kind="email")


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
