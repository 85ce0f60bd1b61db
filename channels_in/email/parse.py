"""Raw RFC 5322 bytes into a ``ParsedEmail``: never raises, whatever arrives.

Built on the standard library's ``email`` package. The MIME tree is split by the parser's fast
structural pass (``mime.py``, with explicit bounds), and the few headers Sportello reads are decoded
one by one (``headers.py``): decoding every header of every part costs seconds on large mails and
reads nothing we use. Real mail breaks every rule, so each field has a fallback: junk lines before
the headers are skipped, a header the registry cannot model is decoded word by word or read raw,
charset labels are read as the supersets clients write, raw 8-bit headers are guessed, a missing
From or Date stays empty, and a pathological MIME tree is cut at a depth and part count, or, nested
beyond any real mail, refused with the reason (``ParsedEmail.refused``).
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime

from channels_in.email import noise
from channels_in.email.clean import clean_text
from channels_in.email.headers import Address, MailHeaders
from channels_in.email.html import html_to_text
from channels_in.email.mime import (
    MAX_DEPTH,
    MAX_NESTING,
    MAX_PARTS,
    MimeTooDeep,
    ParsedAttachment,
    Walk,
    content_type_of,
    declared_charset,
    headers_start,
    message_read,
    walk,
)
from channels_in.email.quotes import DEFAULT_LANGUAGES, reply_split
from tickets.moments import MomentInvalid, moment_check
from tickets.sanitize import html_sanitize, remote_image_count

__all__ = [
    "MAX_DEPTH",
    "MAX_NESTING",
    "MAX_PARTS",
    "Address",
    "ParsedAttachment",
    "ParsedEmail",
    "clean_text",
    "email_parse",
    "header_map",
    "message_id_of",
]

_MSGID = re.compile(r"<([^<>\s]{1,300})>")
_TOKEN_IN_SUBJECT = re.compile(r"\[#([0-9a-f]{6,20})\]")
_TOKEN_IN_ADDRESS = re.compile(r"^[^@+]+\+([0-9a-f]{6,20})@", re.IGNORECASE)


@dataclass
class ParsedEmail:
    message_id: str
    sender: Address | None
    reply_to: list[Address]
    to: list[Address]
    cc: list[Address]
    delivered_to: list[str]
    subject: str
    date: datetime | None
    text: str  # the whole plain-text body (derived from HTML when there is only HTML)
    html: str  # sanitized, inert
    reply_text: str  # the new text, without quoted history
    reply_body: str  # the new text without its signature
    signature: str
    in_reply_to: list[str]
    references: list[str]
    attachments: list[ParsedAttachment]
    automatic: str  # why the mail is automatic ("" when a person wrote it)
    bounce: noise.Bounce | None
    remote_images: int = 0
    defects: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    refused: str = ""  # why the mail cannot be read at all ("" when it was read)

    @property
    def thread_refs(self) -> list[str]:
        seen: dict[str, None] = {}
        for ref in [*self.in_reply_to, *reversed(self.references)]:
            seen.setdefault(ref, None)
        return list(seen)

    @property
    def ticket_token(self) -> str:
        found = _TOKEN_IN_SUBJECT.search(self.subject)
        if found:
            return found.group(1)
        for address in [*self.delivered_to, *(item.email for item in [*self.to, *self.cc])]:
            match = _TOKEN_IN_ADDRESS.match(address)
            if match:
                return match.group(1).lower()
        return ""


def message_id_of(raw: bytes) -> str:
    """The stable identity of a raw mail: its Message-ID, or a digest of the bytes when it has none."""
    head = raw[:65536]
    head = head[headers_start(head) :].replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    value = _MSGID.search(str(email.message_from_bytes(head).get("Message-ID", "") or ""))
    if value:
        return value.group(1)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def header_map(msg: Message) -> dict[str, str]:
    """Each header's first raw value, by lower-cased name (one pass instead of one per look-up)."""
    heads: dict[str, str] = {}
    for key, value in msg.raw_items():
        heads.setdefault(key.lower(), value if isinstance(value, str) else str(value))
    return heads


def _message_ids(value: str) -> list[str]:
    found = _MSGID.findall(value)
    if not found and value.strip():
        found = [token.strip("<>") for token in value.split() if "@" in token]
    return [item for item in found if item][:100]


def _date(heads: MailHeaders) -> datetime | None:
    raw = heads.first("date")
    if not raw:
        return None
    try:
        parsed = parsedate_to_datetime(" ".join(clean_text(raw).split()))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return moment_check(parsed)
    except MomentInvalid:
        return None  # a date no clock shows: filed at its arrival time instead


def _refused(raw: bytes, reason: str) -> ParsedEmail:
    """A mail that cannot be read: nothing of it but its identity and why."""
    return ParsedEmail(
        message_id=message_id_of(raw),
        sender=None,
        reply_to=[],
        to=[],
        cc=[],
        delivered_to=[],
        subject="",
        date=None,
        text="",
        html="",
        reply_text="",
        reply_body="",
        signature="",
        in_reply_to=[],
        references=[],
        attachments=[],
        automatic="",
        bounce=None,
        defects=[reason],
        refused=reason,
    )


def email_parse(raw: bytes, *, languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> ParsedEmail:
    """Everything Sportello reads from one mail. Never raises on bad input.

    A mail that cannot be read at all (MIME nested beyond ``MAX_NESTING``) comes back ``refused``
    with the reason, for the caller to fail it once, visibly, rather than retry it.
    """
    try:
        return _parse(raw, languages)
    except MimeTooDeep as error:
        return _refused(raw, str(error))
    except RecursionError:  # a walk no bound foresaw: the same verdict, never a retried crash
        return _refused(raw, f"MIME parts nested deeper than {MAX_NESTING} levels")


def _parse(raw: bytes, languages: tuple[str, ...]) -> ParsedEmail:
    start = headers_start(raw)
    msg = message_read(raw[start:] if start else raw)
    heads = MailHeaders(msg, declared=lambda: declared_charset(msg))
    found = Walk(raw_decode=heads.raw_decode)
    if start:
        found.defects.append("junk before the headers")
    walk(msg, found)
    for defect in getattr(msg, "defects", [])[:10]:
        found.defects.append(type(defect).__name__)

    text = "\n\n".join(part for part in found.texts if part.strip())
    raw_html = "\n".join(found.htmls)
    html = html_sanitize(raw_html) if raw_html else ""
    if not text.strip() and raw_html:
        text = html_to_text(raw_html)
    split = reply_split(text, languages=languages)

    message_id = _MSGID.search(heads.text("Message-ID"))
    sender = heads.sender()
    sender_address = sender.email if sender else ""
    headers = {name: heads.text(name) for name in noise.HEADERS_READ}
    subject = heads.text("Subject")
    return ParsedEmail(
        message_id=message_id.group(1) if message_id else "sha256:" + hashlib.sha256(raw).hexdigest(),
        sender=sender,
        reply_to=heads.addresses("Reply-To"),
        to=heads.addresses("To"),
        cc=heads.addresses("Cc"),
        delivered_to=[
            item.email.lower()
            for name in ("Delivered-To", "X-Original-To", "Envelope-To")
            for item in heads.addresses(name)
        ],
        subject=subject,
        date=_date(heads),
        text=text,
        html=html,
        reply_text=split.reply,
        reply_body=split.body,
        signature=split.signature,
        in_reply_to=_message_ids(heads.text("In-Reply-To")),
        references=_message_ids(heads.text("References")),
        attachments=found.attachments,
        automatic=noise.automatic_reason(headers, subject, sender_address)
        # Delivery and read reports (RFC 3462) are machines' mail whatever their headers say.
        or ("report" if content_type_of(msg) == "multipart/report" else ""),
        bounce=noise.bounce_of(msg, found.reports, headers, subject, sender_address),
        remote_images=remote_image_count(raw_html) if raw_html else 0,
        defects=found.defects,
        headers=headers,
    )
