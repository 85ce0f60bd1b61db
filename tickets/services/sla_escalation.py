"""What a policy does when one of its targets warns or breaches: ``SLAPolicy.escalations``.

```json
{"warning": {"notify": true},
 "breach": {"notify": true, "priority": "raise", "team": 3, "unassign": true, "tag": "sla-breached"}}
```

``notify`` (on by default) makes the assignee's and the team's screens show a browser notification for
the alarm event itself; the other actions change the ticket through ``ticket_update``, each one an
audited, live event with the policy as its reason. A ticket moved to another team, or back to its
queue, is offered to routing again.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

from tickets.models import SLAPolicy, Team, Ticket
from tickets.reasons import Reason
from tickets.sla_clock import Alarm, Metric

_KEYS = ("notify", "priority", "team", "unassign", "tag")


def escalation_errors(escalations: object) -> list[str]:
    """Every problem of a policy's ``escalations``, each naming its place; empty when valid."""
    if not isinstance(escalations, dict):
        return [gettext('Expected an object such as {"breach": {"priority": "raise"}}.')]
    problems: list[str] = []
    for alarm, plan in escalations.items():
        if alarm not in {str(item) for item in Alarm}:
            problems.append(gettext("%(alarm)r: use warning or breach.") % {"alarm": alarm})
            continue
        if not isinstance(plan, dict):
            problems.append(gettext("%(alarm)s: expected an object of actions.") % {"alarm": alarm})
            continue
        for key, value in plan.items():
            place = f"{alarm}.{key}"
            problem = _value_problem(key, value)
            if problem:
                problems.append(f"{place}: {problem}")
    return problems


def escalate(*, ticket: Ticket, policy: SLAPolicy, metric: Metric, alarm: Alarm) -> Ticket:
    """Apply the policy's actions for ``alarm`` to the ticket (its row locked by the caller)."""
    from tickets import tasks
    from tickets.services.tickets import ticket_update

    plan: dict[str, Any] = (policy.escalations or {}).get(str(alarm)) or {}
    reason = Reason("sla.escalation", {"policy": policy.name, "alarm": str(alarm), "metric": str(metric)})
    changes: dict[str, Any] = {}
    raise_to = plan.get("priority")
    if raise_to == "raise" and ticket.priority < Ticket.Priority.URGENT:
        changes["priority"] = ticket.priority + 1
    elif isinstance(raise_to, int) and raise_to > ticket.priority:
        changes["priority"] = raise_to
    team_id = plan.get("team")
    if isinstance(team_id, int) and team_id != ticket.team_id:
        team = Team.objects.filter(pk=team_id).first()
        if team is not None:
            changes["team"] = team
            changes["assignee"] = None
    if plan.get("unassign") and ticket.assignee_id is not None:
        changes["assignee"] = None
    tag = plan.get("tag")
    if isinstance(tag, str) and tag.strip():
        current = list(ticket.tags.values_list("name", flat=True))
        if tag.strip().lower() not in current:
            changes["tags"] = [*current, tag]
    if not changes:
        return ticket
    updated = ticket_update(ticket=ticket, actor=None, reason=reason, **changes)
    if "assignee" in changes:
        tasks.routing_request([updated.pk])
    return updated


def _value_problem(key: str, value: object) -> str:
    if key not in _KEYS:
        return gettext("unknown action; known: %(known)s") % {"known": ", ".join(_KEYS)}
    if key in ("notify", "unassign"):
        return "" if isinstance(value, bool) else gettext("expected true or false")
    if key == "priority":
        ok = value == "raise" or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4)
        return "" if ok else gettext('expected "raise" or a priority from 1 to 4')
    if key == "team":
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not Team.objects.filter(pk=value).exists()
        ):
            return gettext("%(value)r is not a team id") % {"value": value}
        return ""
    return "" if isinstance(value, str) and value.strip() else gettext("expected a tag")
