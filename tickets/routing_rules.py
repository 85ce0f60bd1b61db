"""Routing rules: the team, priority, tags, SLA policy and agent a ticket gets (ARCHITECTURE §8).

Conditions ``{"all": [cond, ...], "any": [cond, ...]}`` (every ``all`` holds and, if ``any`` is
given, one of it; none match everything), each cond ``{"field": F, "op": OP, "value": V}``; actions
``{"team", "priority", "tags", "sla_policy", "assignee", "spam", "continue"}``. Rules are tried in
order and the first that matches ends the search unless it says ``"continue": true``; of the rules
that matched, the first to set an action keeps it, and tags add up. A condition on a fact that is
unknown (no language detected, no calendar, no channel account) does not hold, whatever its operator.

Words and phrases match whole, ignoring case and accents (``text_fold``), across any run of spaces
and punctuation. ``matches`` takes a regular expression in RE2's syntax (``google-re2``): RE2 matches in
time linear in the text, so no pattern an administrator writes can hang ingest the way a backtracking
engine's ``(a+)+$`` or ``.*.*x`` would; what it gives up (backreferences, look-arounds) is refused when
the rule is saved. A pattern still searches only the first ``REGEX_INPUT_MAX_CHARS`` characters of the
subject and of the text, which bounds a rule's cost per message.
``rules_compile`` skips, with a warning, a rule that is invalid anyway (saved before validation
existed): a bad rule never stops ingest. Nothing here touches the database.
"""

from __future__ import annotations

import logging
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext

from tickets import rule_values as values
from tickets.reasons import Reason
from tickets.rule_values import text_fold

if TYPE_CHECKING:
    from tickets.models import RoutingRule

logger = logging.getLogger(__name__)

# Two pages of mail, where an order number or a reference is found.
REGEX_INPUT_MAX_CHARS = 5_000


@dataclass(frozen=True, kw_only=True)
class RoutingFacts:
    """What rules look at, gathered by the caller from the message, its ticket and its contact."""

    channel_kind: str
    channel_account_id: int | None
    subject: str
    text: str
    language: str  # "it", "en-GB"; "" when unknown
    contact_tags: frozenset[str]
    contact_tier: str
    contact_attributes: Mapping[str, str] = field(hash=False)
    priority: int  # 1 low ... 4 urgent
    in_business_hours: bool | None  # None when no calendar applies


@dataclass(frozen=True)
class RuleActions:
    team_id: int | None = None
    priority: int | None = None
    sla_policy_id: int | None = None
    assignee_id: int | None = None
    spam: bool | None = None
    tags: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    continue_: bool = False


Predicate = Callable[["_Seen"], bool]


@dataclass(frozen=True)
class CompiledConditions:
    all: tuple[Predicate, ...] = ()
    any: tuple[Predicate, ...] = ()

    def test(self, seen: _Seen) -> bool:
        held = all(check(seen) for check in self.all)
        return held and (not self.any or any(check(seen) for check in self.any))


@dataclass(frozen=True)
class CompiledRule:
    rule_id: int
    name: str
    conditions: CompiledConditions
    actions: RuleActions


@dataclass(frozen=True)
class RoutingDecision:
    """What the rules decided: None or empty where no rule that matched set it."""

    team_id: int | None = None
    priority: int | None = None
    tags: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    sla_policy_id: int | None = None
    assignee_id: int | None = None
    spam: bool | None = None
    reasons: tuple[Reason, ...] = ()
    matched_rule_ids: tuple[int, ...] = ()  # each rule whose conditions held, whether it set anything


def rule_errors(*, conditions: object, actions: object) -> dict[str, list[str]]:
    """Every problem of a rule about to be saved, under "conditions" and "actions"; empty when valid."""
    found = {"conditions": _conditions_compile(conditions)[1], "actions": _actions_compile(actions)[1]}
    return {key: problems for key, problems in found.items() if problems}


def rules_compile(rules: Iterable[tuple[int, str, object, object]]) -> tuple[CompiledRule, ...]:
    """Rules ``(id, name, conditions, actions)``, in evaluation order, ready to evaluate.

    Meant for rules that passed ``rule_errors``; any other is left out with a warning, never raised.
    """
    compiled: list[CompiledRule] = []
    for rule_id, name, conditions, actions in rules:
        try:
            tests, problems = _conditions_compile(conditions)
            effects, more = _actions_compile(actions)
            problems += more
        except Exception as error:  # a bug of ours must not stop ingest either
            tests, effects, problems = None, None, [repr(error)]
        if tests is None or effects is None:
            logger.warning("routing rule %s %r skipped: %s", rule_id, name, "; ".join(problems))
            continue
        compiled.append(CompiledRule(rule_id=rule_id, name=name, conditions=tests, actions=effects))
    return tuple(compiled)


def rules_compile_stored(*, rules: Iterable[RoutingRule]) -> tuple[CompiledRule, ...]:
    """Saved rules, in their order, compiled as ``rules_compile`` does; inactive ones are left out."""
    return rules_compile((rule.id, rule.name, rule.conditions, rule.actions) for rule in rules if rule.active)


def rules_evaluate(*, rules: Sequence[CompiledRule], facts: RoutingFacts) -> RoutingDecision:
    """What ``rules``, tried in order, decide for the message that ``facts`` describe."""
    seen = _Seen(facts)
    chosen: dict[str, Any] = {}  # action: value, as RuleActions and RoutingDecision name it
    tags: list[str] = []
    skills: list[str] = []
    reasons: list[Reason] = []
    matched: list[int] = []
    for rule in rules:
        if not _holds(rule, seen):
            continue
        matched.append(rule.rule_id)
        for action, attribute in _SINGLE_ACTIONS:
            value = getattr(rule.actions, attribute)
            if value is not None and attribute not in chosen:
                chosen[attribute] = value
                reasons.append(_rule_reason(rule, action, value))
        added = [tag for tag in rule.actions.tags if tag not in tags]
        if added:
            tags.extend(added)
            reasons.append(_rule_reason(rule, "tags", ", ".join(added)))
        needed = [skill for skill in rule.actions.skills if skill not in skills]
        if needed:
            skills.extend(needed)
            reasons.append(_rule_reason(rule, "skills", ", ".join(needed)))
        if not rule.actions.continue_:
            break
    return RoutingDecision(
        **chosen,
        tags=tuple(tags),
        skills=tuple(skills),
        reasons=tuple(reasons),
        matched_rule_ids=tuple(matched),
    )


def _holds(rule: CompiledRule, seen: _Seen) -> bool:
    try:
        return rule.conditions.test(seen)
    except Exception:
        # Facts of an unexpected shape must not keep a ticket from being filed: the rule just misses.
        logger.warning("routing rule %s %r failed on a message", rule.rule_id, rule.name, exc_info=True)
        return False


def _rule_reason(rule: CompiledRule, action: str, value: str | int) -> Reason:
    return Reason(
        "routing.rule", {"rule_id": rule.rule_id, "rule": rule.name, "action": action, "value": value}
    )


class _Seen:
    """The facts as rules compare them, each folded once per message and only if a rule asks."""

    def __init__(self, facts: RoutingFacts) -> None:
        self.facts = facts

    @cached_property
    def subject(self) -> str:
        return text_fold(self.facts.subject)

    @cached_property
    def text(self) -> str:
        return text_fold(self.facts.text)

    @cached_property
    def language(self) -> str | None:
        return values.primary_language(self.facts.language) or None

    @cached_property
    def tags(self) -> frozenset[str]:
        return frozenset(text_fold(tag.strip()) for tag in self.facts.contact_tags)

    @cached_property
    def attributes(self) -> dict[str, str]:
        attributes = self.facts.contact_attributes.items()
        return {text_fold(name.strip()): text_fold(str(value).strip()) for name, value in attributes}


# Checking and compiling are one pass, so that what rule_errors accepts is exactly what compiles.


@dataclass(frozen=True)
class _Cond:
    op: str
    value: Any
    place: str  # "all[2]"
    name: str  # contact_attribute's, folded


def _conditions_compile(conditions: object) -> tuple[CompiledConditions | None, list[str]]:
    conditions = {} if conditions is None else conditions
    if not isinstance(conditions, Mapping):
        expected = gettext("expected an object with “all” and/or “any”, got %(got)s")
        return None, [values.problem("conditions", expected, got=values.shown(conditions))]
    unknown = gettext("unknown key %(key)s; known: all, any")
    problems = [
        values.problem("conditions", unknown, key=values.shown(key))
        for key in conditions
        if key not in ("all", "any")
    ]
    groups: dict[str, tuple[Predicate, ...]] = {"all": (), "any": ()}
    for group in groups:
        listed = conditions.get(group, [])
        if not isinstance(listed, list | tuple):
            expected = gettext("expected a list of conditions, got %(got)s")
            problems.append(values.problem(group, expected, got=values.shown(listed)))
            continue
        tests = []
        for index, raw in enumerate(listed):
            try:
                tests.append(_condition_compile(raw, f"{group}[{index}]"))
            except values.Invalid as invalid:
                problems.extend(invalid.problems)
        groups[group] = tuple(tests)
    return (None, problems) if problems else (CompiledConditions(all=groups["all"], any=groups["any"]), [])


def _condition_compile(raw: object, place: str) -> Predicate:
    if not isinstance(raw, Mapping):
        expected = gettext("expected a condition, an object with field, op and value, got %(got)s")
        raise values.Invalid(values.problem(place, expected, got=values.shown(raw)))
    field_name = raw.get("field")
    if not isinstance(field_name, str) or field_name not in _FIELDS:
        unknown = gettext("unknown field %(field)s; known: %(known)s")
        known = ", ".join(sorted(_FIELDS))
        message = values.problem(f"{place}.field", unknown, field=values.shown(field_name), known=known)
        raise values.Invalid(
            message if "field" in raw else values.problem(f"{place}.field", gettext("required"))
        )
    ops, parse, fact = _FIELDS[field_name]
    keys = ("field", "name", "op", "value") if field_name == "contact_attribute" else ("field", "op", "value")
    unknown = gettext("unknown key %(key)s; known: %(known)s")
    problems = [
        values.problem(place, unknown, key=values.shown(key), known=", ".join(keys))
        for key in raw
        if key not in keys
    ]
    op = raw.get("op")
    if "op" not in raw or op not in ops:
        refused = gettext("operator %(op)s does not apply to %(field)s; allowed: %(allowed)s")
        refusal = values.problem(
            f"{place}.op", refused, op=values.shown(op), field=field_name, allowed=", ".join(ops)
        )
        problems.append(refusal if "op" in raw else values.problem(f"{place}.op", gettext("required")))
    if "value" not in raw:
        problems.append(values.problem(f"{place}.value", gettext("required")))
    name = raw.get("name")
    if "name" in keys and (not isinstance(name, str) or not name.strip()):
        expected = gettext("expected the attribute's name, got %(got)s")
        problems.append(values.problem(f"{place}.name", expected, got=values.shown(name)))
    if op not in ops or "value" not in raw:
        raise values.Invalid(*problems)
    cond = _Cond(op, raw["value"], place, text_fold(name.strip()) if isinstance(name, str) else "")
    try:
        test = _value_test(cond, parse)
    except values.Invalid as invalid:
        problems.extend(invalid.problems)
    if problems:
        raise values.Invalid(*problems)

    def predicate(seen: _Seen) -> bool:
        known = fact(seen, cond)
        return known is not None and test(known)

    return predicate


def _value_test(cond: _Cond, parse: Callable[[object, str], Any]) -> Callable[[Any], bool]:
    """A test of the fact for ``cond``'s operator and value (a text fact is a tuple of texts)."""
    op, value, place = cond.op, cond.value, f"{cond.place}.value"
    if op in ("in", "not_in"):
        allowed, inside = frozenset(values.each(value, place, parse)), op == "in"
        return lambda fact: (fact in allowed) == inside
    if op in _COMPARE:
        wanted, compare = parse(value, place), _COMPARE[op]
        return lambda fact: compare(fact, wanted)
    if op in ("has_any", "has_none"):
        tags, wanted_any = frozenset(values.each(value, place, parse)), op == "has_any"
        return lambda fact: (not tags.isdisjoint(fact)) == wanted_any
    if op == "has_all":
        needed = frozenset(values.each(value, place, parse))
        return lambda fact: needed <= fact
    if op == "matches":
        pattern = values.regex(value, place)
        return lambda texts: any(pattern.search(text[:REGEX_INPUT_MAX_CHARS]) for text in texts)
    phrases = values.each(value, place, values.phrase)
    if op == "contains_all":
        each = tuple(_phrases_pattern((phrase,)) for phrase in phrases)
        return lambda fact: all(any(pattern.search(text) for text in _texts(fact)) for pattern in each)
    either, wanted = _phrases_pattern(phrases), op == "contains_any"
    return lambda fact: any(either.search(text) for text in _texts(fact)) == wanted


def _texts(fact: str | tuple[str, ...]) -> tuple[str, ...]:
    return (fact,) if isinstance(fact, str) else fact


def _phrases_pattern(phrases: Iterable[tuple[str, ...]]) -> re.Pattern[str]:
    # Words joined by any run of non-word characters, and no part of a longer word at either end.
    alternatives = "|".join(r"\W+".join(map(re.escape, words)) for words in phrases)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def _actions_compile(actions: object) -> tuple[RuleActions | None, list[str]]:
    actions = {} if actions is None else actions
    if not isinstance(actions, Mapping):
        return None, [
            values.problem("actions", gettext("expected an object, got %(got)s"), got=values.shown(actions))
        ]
    found: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in actions.items():
        if key not in _ACTIONS:
            unknown = gettext("unknown action %(key)s; known: %(known)s")
            problems.append(
                values.problem("actions", unknown, key=values.shown(key), known=", ".join(sorted(_ACTIONS)))
            )
            continue
        attribute, parse = _ACTIONS[key]
        try:
            found[attribute] = parse(value, f"actions.{key}")
        except values.Invalid as invalid:
            problems.extend(invalid.problems)
    return (None, problems) if problems else (RuleActions(**found), [])


# Values: each parser returns the value as rules compare it, or raises values.Invalid saying where and why.


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "gte": operator.ge,
    "lte": operator.le,
    "is": operator.eq,
}
# key: (RuleActions attribute, parser)
_ACTIONS: dict[str, tuple[str, Callable[[object, str], Any]]] = {
    "team": ("team_id", values.whole),
    "priority": ("priority", values.priority),
    "tags": ("tags", values.tags),
    "skills": ("skills", values.tags),
    "sla_policy": ("sla_policy_id", values.whole),
    "assignee": ("assignee_id", values.whole),
    "spam": ("spam", values.boolean),
    "continue": ("continue_", values.boolean),
}
# The actions of which the first rule to set one keeps it, in the order their reasons are written.
_SINGLE_ACTIONS = tuple(
    (key, attribute) for key, (attribute, _) in _ACTIONS.items() if key not in ("tags", "skills", "continue")
)
_MEMBERSHIP = ("in", "not_in")
_WORDS = ("contains_any", "contains_all", "contains_none", "matches")
_Fact = Callable[[_Seen, _Cond], Any]  # None: unknown, the condition does not hold
# field: (operators, parser of the value's items, the fact it is compared with)
_FIELDS: dict[str, tuple[tuple[str, ...], Callable[[object, str], Any], _Fact]] = {
    "channel_kind": (_MEMBERSHIP, values.folded, lambda seen, _: text_fold(seen.facts.channel_kind)),
    "channel_account": (_MEMBERSHIP, values.whole, lambda seen, _: seen.facts.channel_account_id),
    "subject": (_WORDS, values.text, lambda seen, _: (seen.subject,)),
    "text": (_WORDS, values.text, lambda seen, _: (seen.text,)),
    "subject_or_text": (_WORDS, values.text, lambda seen, _: (seen.subject, seen.text)),
    "language": (_MEMBERSHIP, values.language_code, lambda seen, _: seen.language),
    "contact_tags": (("has_any", "has_all", "has_none"), values.folded, lambda seen, _: seen.tags),
    "contact_tier": (_MEMBERSHIP, values.folded, lambda seen, _: text_fold(seen.facts.contact_tier.strip())),
    # A contact without the attribute has it empty: "neq" holds for it and "eq" does not.
    "contact_attribute": (
        ("eq", "neq", "in", "contains_any"),
        values.folded,
        lambda seen, cond: seen.attributes.get(cond.name, ""),
    ),
    "business_hours": (("is",), values.open_closed, lambda seen, _: seen.facts.in_business_hours),
    "priority": (("eq", "gte", "lte", "in"), values.priority, lambda seen, _: seen.facts.priority),
}
