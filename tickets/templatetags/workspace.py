"""Template helpers for the agent workspace: safe rendering of customer content, channel icons."""

from __future__ import annotations

import re

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from tickets.sanitize import html_for_page

register = template.Library()

CHANNEL_ICONS = {
    "email": "✉",
    "webchat": "⌂",
    "messenger": "ⓜ",
    "instagram": "◎",
    "whatsapp": "✆",
    "telegram": "✈",
    "x": "X",
    "api": "⇄",
}


def sanitize_html(html: str) -> str:
    """Customer HTML as the workspace shows it: the one inbound policy, applied again.

    Stored HTML is sanitized on the way in; rendering cleans again so that no row written by an older
    version or another path can ever reach an agent's browser unfiltered.
    """
    return html_for_page(html)


_QUOTE_INTRO = re.compile(r"^(on .+ wrote:|il giorno .+ ha scritto:|-----original message-----)\s*$", re.I)


def split_quoted(text: str) -> tuple[str, str]:
    """The new part of a plain-text message and the quoted history after it (may be empty)."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if _QUOTE_INTRO.match(stripped) or (
            stripped.startswith(">")
            and all(not rest.strip() or rest.lstrip().startswith(">") for rest in lines[index:])
        ):
            return "\n".join(lines[:index]).rstrip(), "\n".join(lines[index:])
    return text, ""


_BLOCKQUOTE = re.compile(r"<blockquote\b[^>]*>")


def collapse_quotes(clean_html: str) -> SafeString:
    """Fold quoted history (``<blockquote>``) of already sanitized HTML behind a click.

    Sanitized markup is well formed and escapes ``<`` and ``>`` inside attribute values, so every
    ``<blockquote`` is a tag and can be wrapped as it is; ``details`` is inert.
    """
    folded = _BLOCKQUOTE.sub(r'<details class="quoted"><summary>…</summary>\g<0>', clean_html)
    return mark_safe(folded.replace("</blockquote>", "</blockquote></details>"))  # noqa: S308 - see above


@register.simple_tag
def message_body(message: object) -> SafeString:
    """A message as agents read it: sanitized HTML, or escaped text with quoted history collapsed."""
    html = getattr(message, "html", "")
    if html:
        body = format_html('<div class="msg-html">{}</div>', collapse_quotes(sanitize_html(html)))
    else:
        new, quoted = split_quoted(getattr(message, "text", "") or "")
        body = format_html('<div class="msg-text">{}</div>', new)
        if quoted:
            body = format_html(
                '{}<details class="quoted"><summary>…</summary><div class="msg-text">{}</div></details>',
                body,
                quoted,
            )
    full = getattr(message, "full_text", "")
    if full and not html and full.strip() != (getattr(message, "text", "") or "").strip():
        body = format_html(
            '{}<details class="quoted"><summary>…</summary><div class="msg-text">{}</div></details>',
            body,
            full,
        )
    return body


@register.filter
def channel_icon(kind: str | None) -> SafeString:
    if not kind:
        return mark_safe("")
    return format_html(
        '<span class="ch ch-{}" title="{}" aria-label="{}">{}</span>',
        kind,
        kind,
        kind,
        CHANNEL_ICONS.get(kind, "•"),
    )


# Raster formats only: an SVG can carry script, and is offered as a download instead of shown.
PREVIEWABLE = {"image/png", "image/jpeg", "image/gif", "image/webp"}


@register.filter
def previewable(content_type: str) -> bool:
    return (content_type or "").split(";")[0].strip().lower() in PREVIEWABLE
