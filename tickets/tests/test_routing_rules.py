"""Routing rules: each field and operator, precedence between rules, and validation naming each place."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from tickets.models import RoutingRule
from tickets.reasons import Reason
from tickets.routing_rules import (
    RoutingDecision,
    RoutingFacts,
    rule_errors,
    rules_compile,
    rules_compile_stored,
    rules_evaluate,
)


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    # The problems are asserted as worded in English; the default language (Italian) has them too.
    with translation.override("en"):
        yield


ORDINARY: dict[str, Any] = {
    "channel_kind": "email",
    "channel_account_id": 7,
    "subject": "",
    "text": "",
    "language": "it",
    "contact_tags": frozenset(),
    "contact_tier": "",
    "contact_attributes": {},
    "priority": 2,
    "in_business_hours": True,
}


def facts(**changes: Any) -> RoutingFacts:
    return RoutingFacts(**{**ORDINARY, **changes})


def decide(*rules: tuple[str, dict[str, Any], dict[str, Any]], **changes: Any) -> RoutingDecision:
    """Rules given as (name, conditions, actions), numbered from 1, all of which must be valid."""
    numbered = [
        (number, name, conditions, actions) for number, (name, conditions, actions) in enumerate(rules, 1)
    ]
    for _, _, conditions, actions in numbered:
        assert rule_errors(conditions=conditions, actions=actions) == {}
    return rules_evaluate(rules=rules_compile(numbered), facts=facts(**changes))


def holds(condition: dict[str, Any], **changes: Any) -> bool:
    return decide(("one", {"all": [condition]}, {"team": 1}), **changes).team_id == 1


def cond(field: str, op: str, value: object, **extra: object) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value, **extra}


def sede(op: str, value: object) -> dict[str, Any]:
    return cond("contact_attribute", op, value, name="sede")


def attributes(**values: str) -> dict[str, Any]:
    return {"contact_attributes": values}


def tags(*names: str) -> dict[str, Any]:
    return {"contact_tags": frozenset(names)}


@pytest.mark.parametrize(
    ("condition", "changes", "expected"),
    [
        (cond("channel_kind", "in", ["webchat", "Email"]), {}, True),
        (cond("channel_kind", "in", ["webchat"]), {}, False),
        (cond("channel_kind", "not_in", ["webchat"]), {}, True),
        (cond("channel_kind", "not_in", ["email"]), {"channel_kind": "EMAIL"}, False),
        (cond("channel_account", "in", [3, 7]), {}, True),
        (cond("channel_account", "in", [3]), {}, False),
        (cond("channel_account", "not_in", [3]), {}, True),
        (cond("channel_account", "not_in", [7]), {}, False),
        (cond("channel_account", "not_in", [7]), {"channel_account_id": None}, False),
        (cond("channel_account", "in", [7]), {"channel_account_id": None}, False),
        (cond("subject", "contains_any", ["rimborso", "fattura"]), {"subject": "La FATTURA di maggio"}, True),
        (cond("subject", "contains_any", ["fattura"]), {"subject": "fatturazione elettronica"}, False),
        (cond("subject", "contains_any", ["fattura"]), {"text": "fattura"}, False),
        (cond("subject", "contains_all", ["fattura", "maggio"]), {"subject": "maggio: fattura"}, True),
        (cond("subject", "contains_all", ["fattura", "giugno"]), {"subject": "maggio: fattura"}, False),
        (cond("subject", "contains_none", ["spam", "offerta"]), {"subject": "Fattura"}, True),
        (cond("subject", "contains_none", ["offerta"]), {"subject": "Grande OFFERTA!"}, False),
        (cond("text", "contains_any", ["perche"]), {"text": "Perché non arriva?"}, True),
        (cond("text", "contains_any", ["città"]), {"text": "in CITTA oggi"}, True),
        (cond("text", "contains_any", ["perché"]), {"text": "PERCHE"}, True),
        (cond("text", "contains_any", ["fattura"]), {"subject": "fattura"}, False),
        (cond("text", "contains_all", ["carta di credito"]), {"text": "la Carta  di\n-- Crédito!"}, True),
        (cond("text", "contains_all", ["carta di credito"]), {"text": "carta di debito, credito"}, False),
        (cond("text", "contains_any", ["l'ordine"]), {"text": "dov'è l\u2019ordine?"}, True),
        (cond("text", "contains_none", ["disdetta"]), {"text": "voglio la disdetta."}, False),
        (cond("subject_or_text", "contains_any", ["reso"]), {"subject": "Reso"}, True),
        (cond("subject_or_text", "contains_any", ["reso"]), {"text": "un reso"}, True),
        (
            cond("subject_or_text", "contains_any", ["reso"]),
            {"subject": "presto", "text": "resoconto"},
            False,
        ),
        (
            cond("subject_or_text", "contains_all", ["reso", "urgente"]),
            {"subject": "Reso", "text": "urgente"},
            True,
        ),
        (cond("subject_or_text", "contains_none", ["reso"]), {"text": "un reso"}, False),
        (cond("subject", "matches", r"ticket #\d{3,8}"), {"subject": "Re: TICKET #12345"}, True),
        (cond("subject", "matches", r"ticket #\d{3,8}"), {"subject": "ticket #12"}, False),
        (cond("text", "matches", r"perche\b"), {"text": "Ma perché?"}, True),
        (cond("text", "matches", r"citt[aà]"), {"text": "CITTÀ"}, True),
        (cond("text", "matches", r"perché"), {"text": "perche"}, True),
        (cond("subject_or_text", "matches", r"^ordine\s{0,3}\d{1,9}$"), {"text": "Ordine 42"}, True),
        (cond("language", "in", ["it"]), {"language": "it-IT"}, True),
        (cond("language", "in", ["IT", "fr"]), {"language": "it"}, True),
        (cond("language", "in", ["en-GB"]), {"language": "en_US"}, True),
        (cond("language", "in", ["en"]), {"language": "it"}, False),
        (cond("language", "not_in", ["en"]), {"language": "it"}, True),
        (cond("language", "not_in", ["it"]), {"language": "it-CH"}, False),
        (cond("language", "in", ["it"]), {"language": ""}, False),
        (cond("language", "not_in", ["it"]), {"language": ""}, False),
        (cond("contact_tags", "has_any", ["vip", "press"]), tags("VIP"), True),
        (cond("contact_tags", "has_any", ["press"]), tags("vip"), False),
        (cond("contact_tags", "has_all", ["vip", "Press"]), tags("press", "vip", "x"), True),
        (cond("contact_tags", "has_all", ["vip", "press"]), tags("vip"), False),
        (cond("contact_tags", "has_none", ["blocked"]), tags("vip"), True),
        (cond("contact_tags", "has_none", ["blocked"]), tags("Blocked"), False),
        (cond("contact_tier", "in", ["gold", "platinum"]), {"contact_tier": "Gold"}, True),
        (cond("contact_tier", "in", ["gold"]), {"contact_tier": "silver"}, False),
        (cond("contact_tier", "not_in", ["gold"]), {"contact_tier": ""}, True),
        (cond("contact_tier", "not_in", ["gold"]), {"contact_tier": "GOLD"}, False),
        (sede("eq", "Città"), attributes(Sede="citta"), True),
        (sede("eq", "Roma"), attributes(sede="Milano"), False),
        (sede("eq", "Roma"), {}, False),
        (sede("neq", "Roma"), attributes(sede="Milano"), True),
        (sede("neq", "Roma"), attributes(sede="ROMA"), False),
        (sede("neq", "Roma"), {}, True),
        (sede("in", ["Roma", "Milano"]), attributes(sede="milano"), True),
        (sede("in", ["Roma"]), attributes(sede="Torino"), False),
        (
            cond("contact_attribute", "contains_any", ["premium"], name="piano"),
            attributes(piano="Premium annuale"),
            True,
        ),
        (
            cond("contact_attribute", "contains_any", ["premium"], name="piano"),
            attributes(piano="premiumplus"),
            False,
        ),
        (cond("business_hours", "is", "open"), {"in_business_hours": True}, True),
        (cond("business_hours", "is", "open"), {"in_business_hours": False}, False),
        (cond("business_hours", "is", "closed"), {"in_business_hours": False}, True),
        (cond("business_hours", "is", "closed"), {"in_business_hours": True}, False),
        (cond("business_hours", "is", "open"), {"in_business_hours": None}, False),
        (cond("business_hours", "is", "closed"), {"in_business_hours": None}, False),
        (cond("priority", "eq", 3), {"priority": 3}, True),
        (cond("priority", "eq", 3), {"priority": 4}, False),
        (cond("priority", "gte", 3), {"priority": 4}, True),
        (cond("priority", "gte", 3), {"priority": 2}, False),
        (cond("priority", "lte", 2), {"priority": 2}, True),
        (cond("priority", "lte", 2), {"priority": 3}, False),
        (cond("priority", "in", [1, 4]), {"priority": 4}, True),
        (cond("priority", "in", [1, 4]), {"priority": 2}, False),
    ],
)
def test_each_field_and_operator(condition: dict[str, Any], changes: dict[str, Any], expected: bool) -> None:
    assert holds(condition, **changes) is expected


def test_no_conditions_match_every_message() -> None:
    for conditions in ({}, {"all": [], "any": []}):
        assert decide(("all", conditions, {"team": 5})).team_id == 5
    assert rules_evaluate(rules=rules_compile([(1, "null", None, {"team": 5})]), facts=facts()).team_id == 5


def test_all_must_hold_and_any_needs_one() -> None:
    rule = {
        "all": [cond("channel_kind", "in", ["email"])],
        "any": [cond("priority", "eq", 4), cond("contact_tier", "in", ["gold"])],
    }
    assert decide(("r", rule, {"team": 1}), contact_tier="gold").team_id == 1
    assert decide(("r", rule, {"team": 1}), priority=4).team_id == 1
    assert decide(("r", rule, {"team": 1})).team_id is None
    assert decide(("r", rule, {"team": 1}), priority=4, channel_kind="webchat").team_id is None


def test_the_first_rule_that_matches_wins_and_later_ones_are_not_tried() -> None:
    decision = decide(
        ("no", {"all": [cond("priority", "eq", 4)]}, {"team": 1}),
        ("billing", {}, {"team": 2, "tags": ["billing"]}),
        ("later", {}, {"team": 3, "priority": 4, "tags": ["later"]}),
    )
    assert (decision.team_id, decision.priority, decision.tags) == (2, None, ("billing",))
    assert decision.matched_rule_ids == (2,)


def test_continue_goes_on_and_the_first_rule_to_set_an_action_keeps_it() -> None:
    decision = decide(
        ("vip", {}, {"team": 2, "tags": ["VIP", "Billing"], "continue": True}),
        ("skipped", {"all": [cond("priority", "eq", 1)]}, {"sla_policy": 9}),
        ("urgent", {}, {"team": 3, "priority": 4, "tags": ["billing", "urgent"], "continue": True}),
        ("last", {}, {"priority": 1, "sla_policy": 5, "assignee": 8, "spam": False, "tags": ["vip"]}),
        ("never", {}, {"team": 4}),
    )
    assert decision.team_id == 2
    assert decision.priority == 4
    assert decision.sla_policy_id == 5
    assert decision.assignee_id == 8
    assert decision.spam is False
    assert decision.tags == ("vip", "billing", "urgent")
    assert decision.matched_rule_ids == (1, 3, 4)
    applied = [(r.values["rule"], r.values["action"], r.values["value"]) for r in decision.reasons]
    assert applied == [
        ("vip", "team", 2),
        ("vip", "tags", "vip, billing"),
        ("urgent", "priority", 4),
        ("urgent", "tags", "urgent"),
        ("last", "sla_policy", 5),
        ("last", "assignee", 8),
        ("last", "spam", False),
    ]
    assert all(r.code == "routing.rule" for r in decision.reasons)
    assert decision.reasons[2] == Reason(
        "routing.rule", {"rule_id": 3, "rule": "urgent", "action": "priority", "value": 4}
    )


def test_nothing_matched_decides_nothing() -> None:
    decision = decide(("no", {"all": [cond("priority", "eq", 4)]}, {"team": 1, "spam": True}))
    assert decision == RoutingDecision()
    assert decision.spam is None and decision.tags == () and decision.reasons == ()


def test_a_rule_that_marks_spam() -> None:
    decision = decide(
        ("spam", {"all": [cond("subject", "contains_any", ["viagra"])]}, {"spam": True}), subject="VIAGRA"
    )
    assert decision.spam is True
    assert [r.values["action"] for r in decision.reasons] == ["spam"]


def test_an_invalid_stored_rule_is_skipped_with_a_warning_and_the_others_still_apply(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stored = [
        (1, "typo", {"all": [cond("chanel", "in", ["email"])]}, {"team": 1}),
        (2, "shapeless", ["not", "an", "object"], {"team": 2}),
        (3, "bad action", {}, {"priority": 9}),
        (4, "backreference", {"all": [cond("text", "matches", r"(a)\1")]}, {"team": 4}),
        (5, "good", {"all": [cond("channel_kind", "in", ["email"])]}, {"team": 5}),
    ]
    with caplog.at_level(logging.WARNING, logger="tickets.routing_rules"):
        compiled = rules_compile(stored)

    assert [rule.rule_id for rule in compiled] == [5]
    assert rules_evaluate(rules=compiled, facts=facts(text="a" * 50_000 + "!")).team_id == 5
    warned = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warned) == 4
    assert "routing rule 1 'typo' skipped: all[0].field: unknown field \"chanel\"" in warned[0]
    assert "routing rule 2 'shapeless' skipped" in warned[1]
    assert "actions.priority: 9 is not one of 1, 2, 3, 4" in warned[2]
    assert "not a valid regular expression" in warned[3]


def test_saved_rules_compile_in_their_order_and_inactive_ones_are_left_out_silently(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rules = [
        RoutingRule(
            id=1, name="off", active=False, conditions={"all": [{"field": "bad"}]}, actions={"team": 1}
        ),
        RoutingRule(id=2, name="on", active=True, conditions={}, actions={"team": 2}),
    ]
    with caplog.at_level(logging.WARNING, logger="tickets.routing_rules"):
        compiled = rules_compile_stored(rules=rules)

    assert [rule.rule_id for rule in compiled] == [2]
    assert caplog.records == []


def test_facts_of_an_unexpected_shape_make_a_rule_miss_not_fail(caplog: pytest.LogCaptureFixture) -> None:
    rules = rules_compile([(1, "tags", {"all": [cond("contact_tags", "has_any", ["vip"])]}, {"team": 1})])
    with caplog.at_level(logging.WARNING, logger="tickets.routing_rules"):
        decision = rules_evaluate(rules=rules, facts=facts(contact_tags=None))

    assert decision.team_id is None
    assert "routing rule 1 'tags' failed on a message" in caplog.text


FIELDS = (
    "business_hours, channel_account, channel_kind, contact_attribute, contact_tags, contact_tier, "
    "language, priority, subject, subject_or_text, text"
)
NOT_A_CONDITION = "expected a condition, an object with field, op and value, got"
NOT_A_TAG = "expected a tag, a non-empty string of at most 60 characters, got"


@pytest.mark.parametrize(
    ("condition", "problems"),
    [
        ({}, ["all[0].field: required"]),
        (None, [f"all[0]: {NOT_A_CONDITION} null"]),
        ("channel_kind", [f'all[0]: {NOT_A_CONDITION} "channel_kind"']),
        (cond("chanel", "in", ["email"]), [f'all[0].field: unknown field "chanel"; known: {FIELDS}']),
        ({"field": "priority", "value": 2}, ["all[0].op: required"]),
        (
            {"field": "channel_kind", "op": "contains", "valeu": 1},
            [
                'all[0]: unknown key "valeu"; known: field, op, value',
                'all[0].op: operator "contains" does not apply to channel_kind; allowed: in, not_in',
                "all[0].value: required",
            ],
        ),
        (
            cond("contact_tier", "in", ["gold"], name="x"),
            ['all[0]: unknown key "name"; known: field, op, value'],
        ),
        (cond("channel_kind", "in", "email"), ['all[0].value: expected a list, got "email"']),
        (cond("channel_kind", "not_in", []), ["all[0].value: expected at least one value"]),
        (
            cond("channel_kind", "in", ["email", 3, " "]),
            [
                "all[0].value[1]: expected a non-empty string, got 3",
                'all[0].value[2]: expected a non-empty string, got " "',
            ],
        ),
        (
            cond("channel_account", "not_in", [1, "2", 0, 2.5]),
            [
                'all[0].value[1]: expected a positive whole number, got "2"',
                "all[0].value[2]: expected a positive whole number, got 0",
                "all[0].value[3]: expected a positive whole number, got 2.5",
            ],
        ),
        (
            cond("subject", "contains_any", ["ok", "?!"]),
            ['all[0].value[1]: expected a word or phrase, with at least one letter or digit, got "?!"'],
        ),
        (
            cond("text", "matches", "("),
            ['all[0].value: "(" is not a valid regular expression: missing ): ('],
        ),
        (cond("subject", "matches", 3), ["all[0].value: expected a regular expression, got 3"]),
        (
            cond("language", "in", ["it", "italiano!"]),
            ['all[0].value[1]: expected a language code such as “it” or “en-GB”, got "italiano!"'],
        ),
        (
            cond("contact_tags", "has_all", [["vip"]]),
            ["all[0].value[0]: expected a non-empty string, got a list"],
        ),
        (
            cond("contact_attribute", "eq", ""),
            [
                "all[0].name: expected the attribute's name, got null",
                'all[0].value: expected a non-empty string, got ""',
            ],
        ),
        (cond("business_hours", "is", "opened"), ['all[0].value: "opened" is not one of "open", "closed"']),
        (cond("priority", "in", [1, 5]), ["all[0].value[1]: 5 is not one of 1, 2, 3, 4"]),
        (cond("priority", "gte", "3"), ['all[0].value: "3" is not one of 1, 2, 3, 4']),
    ],
)
def test_each_problem_of_a_condition_is_named_at_its_place(condition: object, problems: list[str]) -> None:
    assert rule_errors(conditions={"all": [condition]}, actions={}) == {"conditions": problems}


@pytest.mark.parametrize(
    ("actions", "problems"),
    [
        ({"priority": 7}, ["actions.priority: 7 is not one of 1, 2, 3, 4"]),
        ({"priority": True}, ["actions.priority: true is not one of 1, 2, 3, 4"]),
        (
            {"team": "3", "sla_policy": -1, "assignee": None},
            [
                'actions.team: expected a positive whole number, got "3"',
                "actions.sla_policy: expected a positive whole number, got -1",
                "actions.assignee: expected a positive whole number, got null",
            ],
        ),
        (
            {"tags": ["ok", "", "x" * 61], "spam": "yes", "continue": 1},
            [
                f'actions.tags[1]: {NOT_A_TAG} ""',
                f'actions.tags[2]: {NOT_A_TAG} "{"x" * 58}…',
                'actions.spam: expected true or false, got "yes"',
                "actions.continue: expected true or false, got 1",
            ],
        ),
        ({"tags": "vip"}, ['actions.tags: expected a list, got "vip"']),
        (
            {"teams": 2},
            [
                'actions: unknown action "teams"; known: assignee, continue, priority, skills, sla_policy, '
                "spam, tags, team"
            ],
        ),
    ],
)
def test_each_problem_of_the_actions_is_named_at_its_place(actions: object, problems: list[str]) -> None:
    assert rule_errors(conditions={}, actions=actions) == {"actions": problems}


def test_problems_of_shape_are_reported_in_both_parts_and_across_conditions() -> None:
    assert rule_errors(conditions=["all"], actions="team") == {
        "conditions": ["conditions: expected an object with “all” and/or “any”, got a list"],
        "actions": ['actions: expected an object, got "team"'],
    }
    assert rule_errors(conditions={"all": "x", "any": {}, "none": []}, actions={}) == {
        "conditions": [
            'conditions: unknown key "none"; known: all, any',
            'all: expected a list of conditions, got "x"',
            "any: expected a list of conditions, got an object",
        ]
    }
    two = rule_errors(conditions={"all": [{}, cond("priority", "eq", 2)], "any": [{}]}, actions={"team": 0})
    assert two == {
        "conditions": ["all[0].field: required", "any[0].field: required"],
        "actions": ["actions.team: expected a positive whole number, got 0"],
    }


def test_a_valid_rule_has_no_errors_and_tags_are_lower_cased_once() -> None:
    conditions = {"any": [cond("contact_attribute", "contains_any", ["gold plan"], name="Piano")]}
    actions = {"team": 1, "priority": 4, "tags": ["VIP", "vip", "Billing"], "sla_policy": 2, "assignee": 3}
    assert rule_errors(conditions=conditions, actions={**actions, "spam": False, "continue": True}) == {}
    assert rules_compile([(1, "r", conditions, actions)])[0].actions.tags == ("vip", "billing")
    assert rule_errors(conditions=None, actions=None) == {}
