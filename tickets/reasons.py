"""Why something happened, stored as a code and values and put into words only when read (STYLE §13).

A routing decision, an assignment or an SLA choice is recorded as a ``Reason``: a stable code such as
``routing.rule`` and the values it needs (the rule's id and name, the action, the value set). Stored
that way it survives a change of wording and is read by each person in their own language:
``reason_render`` picks the sentence registered for the code in ``REASON_TEMPLATES`` and fills it in
under the active language. Rendering never raises: a reason written by an older or newer version of
Sportello (an unknown code, a missing value, a translation with a typo) still reads as something.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

logger = logging.getLogger(__name__)

ReasonValue = str | int | None

# Shown in place of a value the sentence needs but the reason does not carry.
MISSING_VALUE = "?"


@dataclass(frozen=True)
class Reason:
    """One "why": ``code`` names the sentence, ``values`` fill it in.

    ``values`` is copied on creation, so a caller's dict changing later does not change a recorded
    reason; it takes no part in hashing (a dict cannot), only in equality.
    """

    code: str
    values: Mapping[str, ReasonValue] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", dict(self.values))


# Sentences per code. Where one code reads differently by case (the action a routing rule applied),
# the code maps to its variants, chosen by ``_variant``; "" is the fallback of every code.
REASON_TEMPLATES: Mapping[str, Mapping[str, Promise]] = {
    "routing.rule": {
        "": gettext_lazy("Rule “%(rule)s” set %(action)s to %(value)s."),
        "team": gettext_lazy("Rule “%(rule)s” sent the ticket to team %(value)s."),
        "priority": gettext_lazy("Rule “%(rule)s” set the priority to %(value)s."),
        "tags": gettext_lazy("Rule “%(rule)s” added the tags: %(value)s."),
        "skills": gettext_lazy("Rule “%(rule)s” asked for agents with the skills: %(value)s."),
        "sla_policy": gettext_lazy("Rule “%(rule)s” applied SLA policy %(value)s."),
        "assignee": gettext_lazy("Rule “%(rule)s” assigned the ticket to agent %(value)s."),
        "spam": gettext_lazy("Rule “%(rule)s” marked the ticket as spam."),
        "not_spam": gettext_lazy("Rule “%(rule)s” marked the ticket as not spam."),
    },
    "routing.strategy.round_robin": {
        "": gettext_lazy(
            "Round robin: the next online agent in %(team)s, with %(load)s of %(capacity)s tickets open."
        ),
    },
    "routing.strategy.least_loaded": {
        "": gettext_lazy(
            "Least loaded: the online agent in %(team)s with the lightest load, "
            "%(load)s of %(capacity)s tickets open."
        ),
    },
    "routing.manual": {
        "": gettext_lazy("%(team)s assigns tickets by hand: the ticket waits in the team's queue."),
    },
    "routing.no_agent_free": {
        "": gettext_lazy(
            "Nobody in %(team)s is online with free capacity: the ticket waits in the team's queue."
        ),
    },
    "sla.policy": {
        "": gettext_lazy("SLA policy “%(policy)s” applies."),
    },
    "sla.team_default": {
        "": gettext_lazy("SLA policy “%(policy)s” applies: the default of team %(team)s."),
    },
    "sla.policy_conditions": {
        "": gettext_lazy("SLA policy “%(policy)s” applies: its conditions match the ticket."),
    },
    "sla.warning": {
        "": gettext_lazy("SLA warning: the %(metric)s target of “%(policy)s” is close."),
    },
    "sla.breach": {
        "": gettext_lazy("SLA breached: the %(metric)s target of “%(policy)s” has passed."),
    },
    "sla.escalation": {
        "": gettext_lazy("Escalated by SLA policy “%(policy)s” on %(alarm)s of %(metric)s."),
    },
    "routing.skills_fallback": {
        "": gettext_lazy(
            "Nobody with the skills %(skills)s was free for %(minutes)s minutes: "
            "any agent of %(team)s may take it."
        ),
    },
    "routing.language_fallback": {
        "": gettext_lazy(
            "Nobody speaking %(language)s was free for %(minutes)s minutes: "
            "any agent of %(team)s may take it."
        ),
    },
    "routing.agent_offline": {
        "": gettext_lazy(
            "%(agent)s went offline while the customer waited for an answer: the chat is offered to others."
        ),
    },
    "routing.redistributed": {
        "": gettext_lazy("The open tickets of %(agent)s were redistributed by a supervisor."),
    },
    "ticket.customer_wrote_again": {
        "": gettext_lazy("the customer wrote again"),
    },
    "ticket.split_from": {
        "": gettext_lazy("split from #%(ticket)s"),
        "note": gettext_lazy("split from #%(ticket)s: %(note)s"),
    },
}


def reason_to_data(reason: Reason) -> dict[str, Any]:
    """The reason as JSON-ready data, for an audit row or an event payload."""
    return {"code": reason.code, "values": dict(reason.values)}


def reason_from_data(data: Mapping[str, Any]) -> Reason:
    """A reason read back from ``reason_to_data``'s output.

    Values that JSON can hold but a reason cannot (lists, objects, floats) are kept as their text, so
    a row written by hand or by another version still renders instead of failing on read.
    """
    raw_values = data.get("values")
    values: dict[str, ReasonValue] = {}
    if isinstance(raw_values, Mapping):
        for name, value in raw_values.items():
            values[str(name)] = value if value is None or isinstance(value, str | int) else str(value)
    return Reason(code=str(data.get("code", "")), values=values)


def reason_render(reason: Reason) -> str:
    """The reason as a sentence in the active language; never raises."""
    variants = REASON_TEMPLATES.get(reason.code, {})
    template = variants.get(_variant(reason)) or variants.get("")
    if template is None:
        return _plain(reason)
    values = _Filled(_prepared(reason))
    try:
        return str(template) % values
    except (TypeError, ValueError, KeyError):
        # A translation whose placeholders do not fit: say the fact plainly rather than fail the page.
        logger.warning("reason %s: template %r does not render", reason.code, str(template))
        return _plain(reason)


def _variant(reason: Reason) -> str:
    if reason.code == "ticket.split_from":
        return "note" if reason.values.get("note") else ""
    if reason.code != "routing.rule":
        return ""
    action = str(reason.values.get("action", ""))
    if action == "spam" and not reason.values.get("value"):
        return "not_spam"
    return action


def _prepared(reason: Reason) -> dict[str, ReasonValue]:
    values: dict[str, ReasonValue] = {
        name: MISSING_VALUE if value is None else value for name, value in reason.values.items()
    }
    if reason.code == "routing.rule" and values.get("action") == "priority":
        values["value"] = _priority_label(values.get("value"))
    for name in ("metric", "alarm"):
        if reason.code.startswith("sla.") and isinstance(values.get(name), str):
            label = _SLA_WORDS.get(str(values[name]))
            values[name] = str(label) if label is not None else values[name]
    return values


_SLA_WORDS: Mapping[str, Promise] = {
    "first_response": gettext_lazy("first response"),
    "next_response": gettext_lazy("next response"),
    "resolution": gettext_lazy("resolution"),
    "warning": gettext_lazy("warning"),
    "breach": gettext_lazy("breach"),
}


def _priority_label(value: ReasonValue) -> ReasonValue:
    # Imported here, not at the top, so that models may one day render reasons without an import cycle.
    from tickets.models import Ticket

    if isinstance(value, int) and value in Ticket.Priority.values:
        return str(Ticket.Priority(value).label).lower()
    return value


def _plain(reason: Reason) -> str:
    shown = ", ".join(f"{name}={value}" for name, value in sorted(reason.values.items()))
    return f"{reason.code} ({shown})" if shown else reason.code


class _Filled(dict[str, ReasonValue]):
    """The values for %-formatting, where a name the reason lacks reads as ``MISSING_VALUE``."""

    def __missing__(self, key: str) -> str:
        return MISSING_VALUE
