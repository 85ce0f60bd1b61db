"""The MIME tree of a mail: split with explicit bounds, walked for bodies, attachments and reports.

The standard library's parser follows nesting by recursion (one nested generator per level), so a
mail nested a few hundred levels deep exhausts Python's stack wherever it is parsed. Here the parser
refuses to open a part deeper than ``MAX_NESTING`` (``MimeTooDeep``): a mail that deep is a bomb,
and refusing it is an answer, where a ``RecursionError`` would be retried like a passing fault.
Every later walk (ours and the library's) then runs on a tree at most that deep, and ours stop even
earlier: bodies and attachments are read down to ``MAX_DEPTH`` multipart levels, ``MAX_PARTS`` parts.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.feedparser import BytesFeedParser
from email.message import Message

from channels_in.email.charsets import bytes_decode
from channels_in.email.clean import clean_text
from channels_in.email.headers import MailHeaders, words_decode

MAX_NESTING = 64  # parts inside parts (multipart and message/*): deeper, the mail is refused
MAX_DEPTH = 12  # multipart levels read for bodies and attachments: deeper, cut with a defect
MAX_PARTS = 300
_CHARSET_PARTS = 50  # parts looked at for the body's declared charset


class MimeTooDeep(Exception):
    """A part nested deeper than ``MAX_NESTING``: the mail is not read."""


class _BoundedParser(BytesFeedParser):
    def _new_message(self) -> None:
        # The parser's stack of open parts is the nesting depth of the part it is about to open. Both
        # are the stdlib parser's private members, which its type stubs leave out.
        if len(self._msgstack) >= MAX_NESTING:  # type: ignore[attr-defined]
            raise MimeTooDeep(f"MIME parts nested deeper than {MAX_NESTING} levels")
        super()._new_message()  # type: ignore[misc]


def message_read(raw: bytes) -> Message:
    """``email.message_from_bytes`` (compat32), refusing parts deeper than ``MAX_NESTING``."""
    parser = _BoundedParser()
    parser.feed(raw)
    return parser.close()


# A header line as the parser sees one (a field name, then a colon), and the envelope line of mbox.
_HEADER_LINE = re.compile(rb"^(?:From |[\x21-\x39\x3b-\x7e]+:)")
_CONTINUATION = re.compile(rb"^[ \t]+\S")
_MAIL_FIELDS = re.compile(
    rb"^(?:from|to|cc|subject|date|message-id|received|return-path|reply-to|mime-version|"
    rb"content-type|delivered-to|sender|x-[\x21-\x39\x3b-\x7e]*):",
    re.IGNORECASE,
)
_JUNK_LINES = 5


def headers_start(raw: bytes) -> int:
    """Where the headers begin, past junk lines a client or a forwarder put before them.

    A banner ("---- Original message ----") or a blank line before the headers makes the parser read
    every header as body, and the mail has no sender. Up to ``_JUNK_LINES`` lines are skipped, and
    only when two header lines, one of them a mail header, follow: text that merely holds a colon
    stays text.
    """
    lines = raw[:4096].split(b"\n", _JUNK_LINES + 2)[: _JUNK_LINES + 2]
    if not lines or _HEADER_LINE.match(lines[0]):
        return 0
    offset = 0
    for index, line in enumerate(lines[:-1]):
        if index > _JUNK_LINES:
            return 0
        following = lines[index + 1]
        block = _HEADER_LINE.match(following) or _CONTINUATION.match(following)
        heading = _HEADER_LINE.match(line) and block
        if heading and (_MAIL_FIELDS.match(line) or _MAIL_FIELDS.match(following)):
            return offset
        offset += len(line) + 1
    return 0


def declared_charset(msg: Message) -> str:
    """The charset the mail's text declares: its own, else its first text part's ("" for none)."""
    queue = [msg]
    seen = 0
    while queue and seen < _CHARSET_PARTS:
        part = queue.pop(0)
        seen += 1
        charset = _charset_of(part) if part is msg or content_type_of(part).startswith("text/") else ""
        if charset:
            return charset
        payload = part.get_payload() if part.is_multipart() else None
        queue.extend(item for item in payload or [] if isinstance(item, Message))
    return ""


def _charset_of(part: Message) -> str:
    try:
        return str(part.get_content_charset() or "")
    except Exception:  # a malformed parameter: no charset
        return ""


def part_text(part: Message) -> str:
    """A text part decoded with (the superset of) its declared charset, else UTF-8, else Windows-1252."""
    return clean_text(bytes_decode(_payload_bytes(part), [_charset_of(part) or "utf-8", "utf-8"]))


def _payload_bytes(part: Message) -> bytes:
    """A leaf part's content, transfer encoding undone; its text as it stands where that cannot be."""
    try:
        content = part.get_payload(decode=True)
    except Exception:
        content = None
    if not isinstance(content, bytes):  # None: a multipart, or nothing to decode
        raw = part.get_payload()
        content = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return content


def content_type_of(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def mentions(part: Message, word: str, headers: tuple[str, ...]) -> bool:
    """Whether one of these headers mentions ``word``: without it, ``get_param`` finds nothing.

    Parameter parsing is most of the cost of ``get_filename`` and ``get_boundary``, and most parts
    have no name, and no boundary.
    """
    return any(name.lower() in headers and word in str(value).lower() for name, value in part.raw_items())


_NAME_HEADERS = ("content-disposition", "content-type")
_UNSAFE_IN_NAMES = re.compile(r'[/\\:*?"<>|]')


def safe_name(name: str) -> str:
    """A file name without path separators, control characters or line breaks, at most 255 long."""
    return " ".join(_UNSAFE_IN_NAMES.sub("_", clean_text(name)).split())[:255]


def filename_of(part: Message, raw_decode: Callable[[str], str]) -> str:
    """The part's own file name ("" for none); raw 8-bit names are read like the mail's headers."""
    if not mentions(part, "name", _NAME_HEADERS):
        return ""
    source = part
    raws = [(key, str(value)) for key, value in part.raw_items() if key.lower() in _NAME_HEADERS]
    if not all(value.isascii() for _, value in raws):
        source = Message()
        for key, value in raws:
            source[key] = raw_decode(value)
    try:
        name = clean_text(str(source.get_filename() or ""))
    except Exception:
        return ""
    if "=?" in name:  # RFC 2047 words where RFC 2231 belongs: what most clients write
        name = words_decode(name)
    return safe_name(name)


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
class Walk:
    """What the walk over a mail's parts found; ``raw_decode`` reads raw 8-bit names."""

    raw_decode: Callable[[str], str]
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    reports: list[Message] = field(default_factory=list)
    parts: int = 0
    defects: list[str] = field(default_factory=list)


_REPORTS = {"message/delivery-status", "message/feedback-report", "text/rfc822-headers"}


def walk(part: Message, found: Walk, depth: int = 0) -> None:
    """Bodies, attachments and reports of ``part``, down to ``MAX_DEPTH`` levels and ``MAX_PARTS`` parts."""
    found.parts += 1
    if found.parts > MAX_PARTS:
        if "too many parts" not in found.defects:
            found.defects.append("too many parts")
        return
    content_type = content_type_of(part)
    if part.is_multipart() and content_type.startswith("multipart/"):
        if depth >= MAX_DEPTH:
            if "nested too deep" not in found.defects:
                found.defects.append("nested too deep")
            return
        if content_type == "multipart/report":
            found.reports.append(part)
        payload = part.get_payload()
        for child in payload if isinstance(payload, list) else []:
            if isinstance(child, Message):
                walk(child, found, depth + 1)
        return
    try:
        disposition = part.get_content_disposition()
    except Exception:
        disposition = None
    filename = filename_of(part, found.raw_decode)
    raw_id = part.get("Content-ID")
    content_id = clean_text(str(raw_id)).strip().strip("<> ")[:300] if raw_id else ""
    is_body = disposition != "attachment" and not filename
    if is_body and content_type == "text/plain":
        found.texts.append(part_text(part))
        return
    if is_body and content_type == "text/html":
        found.htmls.append(part_text(part))
        return
    if content_type in _REPORTS:
        found.reports.append(part)
    found.attachments.append(
        ParsedAttachment(
            filename=filename or default_name(part, content_type, len(found.attachments) + 1),
            content_type=content_type,
            content=part_bytes(part),
            content_id=content_id,
            inline=disposition == "inline" or (bool(content_id) and disposition != "attachment"),
        )
    )


def _flatten(msg: Message, out: list[str]) -> None:
    """The parsed message written back as it arrived: headers unfolded by nobody, bodies untouched.

    The generator's ``as_bytes`` re-folds every header, which costs more than parsing the mail did.
    Recursive, as deep as the tree: at most ``MAX_NESTING``.
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


def _boundary(msg: Message) -> str | None:
    return msg.get_boundary() if mentions(msg, "boundary", ("content-type",)) else None


def _enclosed(part: Message) -> Message | None:
    if content_type_of(part) == "message/rfc822" or part.is_multipart():
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message):
            return inner
    return None


def part_bytes(part: Message) -> bytes:
    inner = _enclosed(part)
    if inner is not None:
        out: list[str] = []
        _flatten(inner, out)
        try:
            return "".join(out).encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return "".join(out).encode("utf-8", "replace")
    return _payload_bytes(part)


# Parts that are a report's sections, named for what they are rather than numbered.
_REPORT_NAMES = {
    "message/delivery-status": "Delivery report.txt",
    "message/feedback-report": "Feedback report.txt",
    "message/disposition-notification": "Read receipt.txt",
    "text/rfc822-headers": "Original message headers.txt",
}
# Preferred where the standard table offers several or none; then the table, built in (the system's
# mime.types would make names depend on the machine).
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "text/plain": ".txt",
    "text/calendar": ".ics",
    "message/rfc822": ".eml",
}
_TYPES = mimetypes.MimeTypes(filenames=())


def default_name(part: Message, content_type: str, number: int) -> str:
    """A readable name for a part that has none: a report's section, a forwarded mail's subject…"""
    if content_type in _REPORT_NAMES:
        return _REPORT_NAMES[content_type]
    inner = _enclosed(part) if content_type in {"message/rfc822", "message/global"} else None
    if inner is not None:
        subject = safe_name(MailHeaders(inner, declared=lambda: "").text("Subject"))[:120].strip(". ")
        return f"{subject or 'Forwarded message'}.eml"
    extension = _EXTENSIONS.get(content_type) or _TYPES.guess_extension(content_type) or ".bin"
    return f"attachment-{number}{extension}"
