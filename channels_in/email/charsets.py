"""Charsets as mail clients read them: a label names its superset, 8-bit headers are guessed.

Senders label text with the name of a small standard charset and write the bytes of the vendor
charset that extends it (GBK labelled GB2312, CP949 labelled ks_c_5601-1987, Windows-1252 labelled
ISO-8859-1…). Decoding with the label's own codec turns every character outside the small set into
junk, so every reader (browsers by the WHATWG Encoding Standard, mail clients likewise) decodes with
the superset, which reads the small set's bytes the same.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

# By the codec Python resolves a label to, so every alias of the label is covered.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
    "iso8859-1": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
}
# Labels seen in mail that Python does not know.
_UNKNOWN_LABELS = {
    "gb_2312-80": "gb18030",
    "x-gbk": "gb18030",
    "x-sjis": "cp932",
    "windows-874": "cp874",
    "ks_c_5601": "cp949",
}
_WORD_LABEL = re.compile(r"=\?([^?*\s]{1,40})((?:\*[^?\s]*)?\?[bBqQ]\?)")
# Wide encodings are never in a header (their bytes hold NULs); detection must not pick them.
_NOT_IN_HEADERS = ["utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le", "utf_7"]


def superset(label: str) -> str:
    """The codec to read text labelled ``label`` with ("" for a label no codec knows)."""
    label = label.strip().strip('"').lower()
    if label in _UNKNOWN_LABELS:
        return _UNKNOWN_LABELS[label]
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError):
        return ""
    return _SUPERSETS.get(name, name)


def words_widen(value: str) -> str:
    """Encoded words (RFC 2047) relabelled with the superset of their charset."""
    if "=?" not in value:
        return value
    return _WORD_LABEL.sub(_word_relabel, value)


def _word_relabel(found: re.Match[str]) -> str:
    wider = superset(found.group(1))
    return f"=?{wider or found.group(1)}{found.group(2)}"


def mostly_utf8(data: bytes) -> str | None:
    """``data`` as UTF-8 when little of it is not: text cut inside a character, a stray byte."""
    text = data.decode("utf-8", "replace")
    broken = text.count("\ufffd")
    whole = sum(1 for char in text if ord(char) > 0x7F) - broken
    return text if whole and whole >= 4 * broken else None


def bytes_decode(data: bytes, charsets: list[str]) -> str:
    """``data`` read strictly with the first of ``charsets`` that reads it, else as UTF-8 where it
    mostly is, else as Windows-1252 (which reads any byte)."""
    for charset in charsets:
        codec = superset(charset) if charset else ""
        if not codec:
            continue
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return mostly_utf8(data) or data.decode("cp1252", "replace")


def detected(data: bytes) -> str:
    """The charset ``charset-normalizer`` finds most likely for ``data`` ("" when it finds none)."""
    try:
        best = from_bytes(data, cp_exclusion=_NOT_IN_HEADERS).best()
    except Exception:  # a detector bug must not cost the mail
        return ""
    return best.encoding if best is not None else ""
