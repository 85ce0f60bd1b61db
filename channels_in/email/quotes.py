"""Separating what the customer just wrote from the quoted history and the signature below it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from channels_in.email.splitter import splitter_read

# Italian first: most of our customers write Italian; English is always added by the parser.
DEFAULT_LANGUAGES = ("it", "en", "de", "fr", "es")
_QUOTED_LINE = re.compile(r"^\s*>")
# A reply sits at the top: past this many characters only pasted logs and long histories remain, and
# the splitter's regular expressions would spend their time there.
_SPLIT_LIMIT = 16_000


@dataclass(frozen=True)
class ReplySplit:
    reply: str  # the new text, signature included (what the customer's client shows above the quote)
    body: str  # the new text without the signature
    signature: str
    quoted: str  # everything below the new text


def _strip_quoted_lines(text: str) -> tuple[str, str]:
    """Drop ``>`` lines and the attribution line(s) just above each quoted block.

    Catches what header matching misses: bottom-posted replies (Thunderbird), attributions in
    languages the splitter does not know, and bare quotes with no "wrote:" line at all.
    """
    lines = text.splitlines()
    if not any(_QUOTED_LINE.match(line) for line in lines):
        return text, ""
    kept: list[str] = []
    quoted: list[str] = []
    for line in lines:
        if _QUOTED_LINE.match(line):
            if not quoted or not _QUOTED_LINE.match(quoted[-1]):
                _move_attribution(kept, quoted)
            quoted.append(line)
        else:
            kept.append(line)
    return "\n".join(kept).strip(), "\n".join(quoted).strip()


def _move_attribution(kept: list[str], quoted: list[str]) -> None:
    """Move the "On <date>, <name> wrote:" lines (up to two, ending in a colon) into the quote."""
    end = len(kept)
    while end and not kept[end - 1].strip():
        end -= 1
    if not end or not kept[end - 1].rstrip().endswith(":"):
        return
    start = end - 1
    while start > 0 and end - start < 2 and kept[start - 1].strip():
        start -= 1
    quoted.extend(kept[start:end])
    del kept[start:]


def reply_split(text: str, *, languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> ReplySplit:
    text = text.replace("\r\n", "\n")
    if not text.strip():
        return ReplySplit(reply="", body="", signature="", quoted="")
    if len(text) > _SPLIT_LIMIT:
        head = reply_split(text[:_SPLIT_LIMIT], languages=languages)
        if not head.quoted:
            return ReplySplit(reply=text.strip(), body=text.strip(), signature="", quoted="")
        return ReplySplit(head.reply, head.body, head.signature, head.quoted + text[_SPLIT_LIMIT:])
    message = splitter_read(text, languages)
    if not message.replies:
        return ReplySplit(reply=text.strip(), body=text.strip(), signature="", quoted="")
    latest = message.replies[0]
    reply, trailing = _strip_quoted_lines(latest.content)
    if not reply.strip() and len(message.replies) > 1:
        # A reply that is only a quote (a bare forward): the quoted mail is the content.
        return ReplySplit(reply=text.strip(), body=text.strip(), signature="", quoted="")
    signature = latest.signatures if latest.signatures and latest.signatures in reply else ""
    body = reply.replace(signature, "").strip() if signature else reply
    rest = "\n\n".join(part.content for part in message.replies[1:])
    quoted = "\n\n".join(part for part in (trailing, rest) if part)
    return ReplySplit(reply=reply.strip(), body=body or reply.strip(), signature=signature, quoted=quoted)
