"""Customer HTML made inert, and plain text derived from HTML when a mail has no text part."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import nh3

# Remote images are how newsletters and trackers see that a mail was opened: an agent opening a
# ticket must not report back, so only inline (cid:) and embedded (data:image/) images survive.
_IMAGE_SOURCES = ("cid:", "data:image/")
_LINK_SCHEMES = ("http:", "https:", "mailto:", "tel:")
_STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font-weight",
    "font-style",
    "font-size",
    "font-family",
    "text-align",
    "text-decoration",
    "vertical-align",
    "white-space",
    "border",
    "border-collapse",
    "padding",
    "margin",
    "width",
    "height",
}
_ATTRIBUTES = {
    **{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"style", "dir", "lang", "title"},
    "td": {*nh3.ALLOWED_ATTRIBUTES["td"], "valign", "width", "bgcolor"},
    "font": {"color", "face", "size"},
}


def _attribute_filter(tag: str, name: str, value: str) -> str | None:
    if tag == "img" and name == "src":
        return value if _starts_with(value, _IMAGE_SOURCES) else None
    if name == "href":
        return value if _starts_with(value, (*_LINK_SCHEMES, "#")) else None
    if name == "style" and "url(" in value.lower():
        return None
    return value


def _starts_with(value: str, prefixes: tuple[str, ...]) -> bool:
    # Only the head is lowered: an inline image's data: URI is often megabytes long.
    return value.lstrip()[:16].lower().startswith(prefixes)


_cleaner = nh3.Cleaner(
    tags={*nh3.ALLOWED_TAGS, "font"},
    clean_content_tags={"script", "style", "title", "head"},
    attributes=_ATTRIBUTES,
    attribute_filter=_attribute_filter,
    url_schemes={"http", "https", "mailto", "tel", "cid", "data"},
    link_rel="noopener noreferrer nofollow",
    filter_style_properties=_STYLE_PROPERTIES,
)
_REMOTE_IMAGE = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']?\s*https?:", re.IGNORECASE)


def html_sanitize(html: str) -> str:
    """Only inert markup: no scripts, handlers, forms, frames, javascript: links or remote images."""
    if not html.strip():
        return ""
    return _cleaner.clean(html).strip()


def remote_image_count(html: str) -> int:
    return len(_REMOTE_IMAGE.findall(html))


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
