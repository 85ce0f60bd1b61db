"""Sending a ticket message as an email that threads in the customer's client.

Our own Message-ID (derived from the message, so a retried send carries the same id), In-Reply-To
and References pointing at the customer's latest mail, the ticket token in the subject and in a
plus-addressed Reply-To, multipart text + HTML, attachments. Transport is Django's email backend:
the mailbox's own SMTP server when configured, else ``EMAIL_BACKEND`` (SMTP or any Anymail ESP).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import smtplib
from email.utils import formataddr
from html import escape
from typing import TYPE_CHECKING

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from tickets.channel_port import AdapterError, SendResult
from tickets.sanitize import html_sanitize

if TYPE_CHECKING:
    from django.core.mail.backends.base import BaseEmailBackend

    from channels_in.email.schemas import MailboxConfig
    from channels_in.models import ChannelAccount
    from tickets.models import Message

_REPLY_PREFIX = re.compile(r"^\s*((re|ri|r|aw|sv|antw|fw|fwd|i)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_TOKEN_TAG = re.compile(r"\s*\[#[0-9a-f]{6,20}\]")
_MAX_REFERENCES = 20


def outbound_message_id(message: Message, domain: str) -> str:
    """Stable per message, unguessable across installations: a retry re-sends the same id."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"message:{message.pk}".encode(), hashlib.sha256)
    return f"sportello.{message.pk}.{digest.hexdigest()[:16]}@{domain}"


def reply_subject(subject: str, token: str) -> str:
    base = _TOKEN_TAG.sub("", _REPLY_PREFIX.sub("", subject or "")).strip() or "Your request"
    return f"Re: {base} [#{token}]"


def _thread_headers(message: Message) -> dict[str, str]:
    """In-Reply-To and References for the customer's latest mail on this ticket."""
    from tickets.models import Message as MessageModel

    latest = (
        MessageModel.objects.filter(
            ticket_id=message.ticket_id,
            direction=MessageModel.Direction.INBOUND,
            channel_account__kind="email",
            sent_at__lte=message.sent_at,
        )
        .exclude(external_id__startswith="sha256:")
        .exclude(external_id=None)
        .order_by("-sent_at", "-id")
        .first()
    )
    if latest is None or latest.external_id is None:
        return {}
    meta = latest.metadata.get("email", {}) if isinstance(latest.metadata, dict) else {}
    chain = [ref for ref in meta.get("references", []) if isinstance(ref, str)]
    chain = [*chain[-(_MAX_REFERENCES - 1) :], latest.external_id]
    return {
        "In-Reply-To": f"<{latest.external_id}>",
        "References": " ".join(f"<{ref}>" for ref in dict.fromkeys(chain)),
    }


def _html_body(message: Message) -> str:
    if message.html.strip():
        return html_sanitize(message.html)
    paragraphs = [escape(block).replace("\n", "<br>\n") for block in message.text.split("\n\n")]
    return "".join(f"<p>{block}</p>\n" for block in paragraphs if block.strip())


def _connection(config: MailboxConfig) -> BaseEmailBackend:
    smtp = config.smtp
    if smtp is None:
        return get_connection(config.email_backend or None, fail_silently=False)
    return get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        fail_silently=False,
        host=smtp.host,
        port=smtp.port,
        username=smtp.username or None,
        password=smtp.secret() or None,
        use_tls=smtp.security == "starttls",
        use_ssl=smtp.security == "ssl",
        timeout=smtp.timeout,
    )


def build_email(*, config: MailboxConfig, message: Message) -> tuple[EmailMultiAlternatives, str]:
    ticket = message.ticket
    if message.identity is None:
        raise AdapterError("the message has no recipient", permanent=True)
    message_id = outbound_message_id(message, config.domain)
    author = message.author
    sender_name = config.from_name or (author.get_full_name() if author is not None else "")
    headers = {"Message-ID": f"<{message_id}>", **_thread_headers(message)}
    if message.is_automatic:
        # RFC 3834: a machine's mail, so the customer's own auto-responder must stay quiet.
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    mail = EmailMultiAlternatives(
        subject=reply_subject(message.subject or ticket.subject, ticket.token),
        body=message.text,
        from_email=formataddr((sender_name, config.address)),
        to=[message.identity.value],
        reply_to=[formataddr((sender_name, config.reply_address(ticket.token)))],
        headers=headers,
    )
    mail.attach_alternative(_html_body(message), "text/html")
    for attachment in message.attachments.all():
        if attachment.file:
            with attachment.file.open("rb") as handle:
                mail.attach(attachment.filename, handle.read(), attachment.content_type)
    return mail, message_id


def _permanent_smtp(error: smtplib.SMTPException) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return True
    code = getattr(error, "smtp_code", 0)
    return isinstance(code, int) and code >= 500


def reply_send(*, account: ChannelAccount, config: MailboxConfig, message: Message) -> SendResult:
    mail, message_id = build_email(config=config, message=message)
    try:
        connection = _connection(config)
        mail.connection = connection
        sent = mail.send(fail_silently=False)
    except smtplib.SMTPException as error:
        raise AdapterError(f"SMTP: {error}"[:500], permanent=_permanent_smtp(error)) from error
    except OSError as error:
        raise AdapterError(f"mail server unreachable: {type(error).__name__}: {error}"[:500]) from error
    except AnymailError as error:
        raise _esp_error(error) from error
    if not sent:
        raise AdapterError("the mail backend accepted nothing")
    esp_id = getattr(getattr(mail, "anymail_status", None), "message_id", None)
    sent_mail: dict[str, object] = {"message_id": message_id, "to": mail.to, "subject": mail.subject}
    if esp_id is not None:
        sent_mail["esp_message_id"] = str(esp_id)
    return SendResult(external_id=message_id, metadata={"email": sent_mail})


def _esp_error(error: AnymailError) -> AdapterError:
    """Anymail's errors: a refused recipient is permanent, an API outage is not."""
    if isinstance(error, AnymailRecipientsRefused):
        return AdapterError(f"recipient refused: {error}"[:500], permanent=True)
    if isinstance(error, AnymailAPIError):
        status = getattr(error, "status_code", None) or 0
        permanent = 400 <= status < 500 and status not in (408, 429)
        return AdapterError(f"mail provider: {error}"[:500], permanent=permanent)
    return AdapterError(f"mail backend: {type(error).__name__}: {error}"[:500])
