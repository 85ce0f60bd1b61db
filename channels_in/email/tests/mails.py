"""Mails written for the tests, and the corpus of real ones."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from django.utils import timezone

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def mail(
    *,
    sender: str = "Maria Rossi <maria@example.com>",
    to: str = "support@example.com",
    subject: str = "Ordine 1234 non arrivato",
    text: str = "Buongiorno, il mio ordine non è ancora arrivato.",
    html: str = "",
    message_id: str | None = None,
    in_reply_to: str = "",
    references: str = "",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = message_id or make_msgid(domain="example.com")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for filename, content_type, content in attachments or []:
        maintype, subtype = content_type.split("/", 1)
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(message)


def delivery_report(*, recipient: str, original_message_id: str, status: str = "5.1.1") -> bytes:
    """A DSN (RFC 3464) as Postfix writes it: human part, delivery-status, the original's headers."""
    return (
        "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
        "To: support@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {format_datetime(timezone.now())}\r\n"
        f"Message-ID: {make_msgid(domain='mx.example.net')}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="RPT"\r\n'
        "\r\n"
        "--RPT\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "\r\n"
        "--RPT\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        "Action: failed\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected\r\n"
        "\r\n"
        "--RPT\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        "From: Sportello Support <support@example.com>\r\n"
        f"To: {recipient}\r\n"
        f"Message-ID: <{original_message_id}>\r\n"
        "Subject: Re: Ordine 1234\r\n"
        "\r\n"
        "--RPT--\r\n"
    ).encode()
