"""Raw MIME in by HTTP: an MTA pipe (``curl --data-binary @- …``) posts each mail as message/rfc822."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

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
