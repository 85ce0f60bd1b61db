"""The quick reading of plain address lists gives exactly what ``getaddresses`` gives."""

from __future__ import annotations

import email
import itertools
import os
from email.utils import getaddresses
from pathlib import Path

import pytest

from channels_in.email.addresses import plain_addresses
from channels_in.email.parse import clean_text, header_map
from channels_in.email.tests.mails import CORPUS

ADDRESS_HEADERS = ("from", "sender", "reply-to", "to", "cc", "bcc", "delivered-to", "x-original-to")

ITEMS = [
    "a@b.com",
    "First.Last+tag@mail.example.co.uk",
    "John Doe <j.d@x.org>",
    "John<a@b>",
    '"Doe, John" <j@x.it>',
    '"" <a@b>',
    "<a@b>",
    "John Q. Public <jqp@x.com>",
    "Mr. <a@b>",
    "a@b.",
    "Name (comment) <a@b>",
    '"a\\"b" <c@d>',
    '"x" y <a@b>',
    "undisclosed-recipients:;",
    "a@[1.2.3.4]",
    "A B C@d",
    "@b",
    "a@",
    "x",
    "",
    "<@route.example:a@b>",
    "a@b <c@d>",
    "  spaced   name  \r\n\t<s@n.example>  ",
]


def _corpus_values() -> list[str]:
    paths = [path for path in CORPUS.rglob("*") if path.is_file()]
    try:
        import test

        paths += (Path(os.path.dirname(test.__file__)) / "test_email" / "data").glob("msg_*.txt")
    except ImportError:
        pass
    values = []
    for path in paths:
        heads = header_map(email.message_from_bytes(path.read_bytes()))
        values += [clean_text(heads[name]) for name in ADDRESS_HEADERS if name in heads]
    return values


def _agree(value: str) -> None:
    quick = plain_addresses(value)
    assert quick is None or quick == getaddresses([value]), value


def test_corpus_address_headers() -> None:
    values = [value for value in _corpus_values() if value.isascii() and "=?" not in value]
    assert len(values) > 300
    for value in values:
        _agree(value)
    # Most real lists take the quick path: otherwise it would not be worth having.
    assert sum(plain_addresses(value) is not None for value in values) > len(values) / 2


@pytest.mark.parametrize("separator", [",", ", ", " ,\r\n\t", ",,"])
def test_lists_of_every_shape(separator: str) -> None:
    for first, second in itertools.product(ITEMS, repeat=2):
        _agree(first + separator + second)
        _agree(first + separator)
    for item in ITEMS:
        _agree(item)
