"""Email channel: raw MIME (from IMAP, an ESP webhook or an MTA pipe) in, SMTP or an ESP out."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from channels_in.base import AdapterDefaults, EventIgnored, PayloadError, RoutedEvent
from channels_in.email import client
from channels_in.email.addresses import email_address_valid, header_text, mailbox_repair
from channels_in.email.parse import ParsedEmail, email_parse
from channels_in.email.schemas import MailboxConfig, MailboxConfigError, mailbox_config
from tickets.inbound import (
    DeliveryReport,
    DeliveryStatus,
    EmailDetails,
    IdentityClaim,
    IdentityKind,
    InboundAttachment,
    InboundMessage,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from channels_in.models import ChannelAccount, InboundEvent
    from tickets.channel_port import SendResult
    from tickets.models import Message

_TOKEN_TAG = re.compile(r"\s*\[#[0-9a-f]{6,20}\]\s*")
# A Date header from the future would sort the message above everything the agent writes next.
_CLOCK_SKEW = timedelta(hours=1)


def subject_without_token(subject: str) -> str:
    return _TOKEN_TAG.sub(" ", subject).strip()


def _config(account: ChannelAccount) -> MailboxConfig:
    try:
        return mailbox_config(account.config)
    except MailboxConfigError as error:
        raise PayloadError(str(error)) from error


# A bounce without any sender stands for the delivery system; it never becomes a contact.
_DAEMON = "mailer-daemon@invalid"


def _sender(parsed: ParsedEmail) -> tuple[str, str, str]:
    """The sender's address and name, and the header they came from."""
    if parsed.sender is not None:
        return parsed.sender.email, parsed.sender.name, "From"
    if parsed.reply_to:
        return parsed.reply_to[0].email, parsed.reply_to[0].name, "Reply-To"
    if parsed.bounce is not None:
        return _DAEMON, "Mail delivery system", ""
    return "", "", ""


def _deliverable(address: str, name: str, header: str, raw: bytes) -> tuple[str, str, str]:
    """The sender as an address replies can reach: as written, or repaired where that is unambiguous.

    A display name written without its angle brackets (``Test test@example.com``) is read as one
    address with a space in it; the header itself says which word is the address. The third value is
    the header text a repair was read from, else empty.
    """
    if address == _DAEMON or email_address_valid(address):
        return address, name, ""
    # The From header's parse may have come from Sender: try both, as the parser does.
    for candidate in (header, "Sender") if header == "From" else (header,):
        text = header_text(raw, candidate) if candidate else ""
        repaired = mailbox_repair(text)
        if repaired is not None:
            return repaired[1], repaired[0], text
    raise PayloadError(
        f"sender_invalid: {address[:200]!r} is not an email address replies could reach, "
        "and the header does not say unambiguously which word is the address"
    )


def email_metadata(
    parsed: ParsedEmail, event_id: int | None, *, sender_repaired: dict[str, str] | None = None
) -> dict[str, object]:
    """What agents and re-processing need beyond the text: addresses, ids, noise verdicts."""
    return {
        "email": {
            "message_id": parsed.message_id,
            "from": str(parsed.sender) if parsed.sender else "",
            "reply_to": [str(item) for item in parsed.reply_to],
            "to": [str(item) for item in parsed.to],
            "cc": [str(item) for item in parsed.cc],
            "in_reply_to": parsed.in_reply_to,
            "references": parsed.references[-30:],
            "signature": parsed.signature,
            "automatic": parsed.automatic,
            "remote_images_blocked": parsed.remote_images,
            "defects": parsed.defects[:10],
            **({"sender_repaired": sender_repaired} if sender_repaired else {}),
        },
        "bounce": parsed.bounce.as_dict() if parsed.bounce else None,
        "inbound_event_id": event_id,
    }


def inbound_from_parsed(
    parsed: ParsedEmail,
    *,
    account_id: int,
    config: MailboxConfig,
    event_id: int | None = None,
    raw: bytes = b"",
) -> InboundMessage | DeliveryStatus:
    """The neutral item for one parsed mail: a customer message, or a delivery report about one of ours.

    Our own mail coming back is ignored, saying so.
    """
    if parsed.refused:
        raise PayloadError(f"the mail cannot be read: {parsed.refused}")
    address, name, header = _sender(parsed)
    if not address and header_text(raw, "From"):
        # A From header with no address the parser could use: repaired where it says which word it is.
        address, name, header = "", "", "From"
    elif not address:
        raise PayloadError("the mail has no sender address (From, Reply-To and Sender are all missing)")
    address, name, repaired_from = _deliverable(address, name, header, raw)
    if config.is_ours(address):
        # Filing it would answer ourselves: the start of a mail loop.
        raise EventIgnored("own_mail", f"the sender {address} is this mailbox's own address")
    now = timezone.now()
    sent_at = parsed.date if parsed.date is not None and parsed.date <= now + _CLOCK_SKEW else now
    # A repair is shown with the message: the address was read from a header that did not bracket it.
    repair = {"header": repaired_from[:300], "address": address, "name": name} if repaired_from else None
    metadata = email_metadata(parsed, event_id, sender_repaired=repair)
    subject = subject_without_token(parsed.subject)
    if parsed.bounce is not None:
        bounce = parsed.bounce
        return DeliveryStatus(
            channel_account_id=account_id,
            state=bounce.kind,
            message_ids=[bounce.original_message_id] if bounce.original_message_id else [],
            recipients=list(bounce.recipients),
            thread_refs=parsed.thread_refs,
            code=bounce.status,
            diagnostic=bounce.diagnostic,
            at=sent_at,
            report=DeliveryReport(
                external_id=parsed.message_id,
                subject=subject,
                full_text=parsed.text,
                sent_at=sent_at,
                metadata=metadata,
            ),
        )
    return InboundMessage(
        channel_account_id=account_id,
        external_id=parsed.message_id,
        sender=IdentityClaim(IdentityKind.EMAIL, address),
        sender_name=name,
        text=parsed.reply_body or parsed.reply_text or parsed.text,
        html=parsed.html,
        subject=subject,
        sent_at=sent_at,
        attachments=[
            InboundAttachment(
                filename=item.filename,
                content_type=item.content_type,
                content=item.content,
                content_id=item.content_id,
                inline=item.inline,
            )
            for item in parsed.attachments
        ],
        is_automatic=bool(parsed.automatic),
        email=EmailDetails(
            full_text=parsed.text, thread_refs=parsed.thread_refs, ticket_token=parsed.ticket_token
        ),
        metadata=metadata,
    )


class EmailAdapter(AdapterDefaults):
    """Mail by IMAP, an MTA pipe or an ESP webhook; files come inline in the MIME, never by URL."""

    kind = "email"

    def route(self, request: HttpRequest) -> list[RoutedEvent]:
        # The raw-MIME endpoint; ESP webhooks go through Anymail's own views and signal (signals.py).
        from channels_in.email.views import raw_route

        return raw_route(request)

    def parse(self, event: InboundEvent) -> list[InboundMessage | DeliveryStatus]:
        account = event.channel_account
        config = _config(account)
        parsed = email_parse(bytes(event.body), languages=tuple(config.languages))
        raw = bytes(event.body)
        return [inbound_from_parsed(parsed, account_id=account.pk, config=config, event_id=event.pk, raw=raw)]

    def send(self, *, account: ChannelAccount, message: Message) -> SendResult:
        return client.reply_send(account=account, config=_config(account), message=message)
