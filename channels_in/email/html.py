"""Plain text derived from HTML when a mail has no text part. (HTML itself is made inert by the one
inbound policy, ``tickets.sanitize``.)"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

_BLOCKS = {
    "p",
    "div",
    "br",
    "tr",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "table",
    "hr",
    "ul",
    "ol",
    "dd",
    "dt",
}
_SKIPPED = {"script", "style", "head", "title"}
_SPACES = re.compile(r"[ \t\r\f\v\xa0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._quote_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skip_depth += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        if tag == "blockquote":
            self._quote_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")
        if tag == "blockquote":
            self._quote_depth = max(0, self._quote_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        text = _SPACES.sub(" ", data.replace("\n", " "))
        if self._quote_depth:
            # Quoted history keeps the plain-text convention, so reply splitting sees it as quoted.
            text = text.replace("\n", "\n> ")
            if not self.parts or self.parts[-1].endswith("\n"):
                text = "> " * self._quote_depth + text.lstrip()
        self.parts.append(text)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body: blocks become lines, quotes become ``>`` lines."""
    collector = _TextCollector()
    try:
        collector.feed(html)
        collector.close()
    except (AssertionError, ValueError):
        # HTMLParser gives up on some malformed markup: keep what it read, plus the tag-stripped rest.
        collector.parts.append(unescape(re.sub(r"<[^>]*>", " ", html)))
    lines = [line.strip() for line in "".join(collector.parts).splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
