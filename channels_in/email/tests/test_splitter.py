"""The splitter's faster searches find exactly what the library's own expressions find."""

from __future__ import annotations

import time

import pytest
from mailparser_reply.parser import EmailMessage

from channels_in.email.quotes import DEFAULT_LANGUAGES, reply_split
from channels_in.email.splitter import _patterns, splitter_read
from channels_in.email.tests.mails import CORPUS

LANGUAGE_SETS = [
    DEFAULT_LANGUAGES,
    ("en",),
    ("it",),
    ("de", "nl", "sv", "da"),
    ("ja", "ko", "zh", "cs", "pl"),
]

# Blank-line runs, rules, quoted signatures, signatures on the first line, whitespace-only lines:
# the shapes the rewritten searches reason about.
EDGE_CASES = [
    "",
    "\n\n\n",
    "Thanks,\nAnna",
    "Hello\n\n\n\n\n\n\nBest regards,\nAnna\n",
    "Hello\n" + "\n" * 400 + "Sincerely,\nSales\n\nexample.com",
    "Hello\n \n\t\n\u00a0\n-- \nAnna\nACME",
    "Hello\n\n\n ________________________________\nFrom: a\nSent: b\n",
    "Hello\n\n--------------------------------------\nold",
    "Hello\n> quoted\n> -- \n> Anna\n\nMore\n-Bob",
    "- a list\n- of items\nnot a signature?",
    "Sent from my iPhone",
    "Hi\n\n\nInviato da iPhone\n\nIl giorno lun 3 feb 2025, Anna <a@b.it> ha scritto:\n> ciao",
    "Hi\n   \n   Best regards,\n   Bob   \n",
    "Hi\r\n\r\n\r\nGet Outlook for iOS\r\n",
    "x" * 5000 + "\n\n\n" + "Mit freundlichen Grüßen\nHans",
]


def _texts() -> list[str]:
    texts = list(EDGE_CASES)
    for path in sorted(CORPUS.rglob("*")):
        if path.is_file() and path.stat().st_size < 200_000:
            texts.append(path.read_bytes().decode("utf-8", "replace")[:20_000])
    return texts


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return _texts()


@pytest.mark.parametrize("languages", LANGUAGE_SETS, ids="-".join)
def test_header_and_signature_searches_match_the_library(
    languages: tuple[str, ...], texts: list[str]
) -> None:
    known, patterns = _patterns(languages)
    library = EmailMessage(text="", languages=list(known))
    signature = patterns["_signature"]
    assert signature is not None  # the library release we pin has the shape the rewrite knows
    for text in texts:
        # Both on the text as the splitter normalizes it and as it arrived.
        for candidate in (text, EmailMessage(text=text, languages=list(known)).text):
            expected = library.SIGNATURE_REGEX.search(candidate)
            assert signature.search(candidate) == (expected.group() if expected else ""), candidate[:200]
            headers = patterns["_header_regex"].findall(candidate)  # type: ignore[union-attr]
            assert headers == library.HEADER_REGEX.findall(candidate), candidate[:200]


def test_the_latest_reply_keeps_the_library_reading(texts: list[str]) -> None:
    known, _ = _patterns(DEFAULT_LANGUAGES)
    for text in texts:
        ours = splitter_read(text, DEFAULT_LANGUAGES)
        theirs = EmailMessage(text=text, languages=list(known)).read()
        assert [reply.content for reply in ours.replies] == [reply.content for reply in theirs.replies]
        assert ours.replies[0].signatures == theirs.replies[0].signatures


def test_a_long_run_of_blank_lines_costs_no_retries() -> None:
    # The library's signature expression retries every position of such a run: quadratic in its length.
    text = "Hello,\nthe invoice is attached." + "\n" * 2000 + "Best regards,\nAnna"
    known, patterns = _patterns(DEFAULT_LANGUAGES)
    signature = patterns["_signature"]
    assert signature is not None
    library = EmailMessage(text="", languages=list(known)).SIGNATURE_REGEX

    began = time.process_time()
    ours = signature.search(text)
    ours_seconds = time.process_time() - began
    began = time.process_time()
    theirs = library.search(text)
    theirs_seconds = time.process_time() - began

    assert theirs is not None and ours == theirs.group() == "Best regards,\nAnna"
    assert ours_seconds * 20 < theirs_seconds
    split = reply_split(text)
    assert (split.body, split.signature) == ("Hello,\nthe invoice is attached.", "Best regards,\nAnna")
