"""File names as every attachment gets them: what a name shows is what the file is."""

from __future__ import annotations

import pytest

from tickets.sanitize import filename_clean


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("ricevuta.pdf", "ricevuta.pdf"),
        ("report\u202egnp.exe", "reportgnp.exe"),
        ("\u2067photo\u2069.png\u200f.exe", "photo.png.exe"),
        ("inv\u202aoice\u202c\u202b\u202d.pdf\u200e", "invoice.pdf"),
        ("a\x00b\x1fc\x7f.txt", "abc.txt"),
        ("line\nbreak\r.txt", "linebreak.txt"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\giulia\\fattura.pdf", "fattura.pdf"),
        (".htaccess", "htaccess"),
        ("...hidden.png", "hidden.png"),
        ("cafe\u0301.txt", "café.txt"),  # NFC: one é, not e and a combining accent
        ("  spazi.txt  ", "spazi.txt"),
        ("", "attachment"),
        ("\u202e", "attachment"),
        ("../", "attachment"),
    ],
)
def test_names_are_normalised(given: str, kept: str) -> None:
    assert filename_clean(given) == kept


def test_a_long_name_is_cut_keeping_its_extension() -> None:
    cleaned = filename_clean("x" * 400 + ".pdf")
    assert len(cleaned) == 255 and cleaned.endswith("x.pdf")
    assert filename_clean("y" * 400) == "y" * 255
    assert filename_clean("a." + "z" * 300) == ("a." + "z" * 300)[:255]


def test_deeply_nested_html_costs_time_in_proportion_to_its_size() -> None:
    import time

    from tickets.sanitize import HTML_MAX_NESTING, html_sanitize

    # A megabyte of nested elements, well under the inbound size limit.
    bomb = "<div>" * 100_000 + "deep" + "</div>" * 100_000
    started = time.process_time()
    cleaned = html_sanitize(bomb)
    spent = time.process_time() - started

    assert "deep" in cleaned
    assert cleaned.count("<div>") <= HTML_MAX_NESTING
    assert spent < 5


def test_html_within_the_nesting_bound_keeps_its_structure() -> None:
    from tickets.sanitize import html_sanitize

    html = "<blockquote>" * 20 + "<p>citato</p>" + "</blockquote>" * 20
    assert html_sanitize(html) == html
