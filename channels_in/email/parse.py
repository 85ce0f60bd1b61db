"""Raw RFC 5322 bytes into a ``ParsedEmail``: never raises, whatever arrives.

Built on the standard library's ``email`` package. The MIME tree is split by the parser's fast
structural pass, and the few headers Sportello reads are decoded by ``policy.default``'s header
registry (RFC 2047 words, address lists) one by one: decoding every header of every part that way
costs seconds on large mails and reads nothing we use. Real mail breaks every rule, so each field
has a fallback: a header the registry cannot model is decoded word by word or read raw, unknown
charsets fall back to UTF-8 then Windows-1252, a missing From or Date stays empty, and a
pathological MIME tree is cut at a depth and part count instead of being followed.
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from channels_in.email import noise
from channels_in.email.addresses import plain_addresses
from channels_in.email.html import html_sanitize, html_to_text, remote_image_count
from channels_in.email.quotes import DEFAULT_LANGUAGES, reply_split
from tickets.moments import MomentInvalid, moment_check

MAX_DEPTH = 12
MAX_PARTS = 300
_MSGID = re.compile(r"<([^<>\s]{1,300})>")
_TOKEN_IN_SUBJECT = re.compile(r"\[#([0-9a-f]{6,20})\]")
_TOKEN_IN_ADDRESS = re.compile(r"^[^@+]+\+([0-9a-f]{6,20})@", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The same characters as UTF-8 bytes: each is one byte, and no byte of another character.
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


@dataclass(frozen=True)
class Address:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str = ""
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


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


def clean_text(value: str) -> str:
    """Text safe to store: undecodable bytes re-read, NULs and control characters dropped."""
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes the parser could not decode
        try:
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # surrogates that never were bytes: nothing to recover
            return _CONTROL.sub("", value.encode("utf-8", "replace").decode("utf-8"))
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            value = raw.decode("cp1252", "replace")
        return _CONTROL.sub("", value)
    # The same characters dropped from the UTF-8 bytes: one pass in C instead of an expression
    # stepping through the text, many times slower on long non-ASCII bodies.
    kept = encoded.translate(None, _CONTROL_BYTES)
    return value if len(kept) == len(encoded) else kept.decode("utf-8")


def message_id_of(raw: bytes) -> str:
    """The stable identity of a raw mail: its Message-ID, or a digest of the bytes when it has none."""
    head = raw[:65536].replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    value = _MSGID.search(str(email.message_from_bytes(head).get("Message-ID", "") or ""))
    if value:
        return value.group(1)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


# Longer header values are decoded word by word: the registry's parser is quadratic on them.
_REGISTRY_LIMIT = 4096


def header_map(msg: Message) -> dict[str, str]:
    """Each header's first raw value, by lower-cased name (one pass instead of one per look-up)."""
    heads: dict[str, str] = {}
    for key, value in msg.raw_items():
        heads.setdefault(key.lower(), value if isinstance(value, str) else str(value))
    return heads


def _decode_words(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def _header(heads: dict[str, str], name: str) -> str:
    raw = heads.get(name.lower())
    if raw is None:
        return ""
    raw = clean_text(raw)
    if raw.isascii() and "=?" not in raw:
        text = raw  # nothing encoded: the registry would return it unchanged
    elif len(raw) <= _REGISTRY_LIMIT:
        try:
            text = str(policy.default.header_factory(name, raw))
        except Exception:
            text = _decode_words(raw)
    else:
        text = _decode_words(raw[: _REGISTRY_LIMIT * 4])
    return clean_text(" ".join(text.split()))


def _addresses(heads: dict[str, str], name: str) -> list[Address]:
    raw = heads.get(name.lower())
    if not raw:
        return []
    raw = clean_text(raw)[:_REGISTRY_LIMIT]
    if raw.isascii() and "=?" not in raw:
        # Nothing encoded: the plain address-list parser reads it the same, at a fraction of the cost,
        # and the plainest lists (most of them) are read by one expression, as that parser reads them.
        pairs = plain_addresses(raw)
        plain = [Address(" ".join(n.split())[:200], a.strip()) for n, a in pairs or getaddresses([raw])]
        return [item for item in plain if "@" in item.email and len(item.email) <= 320]
    try:
        header = policy.default.header_factory(name, raw)
        found = [
            Address(clean_text(item.display_name), clean_text(item.addr_spec))
            for item in getattr(header, "addresses", ())
        ]
    except Exception:
        found = []
    if not found:
        found = [Address(_decode_words(n), a) for n, a in getaddresses([raw])]
    return [
        Address(" ".join(item.name.split())[:200], item.email.strip())
        for item in found
        if "@" in item.email and len(item.email) <= 320
    ]


def _message_ids(value: str) -> list[str]:
    found = _MSGID.findall(value)
    if not found and value.strip():
        found = [token.strip("<>") for token in value.split() if "@" in token]
    return [item for item in found if item][:100]


def _date(heads: dict[str, str]) -> datetime | None:
    raw = heads.get("date")
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


def part_text(part: Message) -> str:
    """A text part decoded with its declared charset, else UTF-8, else Windows-1252."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if payload is None:
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    try:
        declared = part.get_content_charset() or "utf-8"
    except Exception:
        declared = "utf-8"
    for charset in (declared, "utf-8"):
        try:
            return clean_text(payload.decode(charset))
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return clean_text(payload.decode("cp1252", "replace"))


def _filename(part: Message) -> str:
    try:
        named = _mentions(part, "name", ("content-disposition", "content-type"))  # or filename
        name = (part.get_filename() if named else None) or ""
    except Exception:
        name = ""
    name = clean_text(str(name))
    if "=?" in name:
        name = _decode_words(name)
    name = clean_text(name).replace("/", "_").replace("\\", "_").strip()
    return name[:255]


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


@dataclass
class _Walk:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    reports: list[Message] = field(default_factory=list)
    parts: int = 0
    defects: list[str] = field(default_factory=list)


def _walk(part: Message, found: _Walk, depth: int) -> None:
    found.parts += 1
    if found.parts > MAX_PARTS:
        if "too many parts" not in found.defects:
            found.defects.append("too many parts")
        return
    content_type = _content_type(part)
    if part.is_multipart() and content_type.startswith("multipart/"):
        if depth >= MAX_DEPTH:
            found.defects.append("nested too deep")
            return
        if content_type == "multipart/report":
            found.reports.append(part)
        payload = part.get_payload()
        for child in payload if isinstance(payload, list) else []:
            if isinstance(child, Message):
                _walk(child, found, depth + 1)
        return
    try:
        disposition = part.get_content_disposition()
    except Exception:
        disposition = None
    filename = _filename(part)
    raw_id = part.get("Content-ID")
    content_id = clean_text(str(raw_id)).strip().strip("<> ")[:300] if raw_id else ""
    is_body = disposition != "attachment" and not filename
    if is_body and content_type == "text/plain":
        found.texts.append(part_text(part))
        return
    if is_body and content_type == "text/html":
        found.htmls.append(part_text(part))
        return
    if content_type in {"message/delivery-status", "message/feedback-report", "text/rfc822-headers"}:
        found.reports.append(part)
    found.attachments.append(
        ParsedAttachment(
            filename=filename or _default_name(content_type, len(found.attachments) + 1),
            content_type=content_type,
            content=_part_bytes(part),
            content_id=content_id,
            inline=disposition == "inline" or (bool(content_id) and disposition != "attachment"),
        )
    )


def _flatten(msg: Message, out: list[str]) -> None:
    """The parsed message written back as it arrived: headers unfolded by nobody, bodies untouched.

    The generator's ``as_bytes`` re-folds every header, which costs more than parsing the mail did.
    """
    for name, value in msg.raw_items():
        out.append(f"{name}: {value}\r\n")
    out.append("\r\n")
    payload = msg.get_payload()
    if not isinstance(payload, list):
        out.append(payload if isinstance(payload, str) else "")
        return
    boundary = _boundary(msg)
    if boundary is None:  # message/rfc822 and friends: one enclosed message, no boundary
        for inner in payload:
            if isinstance(inner, Message):
                _flatten(inner, out)
        return
    if msg.preamble:
        out.append(msg.preamble + "\r\n")
    for inner in payload:
        out.append(f"--{boundary}\r\n")
        if isinstance(inner, Message):
            _flatten(inner, out)
        out.append("\r\n")
    out.append(f"--{boundary}--\r\n")
    if msg.epilogue:
        out.append(msg.epilogue)


def _mentions(part: Message, word: str, headers: tuple[str, ...]) -> bool:
    """Whether one of these headers mentions ``word``: without it, ``get_param`` finds nothing.

    Parameter parsing is most of the cost of ``get_filename`` and ``get_boundary``, and most parts
    have no name, and no boundary: a forwarded mail nests messages thousands deep in the wild.
    """
    return any(name.lower() in headers and word in str(value).lower() for name, value in part.raw_items())


def _boundary(msg: Message) -> str | None:
    return msg.get_boundary() if _mentions(msg, "boundary", ("content-type",)) else None


def _part_bytes(part: Message) -> bytes:
    if _content_type(part) == "message/rfc822" or part.is_multipart():
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message):
            out: list[str] = []
            _flatten(inner, out)
            try:
                return "".join(out).encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:
                return "".join(out).encode("utf-8", "replace")
    try:
        content = part.get_payload(decode=True)
    except Exception:
        content = None
    if content is None:
        raw = part.get_payload()
        content = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return content


_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/jpg": "jpg",
    "image/gif": "gif",
    "application/pdf": "pdf",
    "message/rfc822": "eml",
    "text/plain": "txt",
    "text/html": "html",
    "text/calendar": "ics",
}


def _default_name(content_type: str, number: int) -> str:
    return f"attachment-{number}.{_EXTENSIONS.get(content_type, 'bin')}"


def email_parse(raw: bytes, *, languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> ParsedEmail:
    """Everything Sportello reads from one mail. Never raises on bad input."""
    msg = email.message_from_bytes(raw)
    found = _Walk()
    _walk(msg, found, 0)
    for defect in getattr(msg, "defects", [])[:10]:
        found.defects.append(type(defect).__name__)

    text = "\n\n".join(part for part in found.texts if part.strip())
    raw_html = "\n".join(found.htmls)
    html = html_sanitize(raw_html) if raw_html else ""
    if not text.strip() and raw_html:
        text = html_to_text(raw_html)
    split = reply_split(text, languages=languages)

    heads = header_map(msg)
    message_id = _MSGID.search(_header(heads, "Message-ID"))
    senders = _addresses(heads, "From") or _addresses(heads, "Sender")
    headers = {name: _header(heads, name) for name in noise.HEADERS_READ}
    subject = _header(heads, "Subject")
    return ParsedEmail(
        message_id=message_id.group(1) if message_id else "sha256:" + hashlib.sha256(raw).hexdigest(),
        sender=senders[0] if senders else None,
        reply_to=_addresses(heads, "Reply-To"),
        to=_addresses(heads, "To"),
        cc=_addresses(heads, "Cc"),
        delivered_to=[
            item.email.lower()
            for name in ("Delivered-To", "X-Original-To", "Envelope-To")
            for item in _addresses(heads, name)
        ],
        subject=subject,
        date=_date(heads),
        text=text,
        html=html,
        reply_text=split.reply,
        reply_body=split.body,
        signature=split.signature,
        in_reply_to=_message_ids(_header(heads, "In-Reply-To")),
        references=_message_ids(_header(heads, "References")),
        attachments=found.attachments,
        automatic=noise.automatic_reason(headers, subject, senders[0].email if senders else "")
        # Delivery and read reports (RFC 3462) are machines' mail whatever their headers say.
        or ("report" if _content_type(msg) == "multipart/report" else ""),
        bounce=noise.bounce_of(msg, found.reports, headers, subject, senders[0].email if senders else ""),
        remote_images=remote_image_count(raw_html) if raw_html else 0,
        defects=found.defects,
        headers=headers,
    )
