"""Values inside routing rules: RE2 patterns (linear time, bounded input) and accent folding."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from django.utils import translation
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tickets.routing_rules import REGEX_INPUT_MAX_CHARS, rule_errors, text_fold
from tickets.tests.test_routing_rules import cond, decide


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    # The problems are asserted as worded in English; the default language (Italian) has them too.
    with translation.override("en"):
        yield


def test_a_pattern_searches_only_the_first_part_of_a_long_text() -> None:
    rule = ("ref", {"all": [cond("text", "matches", r"rif\. \d{1,6}")]}, {"team": 1})
    padding = "x" * (REGEX_INPUT_MAX_CHARS - 20)
    assert decide(rule, text=padding + " rif. 123").team_id == 1
    assert decide(rule, text=padding + "y" * 40 + " rif. 123").team_id is None
    # Words are not capped: they cost linear time.
    words = ("ref", {"all": [cond("text", "contains_any", ["rif"])]}, {"team": 1})
    assert decide(words, text=padding * 20 + " rif. 123").team_id == 1


@pytest.mark.timeout(30)  # a backtracking engine would not end: fail, don't hang the suite
@pytest.mark.parametrize(
    "pattern",
    [
        r".*x",
        r"ordine.*\d",
        r"[a-z]{1,30}@[a-z]{1,20}\.[a-z]{2,6}",
        r"\bfattura\b.*scadut[ao]",
        # Exponential or polynomial for a backtracking engine; linear for RE2.
        r"(a+)+$",
        r"(a|aa)*b",
        r".*.*.*x",
        r"a*a*a*a*a*b",
        r"ordine\s*n\.?\s*\d+",
    ],
)
def test_any_accepted_pattern_answers_quickly_on_a_hostile_text(pattern: str) -> None:
    assert rule_errors(conditions={"all": [cond("text", "matches", pattern)]}, actions={}) == {}
    rule = ("hostile", {"all": [cond("subject_or_text", "matches", pattern)]}, {"team": 1})
    hostile = ("a" * 200 + "ordine fattura " + "1" * 200) * 2_000

    started = time.perf_counter()
    decide(rule, subject=hostile, text=hostile)
    assert time.perf_counter() - started < 2.0


def test_a_nested_repetition_matches_what_it_says() -> None:
    rule = ("order", {"all": [cond("text", "matches", r"ordine\s*n\.?\s*\d+")]}, {"team": 1})
    assert decide(rule, text="Il mio ORDINE n. 12345 non è arrivato").team_id == 1
    assert decide(rule, text="Il mio ordine non è arrivato").team_id is None


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"(a)\1", "not a valid regular expression: invalid escape sequence"),
        (r"fattura(?=\d)", "not a valid regular expression"),
        ("(" * 3 + "a", "not a valid regular expression: missing )"),
        ("x" * 501, "at most 500 characters"),
    ],
)
def test_a_pattern_that_cannot_be_used_is_refused_saying_why(pattern: str, why: str) -> None:
    errors = rule_errors(conditions={"all": [cond("text", "matches", pattern)]}, actions={})
    assert list(errors) == ["conditions"]
    assert len(errors["conditions"]) == 1
    assert errors["conditions"][0].startswith("all[0].value: ")
    assert why in errors["conditions"][0]


@pytest.mark.parametrize(
    ("given_text", "folded"),
    [
        ("FATTURA", "fattura"),
        ("Perché", "perche"),
        ("CITTÀ", "citta"),
        ("ﬁne", "fine"),
        ("Straße", "strasse"),
    ],
)
def test_folding_drops_case_and_accents(given_text: str, folded: str) -> None:
    assert text_fold(given_text) == folded


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_folding_twice_changes_nothing(value: str) -> None:
    once = text_fold(value)
    assert text_fold(once) == once


_LETTERS = st.characters(categories=["Lu", "Ll"])
_SEPARATORS = st.text(
    alphabet=st.one_of(
        st.characters(categories=["Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Zs"]), st.sampled_from("\n\t")
    ),
    min_size=1,
)


@settings(max_examples=300, deadline=None)
@given(word=st.text(alphabet=_LETTERS, min_size=1, max_size=12), before=_SEPARATORS, after=_SEPARATORS)
def test_a_word_matches_wherever_punctuation_and_spaces_surround_it(
    word: str, before: str, after: str
) -> None:
    assume(re.search(r"\w", text_fold(word)))  # a letter may fold to no letter at all
    rule = ("word", {"all": [cond("text", "contains_all", [word])]}, {"team": 1})
    assert decide(rule, text=f"{before}{word}{after}").team_id == 1
    assume(text_fold(word.upper()) == text_fold(word))  # not so for a few letters, as Turkish dotless i
    assert decide(rule, text=f"{before}{word.upper()}{after}").team_id == 1
    assert decide(rule, text=f"{before}x{word}{after}").team_id is None
