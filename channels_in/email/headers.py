"""The headers of one mail, decoded as a careful reader would: unfolded, in the right charset.

Each value is read raw (the parser's compat32 pass decodes nothing) and only the few Sportello reads
are decoded, by ``policy.default``'s header registry (RFC 2047 words, address lists), with fallbacks:

- folding (CRLF before whitespace, RFC 5322) is removed before decoding, so encoded words folded
  onto two lines join as RFC 2047 says, without the space of the fold;
- encoded words are read with the superset of their charset label (``charsets.superset``);
- raw 8-bit bytes, which no standard allows in a header and many clients write, are read as UTF-8
  when they are valid UTF-8 (legacy text almost never is, while a single-byte charset reads any
  bytes), else in the charset the body declares, else in the charset ``charset-normalizer`` finds
  in all the mail's 8-bit header bytes together (more text, a surer guess), else Windows-1252;
- comments (RFC 5322) are not part of a display name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses

from channels_in.email.addresses import plain_addresses
from channels_in.email.charsets import bytes_decode, detected, mostly_utf8, superset, words_widen
from channels_in.email.clean import clean_text

# Longer header values are decoded word by word: the registry's parser is quadratic on them.
REGISTRY_LIMIT = 4096
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_LINE_END = re.compile(r"[\r\n]+")
# Whitespace between two encoded words is no part of the text (RFC 2047, 6.2); the registry drops it
# in unstructured text but keeps it in a display name, so it goes before the registry reads either.
_BETWEEN_WORDS = re.compile(r"(\?=)[ \t]+(?==\?[^?\s]{1,40}\?[bBqQ]\?)")
_VALID_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+")
# What the detector reads at most: enough text to tell charsets apart.
_DETECT_BYTES = 8192


@dataclass(frozen=True)
class Address:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


def valid_address(value: str) -> bool:
    """A local part and a domain around one ``@``: enough to answer, without judging the domain."""
    return len(value) <= 320 and _VALID_ADDRESS.fullmatch(value) is not None


class MailHeaders:
    """The top-level headers of a parsed mail, decoded on demand."""

    def __init__(self, msg: Message, declared: Callable[[], str]) -> None:
        self._values: dict[str, list[str]] = {}
        for key, value in msg.raw_items():
            self._values.setdefault(key.lower(), []).append(value if isinstance(value, str) else str(value))
        self._declared = declared  # the body's charset, looked for only when a header needs it
        self._charsets: list[str] | None = None

    def first(self, name: str) -> str | None:
        values = self._values.get(name.lower())
        return values[0] if values else None

    def prepared(self, value: str) -> str:
        """One raw value as text: 8-bit bytes decoded, unfolded, safe to store, labels widened."""
        if not value.isascii():
            value = self.raw_decode(value)
        value = _BETWEEN_WORDS.sub(r"\1", _LINE_END.sub(" ", _FOLD.sub("", value)))
        return words_widen(clean_text(value))

    def raw_decode(self, value: str) -> str:
        """A value holding raw 8-bit bytes (as the parser's surrogates) in the mail's header charset."""
        data = value.encode("utf-8", "surrogateescape")
        return bytes_decode(data, ["utf-8", *self._eight_bit_charsets()])

    def _eight_bit_charsets(self) -> list[str]:
        if self._charsets is None:
            declared = self._declared()
            material = b"\n".join(
                value.encode("utf-8", "surrogateescape")
                for values in self._values.values()
                for value in values
                if not value.isascii()
            )[:_DETECT_BYTES]
            readable = (
                _decodes(material, "utf-8")
                or _decodes(material, declared)
                or mostly_utf8(material) is not None
            )
            guessed = "" if readable else detected(material)
            self._charsets = [charset for charset in (declared, guessed) if charset]
        return self._charsets

    def text(self, name: str) -> str:
        """An unstructured header (Subject, Message-ID…) as one line of text; "" when missing."""
        raw = self.first(name)
        if raw is None:
            return ""
        value = self.prepared(raw)
        if value.isascii() and "=?" not in value:
            text = value  # nothing encoded: the registry would return it unchanged
        elif len(value) <= REGISTRY_LIMIT:
            try:
                text = str(policy.default.header_factory(name, value))
            except Exception:
                text = words_decode(value)
        else:
            text = words_decode(value[: REGISTRY_LIMIT * 4])
        return clean_text(" ".join(text.split()))

    def addresses(self, name: str) -> list[Address]:
        raw = self.first(name)
        return self.address_list(name, raw) if raw else []

    def address_list(self, name: str, raw: str) -> list[Address]:
        value = comments_strip(self.prepared(raw)[:REGISTRY_LIMIT])
        if value.isascii() and "=?" not in value:
            # Nothing encoded: the plain address-list parser reads it the same, at a fraction of the
            # cost, and the plainest lists (most of them) are read by one expression, as it reads them.
            pairs = plain_addresses(value) or getaddresses([value])
            found = [Address(n, a) for n, a in pairs]
        else:
            found = self._registry_addresses(name, value)
        return [
            Address(" ".join(item.name.split())[:200], item.email.strip())
            for item in found
            if "@" in item.email and len(item.email) <= 320
        ]

    def _registry_addresses(self, name: str, value: str) -> list[Address]:
        try:
            header = policy.default.header_factory(name, value)
            found = [
                Address(clean_text(item.display_name), clean_text(item.addr_spec))
                for item in getattr(header, "addresses", ())
            ]
        except Exception:
            found = []
        return found or [Address(words_decode(n), a) for n, a in getaddresses([value])]

    def sender(self) -> Address | None:
        """The first From that holds a usable address (a garbage From may come first), else Sender."""
        for name in ("from", "sender"):
            for raw in self._values.get(name, [])[:10]:
                usable = [item for item in self.address_list(name, raw) if valid_address(item.email)]
                if usable:
                    return usable[0]
        return None


def _decodes(data: bytes, charset: str) -> bool:
    codec = superset(charset) if charset else ""
    if not codec:
        return False
    try:
        data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def words_decode(value: str) -> str:
    """Encoded words decoded one by one, each with its charset's superset; the value when it has none."""
    try:
        parts = decode_header(value)
    except Exception:
        return value
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset:
            out.append(bytes_decode(chunk, [charset, "utf-8"]))
        else:
            out.append(chunk.decode("raw-unicode-escape", "replace"))
    return "".join(out)


def comments_strip(value: str) -> str:
    """An address list without its RFC 5322 comments, which are no part of a display name.

    One old form is kept as a name: ``address (Full Name)``, with no name before the address, is how
    mail gave names before display names, and the comment is then the only name there is. A comment
    left open is a stray parenthesis, read as a space.
    """
    for _attempt in range(3):
        if "(" not in value:
            return value
        stripped, opened = _comments_strip(value)
        if opened < 0:
            return stripped
        value = f"{value[:opened]} {value[opened + 1 :]}"
    return value


def _comments_strip(value: str) -> tuple[str, int]:
    """The list without comments, and -1; or where a comment opens that never closes, and that."""
    items: list[str] = []
    current: list[str] = []
    comments: list[str] = []
    comment: list[str] = []
    depth, quoted, angled, escaped, opened = 0, False, False, False, -1
    for position, char in enumerate(value):
        if escaped:
            (comment if depth else current).append(char)
            escaped = False
        elif char == "\\" and (depth or quoted):
            (comment if depth else current).append(char)
            escaped = True
        elif depth:
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth:
                comment.append(char)
            else:
                comments.append("".join(comment))
                comment = []
                current.append(" ")
        elif quoted:
            current.append(char)
            quoted = char != '"'
        elif char == "(":
            depth, opened = 1, position
        elif char == "," and not angled:
            items.append(_item_of(current, comments))
            current, comments = [], []
        else:
            quoted = char == '"'
            angled = (angled or char == "<") and char != ">"
            current.append(char)
    if depth:
        return value, opened
    if quoted:
        return value, -1
    items.append(_item_of(current, comments))
    return ", ".join(item for item in items if item), -1


def _item_of(current: list[str], comments: list[str]) -> str:
    item = " ".join("".join(current).split())
    name = " ".join(" ".join(comments).replace("(", " ").replace(")", " ").split())
    if name and item and "<" not in item and " " not in item and "@" in item:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{item}>'
    return item
