"""Plain address lists read by one expression, as ``email.utils.getaddresses`` reads them.

``getaddresses`` walks a header character by character in Python; most real lists are plain
(``a@b``, ``Name <a@b>``, ``"Quoted, Name" <a@b>``) and one expression reads those. Anything else
(comments, groups, routes, escapes, empty items, domain literals) is left to ``getaddresses``.
"""

from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_PLAIN_WORD = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+"
# One list item: ``a@b``, ``<a@b>``, ``Name Words <a@b>`` or ``"Quoted, Name" <a@b>``, then a comma
# or the end. Anything else (comments, groups, routes, escapes, empty items) goes to getaddresses.
_PLAIN_ITEM = re.compile(
    rf"""[ \t\r\n]*(?:
        (?P<bare>{_PLAIN_ADDRESS})
        |(?:"(?P<quoted>[^"\\\r\n]*)"|(?P<words>{_PLAIN_WORD}(?:[ \t\r\n]+{_PLAIN_WORD})*))?
         [ \t\r\n]*<(?P<angle>{_PLAIN_ADDRESS})>
    )[ \t\r\n]*(?:,|\Z)""",
    re.VERBOSE,
)


def plain_addresses(raw: str) -> list[tuple[str, str]] | None:
    """``getaddresses([raw])`` for the plainest address lists; None for anything else."""
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(raw):
        item = _PLAIN_ITEM.match(raw, position)
        if item is None or item.end() == position:
            return None
        if item["bare"]:
            found.append(("", item["bare"]))
        else:
            name = item["quoted"] if item["quoted"] is not None else " ".join((item["words"] or "").split())
            found.append((name, item["angle"]))
        position = item.end()
        if raw[position - 1] == "," and not raw[position:].strip():
            return None  # a trailing comma: an empty item, which getaddresses reads its own way
    return found or None


# --- Deliverable addresses: the only ones a contact identity may hold ---------------------------------

# Characters a display name written without quotes cannot hold (they belong to address syntax).
_NAME_SPECIALS = frozenset('@<>,;:"[]\\')
_EMAIL_VALIDATOR = EmailValidator()
_MAX_ADDRESS = 254  # RFC 5321's limit on a path: longer, no server will take it as a recipient


def email_address_valid(value: str) -> bool:
    """Whether ``value`` is one address a reply can be sent to, as Django's ``EmailValidator`` judges.

    Whitespace is refused even inside a quoted local part: ``"Test test"@example.com`` is what a
    parser makes of ``Test test@example.com``, never a real mailbox. Non-ASCII letters in the local
    part (RFC 6531) are judged as letters, since Django's validator reads only ASCII there.
    """
    if not value or len(value) > _MAX_ADDRESS or any(char.isspace() for char in value):
        return False
    local, at, domain = value.rpartition("@")
    ascii_local = "".join(char if char.isascii() else "a" for char in local)
    try:
        _EMAIL_VALIDATOR(f"{ascii_local}{at}{domain}")
    except ValidationError:
        return False
    return True


def mailbox_repair(text: str) -> tuple[str, str] | None:
    """``Name name@example.com`` (a display name without its angle brackets) as (name, address).

    Only when unambiguous: the last word is a valid address and every word before it is plain name,
    with no address syntax; anything else is None.
    """
    *name_words, last = text.split() or [""]
    if not name_words or not email_address_valid(last):
        return None
    if any(char in _NAME_SPECIALS for word in name_words for char in word):
        return None
    return " ".join(name_words), last


def header_text(raw: bytes, name: str) -> str:
    """One header of a raw mail, its encoded words decoded; read from the header block alone."""
    value = BytesHeaderParser(policy=compat32).parsebytes(raw).get(name)
    if value is None:
        return ""
    try:
        text = str(make_header(decode_header(str(value))))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        text = str(value)
    return " ".join(text.split())
