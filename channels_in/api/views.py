from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest

from channels_in.api.schemas import payload_parse
from channels_in.base import PayloadError, RoutedEvent
from channels_in.http import RequestRejected, read_body, webhook_view
from channels_in.models import ChannelAccount
from channels_in.signing import SIGNATURE_HEADER, bearer_valid, signature_valid

# key -> (valid until, account). A busy integration posts many times a second, and every post would
# otherwise read the same row; a change to the channel applies once its entry runs out.
_accounts: dict[str, tuple[float, ChannelAccount]] = {}


def _account(channel_key: str) -> ChannelAccount | None:
    ttl = settings.INBOUND_ACCOUNT_CACHE_SECONDS
    now = time.monotonic()
    cached = _accounts.get(channel_key)
    if ttl and cached is not None and cached[0] > now:
        return cached[1]
    account = ChannelAccount.objects.filter(
        key=channel_key, kind=ChannelAccount.Kind.API, active=True
    ).first()
    # Unknown keys are not remembered: a caller trying keys cannot grow this.
    if ttl and account is not None:
        _accounts[channel_key] = (now + ttl, account)
    else:
        _accounts.pop(channel_key, None)
    return account


def _authenticate(account: ChannelAccount, request: HttpRequest, body: bytes) -> None:
    config = account.config
    if bearer_valid(config.get("token", ""), request.headers.get("Authorization", "")):
        return
    if signature_valid(config.get("secret", ""), body, request.headers.get(SIGNATURE_HEADER, "")):
        return
    raise RequestRejected(401, "missing or wrong token or signature")


def _is_json(request: HttpRequest) -> bool:
    # A body declared as anything else (a form, XML) was not meant for this endpoint; none declared is
    # judged as JSON.
    declared = (request.content_type or "").lower()
    return declared in {"", "application/json"}


def request_route(request: HttpRequest) -> list[RoutedEvent]:
    """One message for the channel the URL names: verified, validated, and only then stored."""
    account = _account(request.resolver_match.kwargs["channel_key"] if request.resolver_match else "")
    if account is None:
        raise RequestRejected(404, "unknown channel")
    body = read_body(request)
    _authenticate(account, request, body)
    if not _is_json(request):
        raise RequestRejected(415, "send the message as application/json")
    try:
        payload = payload_parse(body)
    except PayloadError as error:
        raise RequestRejected(400, str(error)) from error
    return [
        RoutedEvent(
            account=account,
            provider_event_id=payload.message_id,
            body=body,
            content_type=request.content_type or "application/json",
        )
    ]


# Accept one message: verify, validate, store the raw event, answer 202 — processing is async.
inbound_message = webhook_view(kind="api")
