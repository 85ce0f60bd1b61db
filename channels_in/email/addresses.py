"""Plain address lists read by one expression, as ``email.utils.getaddresses`` reads them.

``getaddresses`` walks a header character by character in Python; most real lists are plain
(``a@b``, ``Name <a@b>``, ``"Quoted, Name" <a@b>``) and one expression reads those. Anything else
(comments, groups, routes, escapes, empty items, domain literals) is left to ``getaddresses``.
"""

from __future__ import annotations

import re

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
