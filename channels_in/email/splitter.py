"""The reply splitter (``mail-parser-reply``) with its expressions built once and searched cheaply.

``quotes.reply_split`` reads a mail's text with the library's ``EmailMessage``. Its expressions are
correct but slow in two ways: they are rebuilt for every mail, and the header and signature
expressions try a dozen alternatives at every character (the signature's ``\\s*^`` alternatives
retry each position of a run of blank lines, quadratic in its length). Here they are searched where
a match can start, with the same results; each rewrite is checked against the library's own
expression and, should a new release change it, the library's expression is used as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from mailparser_reply.constants import (
    DEFAULT_SIGNATURE_REGEX,
    GENERIC_MAIL_SEPARATOR,
    MAIL_LANGUAGES,
    OUTLOOK_MAIL_SEPARATOR,
)
from mailparser_reply.parser import EmailMessage

# Every reply header starts a line (``^``) or at the newline before one: the same expression tried
# only there finds the same headers.
_LINE_ANCHORED = ("^", "((?:(?:^|\\n|")
_AT_LINE = r"(?:\A|(?<=\n)|(?=\n))"
_WHITESPACE_THEN_LINE = r"\s*^"
_SIGNATURE_REST = r")(.|\s)*)"
_LATER_LINE = r"|(?<!\A)^"


def _header_pattern(sample: EmailMessage) -> re.Pattern[str]:
    pattern = sample.HEADER_REGEX
    parts = [
        sample._get_language_regex(language=code, regex_key=key)
        for key in ("wrote_header", "from_header")
        for code in sample.languages
    ]
    if all(part.startswith(_LINE_ANCHORED) for part in [*parts, GENERIC_MAIL_SEPARATOR] if part):
        return re.compile(f"{_AT_LINE}(?:{pattern.pattern})", pattern.flags)
    return pattern


@dataclass(frozen=True)
class _Signature:
    """Where the library's signature expression first matches, found without its slow retries.

    That expression is ``((A|B|C|D)(.|\\s)*)``: its match runs from the first position where one of
    A-D matches to the end of the text. A and C are ``\\s*^X``: they match at a position when a run of
    whitespace from it reaches a line start where X matches, so their first match is the start of
    the whitespace run before the first line where X matches. B is a run of newlines then a rule:
    its first match is the start of such a run, which a possessive run finds without retrying.
    """

    at_line: re.Pattern[str]  # ^X of A and C
    elsewhere: re.Pattern[str]  # B and D

    @classmethod
    def of_pattern(cls, pattern: re.Pattern[str]) -> _Signature | None:
        text = pattern.pattern
        head = f"(({DEFAULT_SIGNATURE_REGEX}|{OUTLOOK_MAIL_SEPARATOR}|"
        later = text.find(_LATER_LINE, len(head))
        first, third = DEFAULT_SIGNATURE_REGEX, text[len(head) : later]
        shaped = (
            text.startswith(head)
            and text.endswith(_SIGNATURE_REST)
            and later > 0
            and first.startswith(_WHITESPACE_THEN_LINE)
            and third.startswith(_WHITESPACE_THEN_LINE)
            and OUTLOOK_MAIL_SEPARATOR == r"(\n{2,} ?[_-]{32,})"  # the rule B the rewrite below knows
        )
        if not shaped:
            return None
        fourth = text[later + 1 : -len(_SIGNATURE_REST)]
        skip = len(_WHITESPACE_THEN_LINE) - 1  # keep the ``^``
        return cls(
            at_line=re.compile(f"{first[skip:]}|{third[skip:]}", pattern.flags),
            elsewhere=re.compile(rf"(?<!\n)\n{{2,}}+ ?[_-]{{32,}}|{fourth}", pattern.flags),
        )

    def search(self, text: str) -> str:
        starts = []
        found = self.at_line.search(text)
        if found:
            start = found.start()
            while start and text[start - 1].isspace():  # what ``\s*`` matches, back to the run's start
                start -= 1
            starts.append(start)
        found = self.elsewhere.search(text)
        if found:
            starts.append(found.start())
        return text[min(starts) :] if starts else ""


@dataclass
class _LatestReplyReading(EmailMessage):
    """The splitter, reading only what ``reply_split`` uses: the latest reply's signature.

    The library searches every reply of the thread for its signature and disclaimers.
    """

    _signature: _Signature | None = None

    def _process_signatures_disclaimers(self, text: str) -> tuple[list[str], str]:
        if self.replies:  # the latest (first non-empty) reply is already read
            return [], ""
        if self._signature is not None:
            return [], self._signature.search(text)
        found = self.SIGNATURE_REGEX.search(text)
        return [], found.group() if found else ""


@lru_cache(maxsize=8)
def _patterns(languages: tuple[str, ...]) -> tuple[list[str], dict[str, object]]:
    known = [code for code in languages if code in MAIL_LANGUAGES] or ["en"]
    sample = EmailMessage(text="", languages=list(known))
    return known, {
        "_header_regex": _header_pattern(sample),
        "_disclaimers_regex": sample.DISCLAIMERS_REGEX,
        "_signature_regex": sample.SIGNATURE_REGEX,
        "_signature": _Signature.of_pattern(sample.SIGNATURE_REGEX),
    }


def splitter_read(text: str, languages: tuple[str, ...]) -> EmailMessage:
    """The library's reading of ``text``: its replies, the latest one's signature included."""
    known, patterns = _patterns(languages)
    return _LatestReplyReading(text=text, languages=list(known), **patterns).read()  # type: ignore[arg-type]
