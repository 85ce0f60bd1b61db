"""Routing rules, SLA policies and business calendars as supervisors change them (screen and API).

Every write is checked by the model's own ``clean()`` through ``full_clean``, so the admin, the
supervisor screen and the API refuse the same rows with the same words, each problem at its place
(``conditions: all[2].value: …``). Triage keeps the rules compiled in a per-process cache that a save or
delete clears (``tickets.services.triage.rules_forget``, on the model signals); the one bulk write here,
the renumbering of a move, clears it itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Max
from django.utils.translation import gettext

from tickets.models import BusinessCalendar, RoutingRule, SLAPolicy, Ticket
from tickets.services.routing import ticket_route
from tickets.services.triage import rules_forget, ticket_triage

logger = logging.getLogger(__name__)

RULE_FIELDS = ("name", "order", "active", "conditions", "actions")
POLICY_FIELDS = (
    "name",
    "order",
    "active",
    "conditions",
    "calendar",
    "first_response_minutes",
    "next_response_minutes",
    "resolution_minutes",
    "priority_targets",
    "warning_percent",
    "escalations",
)
CALENDAR_FIELDS = ("name", "time_zone", "intervals", "holidays", "country", "subdivision")
# Room between rules after a move, so that a rule can later be put between two by hand.
ORDER_STEP = 10

_Row = TypeVar("_Row", RoutingRule, SLAPolicy, BusinessCalendar)


class InUse(Exception):
    """The row is still relied on (open tickets follow the policy, policies count in the calendar)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def routing_rule_create(
    *,
    actor: User | None,
    name: str,
    conditions: object,
    actions: object,
    active: bool = True,
    order: int | None = None,
) -> RoutingRule:
    """A new rule, last in evaluation order unless ``order`` says where."""
    if order is None:
        last = RoutingRule.objects.aggregate(last=Max("order"))["last"]
        order = ORDER_STEP if last is None else last + ORDER_STEP
    rule = RoutingRule(name=name, order=order, active=active, conditions=conditions, actions=actions)
    return _save_checked(rule, actor=actor, verb="created")


def routing_rule_update(*, rule: RoutingRule, actor: User | None, **changes: Any) -> RoutingRule:
    return _update(rule, changes, RULE_FIELDS, actor=actor)


def routing_rule_set_active(*, rule: RoutingRule, actor: User | None, active: bool) -> RoutingRule:
    """Switch a rule on (checked like any save) or off (never refused: a rule that is off runs nowhere,
    so one stored before validation existed can always be stopped)."""
    if active:
        return _update(rule, {"active": True}, RULE_FIELDS, actor=actor)
    RoutingRule.objects.filter(pk=rule.pk).update(active=False)
    rule.active = False
    transaction.on_commit(rules_forget)
    logger.info("routing rule %s switched off by %s", rule.pk, _who(actor))
    return rule


def routing_rule_delete(*, rule: RoutingRule, actor: User | None) -> None:
    _delete(rule, actor=actor)


def routing_rule_move(*, rule: RoutingRule, actor: User | None, step: int) -> RoutingRule:
    """Move the rule ``step`` places (-1 up, 1 down) in evaluation order.

    Rules that share an ``order`` are ordered by id, which no one can see on screen; so every rule is
    renumbered ``ORDER_STEP`` apart, keeping their order, and the move is then a swap of places.
    """
    with transaction.atomic():
        rules = list(RoutingRule.objects.select_for_update().order_by("order", "id"))
        index = next((i for i, row in enumerate(rules) if row.pk == rule.pk), None)
        if index is None:
            raise RoutingRule.DoesNotExist
        target = min(max(index + step, 0), len(rules) - 1)
        rules.insert(target, rules.pop(index))
        changed = []
        for position, row in enumerate(rules, start=1):
            if row.order != position * ORDER_STEP:
                row.order = position * ORDER_STEP
                changed.append(row)
        RoutingRule.objects.bulk_update(changed, ["order"])
        transaction.on_commit(rules_forget)
    logger.info("routing rule %s moved %+d by %s", rule.pk, step, _who(actor))
    return next(row for row in rules if row.pk == rule.pk)


def ticket_rules_rerun(*, ticket_id: int, actor: User | None) -> Ticket | None:
    """A supervisor's rerun: the rules and the SLA choice applied again to the ticket, then the team's
    assignment strategy offered it, each change audited with its reason. Closed tickets are left as
    they are (``ticket_triage`` skips them)."""
    ticket_triage(ticket_id=ticket_id, actor=actor, again=True)
    return ticket_route(ticket_id=ticket_id)


def sla_policy_create(*, actor: User | None, **values: Any) -> SLAPolicy:
    _only(values, POLICY_FIELDS)
    return _save_checked(SLAPolicy(**values), actor=actor, verb="created")


def sla_policy_update(*, policy: SLAPolicy, actor: User | None, **changes: Any) -> SLAPolicy:
    return _update(policy, changes, POLICY_FIELDS, actor=actor)


def sla_policy_delete(*, policy: SLAPolicy, actor: User | None) -> None:
    """Refused while open tickets follow the policy: their clocks would stop with due times left set."""
    following = Ticket.objects.filter(sla_policy=policy, status__in=Ticket.OPEN_STATUSES).count()
    if following:
        raise InUse(
            gettext("%(count)s open tickets follow this policy: deactivate it instead.")
            % {"count": following}
        )
    _delete(policy, actor=actor)


def business_calendar_create(*, actor: User | None, **values: Any) -> BusinessCalendar:
    _only(values, CALENDAR_FIELDS)
    return _save_checked(BusinessCalendar(**values), actor=actor, verb="created")


def business_calendar_update(
    *, calendar: BusinessCalendar, actor: User | None, **changes: Any
) -> BusinessCalendar:
    return _update(calendar, changes, CALENDAR_FIELDS, actor=actor)


def business_calendar_delete(*, calendar: BusinessCalendar, actor: User | None) -> None:
    """Refused while policies count in the calendar: they would silently count every hour instead."""
    names = list(SLAPolicy.objects.filter(calendar=calendar).order_by("name").values_list("name", flat=True))
    if names:
        raise InUse(gettext("SLA policies count in this calendar: %(names)s.") % {"names": ", ".join(names)})
    _delete(calendar, actor=actor)


def _only(values: dict[str, Any], editable: Iterable[str]) -> None:
    unknown = set(values) - set(editable)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")


def _update(row: _Row, changes: dict[str, Any], editable: Iterable[str], *, actor: User | None) -> _Row:
    _only(changes, editable)
    for field, value in changes.items():
        setattr(row, field, value)
    return _save_checked(row, actor=actor, verb="changed")


def _save_checked(row: _Row, *, actor: User | None, verb: str) -> _Row:
    """Save ``row`` if ``full_clean`` accepts it; ``ValidationError`` names each field otherwise."""
    _json_text_storable(row)
    row.full_clean()
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as error:
        # Two saves of one name at once: the second finds the unique index where full_clean found none.
        raise ValidationError({"name": [gettext("This name is taken.")]}) from error
    logger.info("%s %s %s by %s", row._meta.verbose_name, row.pk, verb, _who(actor))
    return row


def _delete(row: models.Model, *, actor: User | None) -> None:
    pk = row.pk
    row.delete()
    logger.info("%s %s deleted by %s", row._meta.verbose_name, pk, _who(actor))


def _json_text_storable(row: models.Model) -> None:
    """PostgreSQL's jsonb holds no NUL character: refused here, by field, rather than failing the save."""
    problems = {
        field.name: [gettext("Text may not contain NUL characters.")]
        for field in row._meta.concrete_fields
        if isinstance(field, models.JSONField) and _has_nul(getattr(row, field.attname))
    }
    if problems:
        raise ValidationError(problems)


def _has_nul(value: object) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def _who(actor: User | None) -> str:
    return f"user {actor.pk}" if actor is not None else "the system"
