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
