"""The supervisor's rules screen in real Chromium: a rule refused, fixed, saved and tried on a message."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User

from tickets.models import RoutingRule, Team

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def conditions(pattern: str) -> str:
    return json.dumps({"all": [{"field": "subject", "op": "matches", "value": pattern}]})


def test_a_supervisor_fixes_a_bad_regex_then_tries_the_rule(page_as: Any, sam: User, tech: Team) -> None:
    page = page_as(sam)
    page.goto("/")
    page.click("[data-testid=nav-rules]")
    page.click("[data-testid=rule-new]")

    page.fill("#id_name", "Orders to Tech")
    page.fill("#id_conditions", conditions(r"ordine (\d+"))
    page.fill("#id_actions", json.dumps({"team": tech.pk, "priority": 3}))
    page.click("[data-testid=rule-save]")

    error = page.inner_text("[data-testid=error-conditions]")
    assert "all[0].value:" in error and "is not a valid regular expression" in error
    assert not RoutingRule.objects.exists()
    # What was typed is still there to fix.
    assert "ordine (" in page.input_value("#id_conditions")

    page.fill("#id_conditions", conditions(r"ordine \d+"))
    page.click("[data-testid=rule-save]")
    page.wait_for_selector(".flash >> text=Rule “Orders to Tech” saved.")
    rule = RoutingRule.objects.get()
    assert rule.conditions["all"][0]["value"] == r"ordine \d+"

    page.fill("#id_preview-subject", "Ordine 4521 non arrivato")
    page.press("#id_preview-subject", "Control+Enter")
    draft = page.locator("[data-testid=preview-draft]")
    draft.wait_for()
    assert "Matches." in draft.inner_text()
    assert "Tech" in draft.inner_text() and "High" in draft.inner_text()
    assert "Rule “Orders to Tech” set the priority to high." in draft.inner_text()

    # Enter in a field of the made-up message tries it again rather than saving the rule.
    page.fill("#id_preview-subject", "Password dimenticata")
    page.press("#id_preview-subject", "Enter")
    page.wait_for_selector("[data-testid=preview-draft] >> text=Does not match.")
    assert page.js_errors == []
