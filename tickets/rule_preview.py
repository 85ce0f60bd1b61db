"""What routing rules would decide for a message a supervisor makes up, before a rule is saved.

The rule being edited is tried as it stands in the form, alone and in its place among the active rules
(as if saved), with the engine that triage uses (``tickets.routing_rules``); nothing is written. The
outcome is shown the way the audit trail shows it: actions with names rather than ids, and the reasons
rendered in the reader's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.utils.translation import gettext

from tickets.models import RoutingRule, SLAPolicy, Team, Ticket
from tickets.reasons import reason_render
from tickets.routing_rules import RoutingDecision, RoutingFacts, rule_errors, rules_compile, rules_evaluate

# Evaluated after every stored rule of the same order, as a rule saved now would be.
NEW_RULE_ID = 2**31


@dataclass(frozen=True, kw_only=True)
class RuleDraft:
    """A rule as the form holds it, saved or not (``rule_id`` None)."""

    rule_id: int | None
    name: str
    order: int
    active: bool
    conditions: object
    actions: object


@dataclass(frozen=True)
class Outcome:
    """One evaluation, ready to show."""

    matched: bool
    actions: Sequence[tuple[str, str]]  # (what, to what), e.g. ("Team", "Billing")
    reasons: Sequence[str]
    matched_rules: Sequence[str] = field(default=())


@dataclass(frozen=True)
class Preview:
    draft: Outcome | None  # None when the draft does not validate
    draft_errors: dict[str, list[str]]
    all_rules: Outcome
    rules_tried: int


def rule_preview(*, draft: RuleDraft, facts: RoutingFacts) -> Preview:
    """The draft alone, then every active rule in order with the draft in its place."""
    errors = rule_errors(conditions=draft.conditions, actions=draft.actions)
    draft_id = draft.rule_id if draft.rule_id is not None else NEW_RULE_ID
    others = RoutingRule.objects.filter(active=True).order_by("order", "id")
    if draft.rule_id is not None:
        others = others.exclude(pk=draft.rule_id)
    stored = [(rule.order, rule.pk, rule.name, rule.conditions, rule.actions) for rule in others]
    if not errors:
        if draft.active:
            stored.append((draft.order, draft_id, draft.name, draft.conditions, draft.actions))
    elif draft.rule_id is not None:
        # An invalid draft is not what would run: the saved version of the rule keeps its place.
        saved = RoutingRule.objects.filter(pk=draft.rule_id, active=True).first()
        if saved is not None:
            stored.append((saved.order, saved.pk, saved.name, saved.conditions, saved.actions))
    stored.sort(key=lambda row: (row[0], row[1]))
    names = {row[1]: row[2] for row in stored}
    every = rules_compile(row[1:] for row in stored)
    alone = None
    if not errors:
        compiled = rules_compile([(draft_id, draft.name, draft.conditions, draft.actions)])
        alone = _outcome(rules_evaluate(rules=compiled, facts=facts), names={draft_id: draft.name})
    return Preview(
        draft=alone,
        draft_errors=errors,
        all_rules=_outcome(rules_evaluate(rules=every, facts=facts), names=names),
        rules_tried=len(every),
    )


def _outcome(decision: RoutingDecision, *, names: dict[int, str]) -> Outcome:
    return Outcome(
        matched=bool(decision.matched_rule_ids),
        actions=decision_actions(decision),
        reasons=[reason_render(reason) for reason in decision.reasons],
        matched_rules=[names.get(rule_id, str(rule_id)) for rule_id in decision.matched_rule_ids],
    )


def decision_actions(decision: RoutingDecision) -> list[tuple[str, str]]:
    """What a decision would set, each value by its name (a team, a policy or an agent that no longer
    exists is shown by its id, marked missing: triage would skip it)."""
    shown: list[tuple[str, str]] = []
    if decision.team_id is not None:
        team = Team.objects.filter(pk=decision.team_id).values_list("name", flat=True).first()
        shown.append((gettext("Team"), team or _missing(decision.team_id)))
    if decision.priority is not None:
        shown.append((gettext("Priority"), str(Ticket.Priority(decision.priority).label)))
    if decision.tags:
        shown.append((gettext("Tags"), ", ".join(decision.tags)))
    if decision.skills:
        shown.append((gettext("Skills"), ", ".join(decision.skills)))
    if decision.sla_policy_id is not None:
        policy = SLAPolicy.objects.filter(pk=decision.sla_policy_id).values_list("name", flat=True).first()
        shown.append((gettext("SLA policy"), policy or _missing(decision.sla_policy_id)))
    if decision.assignee_id is not None:
        user = User.objects.filter(pk=decision.assignee_id, agent__isnull=False).first()
        name = (user.get_full_name() or user.get_username()) if user is not None else None
        shown.append((gettext("Agent"), name or _missing(decision.assignee_id)))
    if decision.spam is not None:
        shown.append((gettext("Spam"), gettext("yes") if decision.spam else gettext("no")))
    return shown


def _missing(pk: int) -> str:
    return gettext("#%(id)s (missing)") % {"id": pk}
