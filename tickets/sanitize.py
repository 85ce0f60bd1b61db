"""The one sanitizing policy for customer HTML, whichever channel it came through.

Every inbound path (email, the API channel, web chat, any later channel) stores only what
``html_sanitize`` returns, and the workspace cleans again with the same policy when it shows a message,
so a row written by an older version or another path meets the same rules. Markup stays readable
(structure, emphasis, tables, safe inline styles); nothing runs and nothing is loaded from elsewhere.
"""

from __future__ import annotations

import re
import unicodedata

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


def _cleaner_of(*, styles: bool) -> nh3.Cleaner:
    attributes = dict(_ATTRIBUTES)
    if not styles:
        attributes["*"] = attributes["*"] - {"style"}
    return nh3.Cleaner(
        tags={*nh3.ALLOWED_TAGS, "font"},
        clean_content_tags={"script", "style", "title", "head"},
        attributes=attributes,
        attribute_filter=_attribute_filter,
        url_schemes={"http", "https", "mailto", "tel", "cid", "data"},
        link_rel="noopener noreferrer nofollow",
        filter_style_properties=_STYLE_PROPERTIES if styles else None,
    )


_cleaner = _cleaner_of(styles=True)
# The workspace's Content-Security-Policy refuses inline style, so pages get no style attributes.
_page_cleaner = _cleaner_of(styles=False)
_REMOTE_IMAGE = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']?\s*https?:", re.IGNORECASE)


# Elements nested deeper than this lose their tags (their text stays): the HTML parser's cost grows with
# the square of the depth, and no real message nests this deep.
HTML_MAX_NESTING = 100
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)\b[^<>]*?(/?)>")
_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()  # noqa: SIM905
)


def _nesting_bounded(html: str) -> str:
    """``html`` without the tags that stand deeper than ``HTML_MAX_NESTING``, in one linear pass.

    Only ever removes tags, and the sanitizer still reads the result, so a tag the removal happens to
    form is cleaned like any other.
    """
    depth = 0
    kept: list[str] = []
    start = 0
    for tag in _TAG.finditer(html):
        closing, name, self_closing = tag.group(1), tag.group(2).lower(), tag.group(3)
        if name in _VOID or self_closing:
            continue
        if closing:
            drop = depth > HTML_MAX_NESTING
            depth = max(depth - 1, 0)
        else:
            depth += 1
            drop = depth > HTML_MAX_NESTING
        if drop:
            kept.append(html[start : tag.start()])
            start = tag.end()
    if not kept:
        return html
    kept.append(html[start:])
    return "".join(kept)


def html_sanitize(html: str) -> str:
    """Only inert markup: no scripts, handlers, forms, frames, ``javascript:`` links, and no image that
    would be fetched from elsewhere (remote, protocol-relative or relative ``src``)."""
    if not html.strip():
        return ""
    return _cleaner.clean(_nesting_bounded(html)).strip()


def html_for_page(html: str) -> str:
    """Stored HTML as the workspace shows it: the same policy, without inline style attributes."""
    if not html.strip():
        return ""
    return _page_cleaner.clean(_nesting_bounded(html)).strip()


def remote_image_count(html: str) -> int:
    return len(_REMOTE_IMAGE.findall(html))


FILENAME_MAX = 255
# An extension is kept whole when a long name is cut, unless it is itself absurdly long.
_EXTENSION_MAX = 16


def filename_clean(name: str) -> str:
    """The name an attachment is stored and shown under, whichever way it arrived.

    NFC, so one name has one spelling; no control or format characters (U+202E would show
    ``report\u202egnp.exe`` as ``reportexe.png``); no directories; no leading dots (a hidden file);
    at most ``FILENAME_MAX`` characters, cut before the extension so the type it shows stays the one it is.
    """
    text = unicodedata.normalize("NFC", name)
    # Cc: control characters; Cf: format ones, the bidirectional overrides and isolates among them.
    text = "".join(char for char in text if unicodedata.category(char) not in ("Cc", "Cf"))
    text = re.split(r"[/\\]", text)[-1].strip().lstrip(".").strip()
    if not text:
        return "attachment"
    if len(text) <= FILENAME_MAX:
        return text
    stem, dot, extension = text.rpartition(".")
    if not dot or not stem or len(extension) > _EXTENSION_MAX:
        return text[:FILENAME_MAX]
    return stem[: FILENAME_MAX - len(extension) - 1] + "." + extension
