"""HTTP side of the widget: configuration for the loader, the iframe page, visitor sessions, uploads,
attachment downloads and the demo page. Messages themselves travel over the socket (``consumers.py``).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from channels_in.base import PayloadError
from channels_in.http import RequestRejected, read_body
from channels_in.models import ChannelAccount
from channels_in.webchat import intake, selectors
from channels_in.webchat.schemas import WebchatConfig, client_id_valid, config_parse, email_valid
from channels_in.webchat.tokens import (
    IdentityInvalid,
    TokenInvalid,
    Visitor,
    anonymous_visitor_id,
    visitor_identify,
    visitor_token_issue,
    visitor_token_read,
)
from channels_in.webchat.views_support import (
    cors,
    embed_snippet,
    frame_headers,
    origin_allowed,
    own_origin,
)
from tickets.client_address import request_client_address
from tickets.files import attachment_response
from tickets.jsonload import JsonRejected, json_load
from tickets.visitor_selectors import visitor_attachment

logger = logging.getLogger(__name__)


# Types a browser may show inline from our origin; anything else is downloaded.
def _channel(key: str) -> tuple[ChannelAccount, WebchatConfig]:
    account = ChannelAccount.objects.filter(key=key, kind=ChannelAccount.Kind.WEBCHAT, active=True).first()
    if account is None:
        raise Http404("No such chat.")
    try:
        return account, config_parse(account.config)
    except PayloadError as error:
        logger.warning("web-chat channel %s: %s", account.pk, error)
        raise Http404("No such chat.") from error


def _error(status: int, code: str, message: str, origin: str = "") -> JsonResponse:
    return cors(JsonResponse({"error": code, "message": message}, status=status), origin)  # type: ignore[return-value]


def _refused(refused: intake.IntakeRefused, status: int) -> JsonResponse:
    response = _error(status, refused.code, str(refused))
    if refused.retry_after:
        response["Retry-After"] = str(refused.retry_after)
    return response


@require_GET
def config_json(request: HttpRequest, channel_key: str) -> HttpResponse:
    """What the loader needs to draw the launcher; refused (and not readable) on other sites."""
    account, config = _channel(channel_key)
    origin = request.headers.get("Origin") or own_origin(request)
    if not origin_allowed(config, origin, own_origin=own_origin(request)):
        return _error(403, "origin_not_allowed", "This site may not embed this chat.")
    language = _language(request.GET.get("lang", ""))
    body = {
        "frame_url": request.build_absolute_uri(f"/widget/{account.key}/frame/"),
        "title": config.text("title", language) or account.name,
        "launcher_text": config.text("launcher_text", language),
        "color": config.color,
        "position": config.position,
    }
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    return cors(response, origin)


@require_GET
@xframe_options_exempt
def frame(request: HttpRequest, channel_key: str) -> HttpResponse:
    """The widget's UI, on our origin, inside the host page's iframe."""
    account, config = _channel(channel_key)
    host = request.GET.get("o", "")
    if not origin_allowed(config, host, own_origin=own_origin(request)):
        response = HttpResponse("This site may not embed this chat.", status=403, content_type="text/plain")
        return frame_headers(response, config, own_origin=own_origin(request))
    language = _language(request.GET.get("lang", ""))
    settings_for_frame = {
        "key": account.key,
        "origin": host,
        "language": language,
        "title": config.text("title", language) or account.name,
        "greeting": config.text("greeting", language),
        "launcher_text": config.text("launcher_text", language),
        "color": config.color,
        "position": config.position,
        "prechat": config.prechat.model_dump(),
        "max_attachment_bytes": config.max_attachment_bytes,
        "file_link_seconds": settings.WEBCHAT_FILE_LINK_SECONDS,
        "attachment_types": config.attachment_types,
        "email_fallback": bool(config.fallback_mailbox),
    }
    response = render(request, "widget/frame.html", {"widget": settings_for_frame, "language": language})
    return frame_headers(response, config, own_origin=own_origin(request))


def _language(raw: str) -> str:
    return "it" if raw.lower().startswith("it") else "en"


def _json(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json_load(read_body(request) or b"{}")
    except JsonRejected as rejected:
        raise RequestRejected(rejected.status, f"body: {rejected.reason}") from None
    if not isinstance(data, dict):
        raise RequestRejected(400, "body: a JSON object")
    return data


def _text(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name, "")
    if not isinstance(value, str) or len(value) > limit:
        raise RequestRejected(400, f"{name}: text of at most {limit} characters")
    return value.replace("\x00", "").strip()


@csrf_exempt
@require_POST
def session(request: HttpRequest, channel_key: str) -> JsonResponse:
    """Start or resume a visitor: a fresh token, with the pre-chat answers or a verified identity."""
    account, config = _channel(channel_key)
    try:
        data = _json(request)
        origin = _text(data, "origin", 300)
        if not origin_allowed(config, origin, own_origin=own_origin(request)):
            return _error(403, "origin_not_allowed", "This site may not use this chat.")
        visitor, notice = _visitor_from(account, data, origin)
        if not data.get("token") or notice:
            # A new visitor: the conversation they may start is budgeted per address and per channel.
            intake.new_visitor_admit(account=account, client_address=request_client_address(request))
        name, email = _text(data, "name", 200), _text(data, "email", 320).lower()
        if email and not email_valid(email):
            return _error(400, "email_invalid", "That email address does not look right.")
        if name or email:
            visitor = replace(visitor, name=name or visitor.name, email=email or visitor.email)
        identity = data.get("identity")
        if isinstance(identity, dict) and identity:
            try:
                visitor = visitor_identify(
                    account,
                    visitor,
                    secret=config.secret.get_secret_value(),
                    user_id=str(identity.get("user_id") or ""),
                    email=str(identity.get("email") or ""),
                    user_hash=str(identity.get("user_hash") or ""),
                )
            except IdentityInvalid as error:
                return _error(403, "identity_invalid", str(error))
            if isinstance(identity.get("name"), str) and identity["name"].strip():
                visitor = replace(visitor, name=identity["name"].strip()[:200])
    except RequestRejected as rejected:
        return rejected.response()
    except intake.IntakeRefused as refused:
        return _refused(refused, 429)
    return JsonResponse(
        {
            "token": visitor_token_issue(account, visitor),
            "visitor_id": visitor.visitor_id,
            "verified": visitor.verified,
            "name": visitor.name,
            "email": visitor.email,
            "notice": notice,
            "availability": selectors.availability(
                account, config, timezone.now(), visitor_id=visitor.visitor_id
            ),
        }
    )


def _visitor_from(account: ChannelAccount, data: dict[str, Any], origin: str) -> tuple[Visitor, str]:
    token = data.get("token")
    if token:
        try:
            visitor = visitor_token_read(account, token)
        except TokenInvalid as error:
            # A new conversation; the widget tells the visitor why their old one is gone.
            return Visitor(anonymous_visitor_id(), account.pk, origin), error.reason
        return replace(visitor, origin=origin), ""
    return Visitor(anonymous_visitor_id(), account.pk, origin), ""


@csrf_exempt
@require_POST
def upload(request: HttpRequest, channel_key: str) -> JsonResponse:
    """A message with an attachment: stored as an ``InboundEvent`` before the 202, like a socket message."""
    account, config = _channel(channel_key)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise TokenInvalid("token_missing")
        visitor = visitor_token_read(account, token.strip())
    except TokenInvalid as error:
        return _error(401, error.reason, "Your chat session is invalid or has expired.")
    if not origin_allowed(config, visitor.origin, own_origin=own_origin(request)):
        return _error(403, "origin_not_allowed", "This site may not use this chat.")
    try:
        read_body(request)
    except RequestRejected as rejected:
        return _error(413, "attachment_too_large", rejected.reason)
    client_id = request.POST.get("client_id", "")
    if not client_id_valid(client_id):
        return _error(400, "bad_field", "client_id is missing or malformed.")
    files = request.FILES.getlist("file")[:5]
    uploads = [
        intake.Upload(
            filename=(item.name or "file")[:255],
            content_type=(item.content_type or "application/octet-stream").split(";")[0].strip().lower(),
            content=item.read(),
        )
        for item in files
    ]
    try:
        recorded = intake.visitor_message_record(
            account=account,
            config=config,
            visitor=visitor,
            client_id=client_id,
            text=request.POST.get("text", "").replace("\x00", ""),
            uploads=uploads,
            client_address=request_client_address(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
    except intake.IntakeRefused as refused:
        status = {"attachment_too_large": 413, "attachment_type": 415, "rate_limited": 429}.get(
            refused.code, 400
        )
        return _refused(refused, status)
    return JsonResponse(
        {"client_id": client_id, "status": "accepted" if recorded.created else "duplicate"}, status=202
    )


@require_GET
def attachment(request: HttpRequest, channel_key: str, signed: str) -> FileResponse:
    """A file of the visitor's own conversation, by a link only their widget was given."""
    account, _config = _channel(channel_key)
    try:
        data = signing.loads(signed, salt=selectors.FILE_SALT, max_age=settings.WEBCHAT_FILE_LINK_SECONDS)
    except signing.BadSignature as error:
        raise Http404("No such file.") from error
    row = visitor_attachment(
        account_id=account.pk, visitor_id=str(data.get("v", "")), attachment_id=data.get("a")
    )
    if row is None:
        raise Http404("No such file.")
    # Served like every file of ours: a download, raster images inline, never interpreted.
    return attachment_response(row, preview=True)


@require_GET
def demo(request: HttpRequest) -> HttpResponse:
    """A shop's page embedding the demo chat exactly as a customer's site would."""
    from channels_in.webchat.demo import DEMO_CHANNEL_KEY

    account = ChannelAccount.objects.filter(key=DEMO_CHANNEL_KEY, kind=ChannelAccount.Kind.WEBCHAT).first()
    snippet = embed_snippet(account, base_url=own_origin(request)) if account is not None else ""
    return render(request, "widget/demo.html", {"snippet": snippet, "account": account})
