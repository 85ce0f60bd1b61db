from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from channels_in.api.schemas import payload_parse
from channels_in.base import PayloadError
from channels_in.http import RequestRejected, read_body
from channels_in.inbound import inbound_event_record, request_headers
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


@csrf_exempt
@require_POST
def inbound_message(request: HttpRequest, channel_key: str) -> JsonResponse:
    """Accept one message: verify, validate, store the raw event, answer 202 — processing is async."""
    account = _account(channel_key)
    if account is None:
        return JsonResponse({"error": "unknown channel"}, status=404)
    try:
        body = read_body(request)
        _authenticate(account, request, body)
        if not _is_json(request):
            raise RequestRejected(415, "send the message as application/json")
        try:
            payload = payload_parse(body)
        except PayloadError as error:
            raise RequestRejected(400, str(error)) from error
    except RequestRejected as rejected:
        return rejected.response()
    recorded = inbound_event_record(
        account=account,
        body=body,
        headers=request_headers(request),
        content_type=request.content_type or "application/json",
        provider_event_id=payload.message_id,
    )
    return JsonResponse(
        {"event_id": recorded.event.pk, "status": "accepted" if recorded.created else "duplicate"}, status=202
    )
