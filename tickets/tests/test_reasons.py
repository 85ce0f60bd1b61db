"""Reasons: stored as a code and values, read back from JSON, put into words in the reader's language."""

from __future__ import annotations

import json
import logging

import pytest
from django.utils import translation

from tickets import reasons
from tickets.reasons import (
    MISSING_VALUE,
    REASON_TEMPLATES,
    Reason,
    reason_from_data,
    reason_render,
    reason_to_data,
)

EXAMPLES = [
    Reason("routing.rule", {"rule_id": 3, "rule": "Fatture", "action": "team", "value": 2}),
    Reason("routing.strategy.round_robin", {"team": "Billing", "load": 2, "capacity": 5}),
    Reason("routing.strategy.least_loaded", {"team": "Billing", "load": 0, "capacity": 3}),
    Reason("routing.manual", {"team": "Tech"}),
    Reason("routing.no_agent_free", {"team": "Tech"}),
    Reason("sla.policy", {"policy": "Gold 4h"}),
    Reason("ticket.customer_wrote_again"),
    Reason("ticket.split_from", {"ticket": 12, "note": "due problemi"}),
    Reason("sla.team_default", {"policy": "Standard", "team": "Billing"}),
    Reason("sla.policy_conditions", {"policy": "VIP"}),
    Reason("sla.warning", {"metric": "first_response", "policy": "Gold 4h"}),
    Reason("sla.breach", {"metric": "resolution", "policy": "Gold 4h"}),
    Reason("sla.escalation", {"policy": "Gold 4h", "alarm": "breach", "metric": "next_response"}),
    Reason("routing.skills_fallback", {"skills": "fatturazione", "minutes": 10, "team": "Billing"}),
    Reason("routing.language_fallback", {"language": "de", "minutes": 10, "team": "Billing"}),
    Reason("routing.agent_offline", {"agent": "Alice Rossi"}),
    Reason("routing.redistributed", {"agent": "Alice Rossi"}),
]


def test_every_example_uses_a_registered_code() -> None:
    assert sorted(reason.code for reason in EXAMPLES) == sorted(REASON_TEMPLATES)


@pytest.mark.parametrize("reason", EXAMPLES, ids=lambda reason: reason.code)
def test_a_reason_survives_a_trip_through_json(reason: Reason) -> None:
    stored = json.dumps(reason_to_data(reason))
    assert reason_from_data(json.loads(stored)) == reason


def test_values_are_copied_so_a_recorded_reason_does_not_change_later() -> None:
    values: dict[str, str | int | None] = {"team": "Tech"}
    reason = Reason("routing.manual", values)
    values["team"] = "Billing"

    assert reason.values == {"team": "Tech"}
    assert reason_to_data(reason) == {"code": "routing.manual", "values": {"team": "Tech"}}


def test_reasons_are_equal_by_code_and_values_and_can_be_hashed() -> None:
    same = Reason("sla.policy", {"policy": "Gold"})
    assert same == Reason("sla.policy", {"policy": "Gold"})
    assert same != Reason("sla.policy", {"policy": "Silver"})
    assert same != Reason("routing.manual", {"policy": "Gold"})
    assert len({same, Reason("sla.policy", {"policy": "Gold"}), Reason("routing.manual")}) == 2


def test_data_written_by_hand_or_another_version_is_still_read() -> None:
    assert reason_from_data({"code": "x.y"}) == Reason("x.y")
    assert reason_from_data({"values": "not an object"}) == Reason("")
    odd = reason_from_data({"code": "sla.policy", "values": {"policy": ["a"], "hours": 1.5, "n": None}})
    assert odd.values == {"policy": "['a']", "hours": "1.5", "n": None}


@pytest.mark.parametrize(
    ("reason", "sentence"),
    [
        (EXAMPLES[0], "Rule “Fatture” sent the ticket to team 2."),
        (
            Reason("routing.rule", {"rule_id": 3, "rule": "VIP", "action": "priority", "value": 4}),
            "Rule “VIP” set the priority to urgent.",
        ),
        (
            Reason("routing.rule", {"rule_id": 3, "rule": "VIP", "action": "tags", "value": "vip, gold"}),
            "Rule “VIP” added the tags: vip, gold.",
        ),
        (
            Reason("routing.rule", {"rule_id": 3, "rule": "VIP", "action": "sla_policy", "value": 7}),
            "Rule “VIP” applied SLA policy 7.",
        ),
        (
            Reason("routing.rule", {"rule_id": 3, "rule": "VIP", "action": "assignee", "value": 12}),
            "Rule “VIP” assigned the ticket to agent 12.",
        ),
        (
            Reason("routing.rule", {"rule_id": 3, "rule": "Junk", "action": "spam", "value": True}),
            "Rule “Junk” marked the ticket as spam.",
        ),
        (
            Reason("routing.rule", {"rule_id": 3, "rule": "Junk", "action": "spam", "value": False}),
            "Rule “Junk” marked the ticket as not spam.",
        ),
        (
            Reason("routing.rule", {"rule_id": 3, "rule": "New", "action": "language", "value": "it"}),
            "Rule “New” set language to it.",
        ),
        (EXAMPLES[1], "Round robin: the next online agent in Billing, with 2 of 5 tickets open."),
        (
            EXAMPLES[2],
            "Least loaded: the online agent in Billing with the lightest load, 0 of 3 tickets open.",
        ),
        (EXAMPLES[3], "Tech assigns tickets by hand: the ticket waits in the team's queue."),
        (EXAMPLES[4], "Nobody in Tech is online with free capacity: the ticket waits in the team's queue."),
        (EXAMPLES[5], "SLA policy “Gold 4h” applies."),
        (EXAMPLES[10], "SLA warning: the first response target of “Gold 4h” is close."),
        (EXAMPLES[12], "Escalated by SLA policy “Gold 4h” on breach of next response."),
    ],
)
def test_each_reason_reads_as_a_sentence_in_english(reason: Reason, sentence: str) -> None:
    with translation.override("en"):
        assert reason_render(reason) == sentence


@pytest.mark.parametrize("reason", EXAMPLES, ids=lambda reason: reason.code)
def test_in_italian_a_reason_renders_with_its_values(reason: Reason) -> None:
    with translation.override("it"):
        rendered = reason_render(reason)

    with translation.override("en"):
        english = reason_render(reason)
    named = [
        str(reason.values[name])
        for name in ("rule", "team", "policy", "ticket", "note")
        if name in reason.values
    ]
    assert all(name in rendered for name in named)
    assert "%(" not in rendered
    assert rendered != english  # translated, not the English sentence


def test_an_unknown_code_renders_plainly() -> None:
    reason = Reason("routing.future_thing", {"team": "Tech", "load": 3})
    with translation.override("en"):
        assert reason_render(reason) == "routing.future_thing (load=3, team=Tech)"
        assert reason_render(Reason("gone")) == "gone"


def test_a_missing_value_is_marked_and_the_rest_still_renders() -> None:
    with translation.override("en"):
        rendered = reason_render(Reason("routing.strategy.least_loaded", {"team": "Tech", "load": None}))

    assert rendered == (
        f"Least loaded: the online agent in Tech with the lightest load, {MISSING_VALUE} of "
        f"{MISSING_VALUE} tickets open."
    )


def test_a_template_that_does_not_fit_its_values_falls_back_to_plain_words(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(reasons.REASON_TEMPLATES, "sla.broken", {"": "%(policy)d hours, 100%"})
    with caplog.at_level(logging.WARNING, logger="tickets.reasons"):
        rendered = reason_render(Reason("sla.broken", {"policy": "Gold"}))

    assert rendered == "sla.broken (policy=Gold)"
    assert "sla.broken" in caplog.text
