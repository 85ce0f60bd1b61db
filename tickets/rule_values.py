"""The values inside routing rules: each parser returns a value ready for matching, or raises
``Invalid`` with every problem naming its place (``all[2].value[0]: …``), so a rule that cannot be
used is refused when saved with messages an administrator can act on.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import re2
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy

REGEX_PATTERN_MAX_CHARS = 500
TAG_MAX_CHARS = 60  # Tag.name
PRIORITIES = (1, 2, 3, 4)
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*")
WORD = re.compile(r"\w+")
_T = TypeVar("_T")


def text_fold(value: str) -> str:
    """``value`` without case and accents: "Perché" and "PERCHE" both read "perche"."""
    if value.isascii():
        return value.lower()
    folded = _fold_once(value)
    # Casefolding can yield letters that decompose again (rare scripts): a second pass settles them.
    return folded if folded.isascii() else _fold_once(folded)


def _fold_once(value: str) -> str:
    return accents_dropped(unicodedata.normalize("NFKD", value)).casefold()


def accents_dropped(decomposed: str) -> str:
    return "".join(char for char in decomposed if not unicodedata.combining(char))


class Invalid(Exception):
    def __init__(self, *problems: str) -> None:
        super().__init__(*problems)
        self.problems = list(problems)


def problem(place: str, message: str, **values: object) -> str:
    try:
        return f"{place}: {message % values}"
    except (KeyError, TypeError, ValueError):  # a translation with a typo still names the place
        return f"{place}: {message} {values}"


def shown(value: object) -> str:
    """``value`` as a message quotes it: JSON for a scalar, its kind for a list or an object."""
    if isinstance(value, Mapping):
        return gettext("an object")
    if isinstance(value, list | tuple):
        return gettext("a list")
    shown = json.dumps(value, ensure_ascii=False, default=str)
    return shown if len(shown) <= 60 else shown[:59] + "…"


def each(
    value: object, place: str, parse: Callable[[object, str], _T], *, empty_ok: bool = False
) -> tuple[_T, ...]:
    if not isinstance(value, list | tuple):
        raise Invalid(problem(place, gettext("expected a list, got %(got)s"), got=shown(value)))
    if not value and not empty_ok:
        raise Invalid(problem(place, gettext("expected at least one value")))
    found: list[_T] = []
    problems: list[str] = []
    for index, item in enumerate(value):
        try:
            found.append(parse(item, f"{place}[{index}]"))
        except Invalid as invalid:
            problems.extend(invalid.problems)
    if problems:
        raise Invalid(*problems)
    return tuple(found)


def _parser(
    accepts: Callable[[Any], object], message: Promise, convert: Callable[[Any], _T]
) -> Callable[[object, str], _T]:
    def parse(value: object, place: str) -> _T:
        if not accepts(value):
            raise Invalid(problem(place, str(message), got=shown(value)))
        return convert(value)

    return parse


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def primary_language(code: str) -> str:
    return re.split(r"[-_]", code.strip(), maxsplit=1)[0].casefold()


text = _parser(_is_text, gettext_lazy("expected a non-empty string, got %(got)s"), str.strip)
folded = _parser(_is_text, gettext_lazy("expected a non-empty string, got %(got)s"), text_fold)
whole = _parser(
    lambda value: type(value) is int and value >= 1,
    gettext_lazy("expected a positive whole number, got %(got)s"),
    int,
)
priority = _parser(
    lambda value: type(value) is int and value in PRIORITIES,
    gettext_lazy("%(got)s is not one of 1, 2, 3, 4"),
    int,
)
boolean = _parser(
    lambda value: type(value) is bool, gettext_lazy("expected true or false, got %(got)s"), bool
)
open_closed = _parser(
    lambda value: value in ("open", "closed"),
    gettext_lazy('%(got)s is not one of "open", "closed"'),
    lambda value: value == "open",
)
_tag = _parser(
    lambda value: _is_text(value) and len(value.strip()) <= TAG_MAX_CHARS,
    gettext_lazy("expected a tag, a non-empty string of at most 60 characters, got %(got)s"),
    lambda value: value.strip().lower(),
)
language_code = _parser(
    lambda value: isinstance(value, str) and _LANGUAGE_TAG.fullmatch(value.strip()),
    gettext_lazy("expected a language code such as “it” or “en-GB”, got %(got)s"),
    primary_language,
)
phrase = _parser(
    lambda value: isinstance(value, str) and WORD.search(text_fold(value)),
    gettext_lazy("expected a word or phrase, with at least one letter or digit, got %(got)s"),
    lambda value: tuple(WORD.findall(text_fold(value))),
)


def tags(value: object, place: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(each(value, place, _tag, empty_ok=True)))


def regex(value: object, place: str) -> Any:
    if not isinstance(value, str) or not value:
        raise Invalid(problem(place, gettext("expected a regular expression, got %(got)s"), got=shown(value)))
    if len(value) > REGEX_PATTERN_MAX_CHARS:
        too_long = gettext("a regular expression has at most %(limit)s characters, this one %(length)s")
        raise Invalid(problem(place, too_long, limit=REGEX_PATTERN_MAX_CHARS, length=len(value)))
    # The text is searched folded, so the pattern loses its accents too; by NFD, not NFKD, since a
    # compatibility form can decompose into a metacharacter (a fullwidth parenthesis into "(").
    folded = accents_dropped(unicodedata.normalize("NFD", value))
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # a refused pattern is reported to whoever saves it, not to stderr
    try:
        return re2.compile(folded, options=options)
    except re2.error as error:
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        invalid = gettext("%(got)s is not a valid regular expression: %(error)s")
        raise Invalid(problem(place, invalid, got=shown(value), error=reason)) from None
