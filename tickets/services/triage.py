"""Triage: the routing rules and the SLA policy applied to a ticket created or reopened, before assignment.

Both ingest paths (one by one and set-based) already ask for routing after commit for every ticket they
create or reopen (``tickets.tasks.routing_request``); the routing task triages first, then assigns. So
the rules cost the filing of messages no statement at all, and run in the routing worker, once per life
of the ticket: ``Ticket.triaged_round`` records the round (reopens so far, plus one) they ran for. A
supervisor may run them again on any open ticket.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from tickets.language import language_detect
from tickets.models import AgentProfile, BusinessCalendar, Message, RoutingRule, SLAPolicy, Team, Ticket
from tickets.reasons import Reason
from tickets.routing_rules import (
    CompiledRule,
    RoutingDecision,
    RoutingFacts,
    rules_compile,
    rules_compile_stored,
    rules_evaluate,
)
from tickets.services import sla
from tickets.services.acknowledgments import acknowledgment_for_new_ticket
from tickets.services.tickets import ticket_update

logger = logging.getLogger(__name__)

# Rules are read again at most this often by each process (and at once after a change it made itself).
RULES_CACHE_SECONDS = 5.0
SPAM_TAG = "spam"

_cache_lock = threading.Lock()
_Policies = tuple[tuple[SLAPolicy, CompiledRule], ...]
_cached: tuple[float, tuple[CompiledRule, ...], _Policies, BusinessCalendar | None] | None = None


def rules_current() -> tuple[tuple[CompiledRule, ...], _Policies]:
    """The active rules, compiled, and the active SLA policies with their conditions compiled."""
    _stamp, rules, policies, _calendar = _configuration()
    return rules, policies


def _desk_calendar() -> BusinessCalendar | None:
    """The desk's first calendar: what ``business_hours`` conditions read where no policy names one."""
    return _configuration()[3]


def _configuration() -> tuple[float, tuple[CompiledRule, ...], _Policies, BusinessCalendar | None]:
    global _cached
    found = _cached
    if found is not None and time.monotonic() - found[0] < RULES_CACHE_SECONDS:
        return found
    rules = rules_compile_stored(rules=RoutingRule.objects.filter(active=True).order_by("order", "id"))
    policies = []
    for policy in SLAPolicy.objects.filter(active=True).select_related("calendar").order_by("order", "id"):
        compiled = rules_compile([(policy.pk, policy.name, policy.conditions, {})])
        if compiled:
            policies.append((policy, compiled[0]))
    found = (time.monotonic(), rules, tuple(policies), BusinessCalendar.objects.order_by("id").first())
    with _cache_lock:
        _cached = found
    return found


def rules_forget(**_kwargs: Any) -> None:
    global _cached
    with _cache_lock:
        _cached = None


for _model in (RoutingRule, SLAPolicy, BusinessCalendar):
    post_save.connect(rules_forget, sender=_model, dispatch_uid=f"triage-forget-{_model.__name__}")
    post_delete.connect(rules_forget, sender=_model, dispatch_uid=f"triage-forget-del-{_model.__name__}")


def routing_facts(ticket: Ticket, message: Message | None) -> RoutingFacts:
    """What rules look at: the customer's latest message on the ticket, its channel and its contact."""
    contact = ticket.contact
    account = message.channel_account if message is not None else None
    text = message.text if message is not None else ""
    calendar = _rules_calendar(ticket)
    return RoutingFacts(
        channel_kind=account.kind if account is not None else "",
        channel_account_id=account.pk if account is not None else None,
        subject=ticket.subject,
        text=text,
        language=ticket.language,
        contact_tags=frozenset(str(tag) for tag in contact.tags or ()),
        contact_tier=contact.tier,
        contact_attributes={str(k): str(v) for k, v in (contact.attributes or {}).items()},
        priority=ticket.priority,
        in_business_hours=calendar.is_open(timezone.now()) if calendar is not None else None,
    )


def ticket_triage(*, ticket_id: int, actor: User | None = None, again: bool = False) -> Ticket | None:
    """Apply the rules and pick the SLA policy, once per round unless ``again`` (a supervisor's rerun).

    Every change is one audited event with the reason naming the rule that made it.
    """
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("contact", "team", "sla_policy__calendar")
            .filter(pk=ticket_id)
            .first()
        )
        if ticket is None or not ticket.is_open:
            return ticket
        if ticket.triaged_round > ticket.reopened_count and not again:
            return ticket
        first_triage = ticket.triaged_round == 0 and ticket.reopened_count == 0
        message = (
            ticket.messages.filter(direction=Message.Direction.INBOUND)
            .select_related("channel_account")
            .order_by("-sent_at", "-id")
            .first()
        )
        if not ticket.language and message is not None:
            ticket.language = language_detect(
                message.text or ticket.subject, fallback=ticket.contact.language
            )
        rules, policies = rules_current()
        facts = routing_facts(ticket, message)
        decision = rules_evaluate(rules=rules, facts=facts)
        ticket.triaged_round = ticket.reopened_count + 1
        ticket.required_skills = list(decision.skills) or ticket.required_skills
        Ticket.objects.filter(pk=ticket.pk).update(
            triaged_round=ticket.triaged_round,
            required_skills=ticket.required_skills,
            language=ticket.language,
        )
        ticket = _decision_apply(ticket, decision, actor)
        _sla_choose(ticket, decision, policies, facts)
        if first_triage:
            # Now that its SLA is known, the acknowledgment can promise the time the agents see.
            acknowledgment_for_new_ticket(ticket_id=ticket.pk)
    return ticket


def tickets_untriaged(*, quiet_since: datetime, limit: int = 500) -> list[int]:
    """Open tickets the rules have not seen this round and nobody touched since ``quiet_since``: their
    routing task was lost (a killed worker, a broker that forgot it). Read from a partial index."""
    return list(
        Ticket.objects.filter(
            status__in=Ticket.OPEN_STATUSES,
            triaged_round__lte=F("reopened_count"),
            updated_at__lt=quiet_since,
        )
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )


def _decision_apply(ticket: Ticket, decision: RoutingDecision, actor: User | None) -> Ticket:
    by_action = {str(reason.values.get("action")): reason for reason in decision.reasons}
    if decision.team_id is not None and decision.team_id != ticket.team_id:
        team = Team.objects.filter(pk=decision.team_id).first()
        if team is not None:
            ticket = ticket_update(ticket=ticket, actor=actor, team=team, reason=by_action["team"])
    if decision.priority is not None and decision.priority != ticket.priority:
        ticket = ticket_update(
            ticket=ticket, actor=actor, priority=decision.priority, reason=by_action["priority"]
        )
    if decision.tags or decision.spam:
        current = list(ticket.tags.values_list("name", flat=True))
        wanted = [*current, *decision.tags, *([SPAM_TAG] if decision.spam else [])]
        reason = by_action.get("tags") or by_action["spam"]
        ticket = ticket_update(ticket=ticket, actor=actor, tags=wanted, reason=reason)
    if decision.assignee_id is not None and decision.assignee_id != ticket.assignee_id:
        agent = (
            AgentProfile.objects.filter(user_id=decision.assignee_id, user__is_active=True)
            .select_related("user")
            .first()
        )
        if agent is not None:
            ticket = ticket_update(
                ticket=ticket, actor=actor, assignee=agent.user, reason=by_action["assignee"]
            )
        else:
            logger.warning(
                "rule assignee %s is not an active agent; ticket %s left to routing",
                decision.assignee_id,
                ticket.pk,
            )
    if decision.spam:
        ticket = ticket_update(
            ticket=ticket, actor=actor, status=Ticket.Status.CLOSED, reason=by_action["spam"]
        )
    return ticket


def _sla_choose(
    ticket: Ticket,
    decision: RoutingDecision,
    policies: tuple[tuple[SLAPolicy, CompiledRule], ...],
    facts: RoutingFacts,
) -> None:
    """The rule's policy, else the first whose conditions hold (in order), else the team's default."""
    if not ticket.is_open:
        return
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("team", "sla_policy__calendar")
        .get(pk=ticket.pk)
    )
    chosen: SLAPolicy | None = None
    reason: Reason | None = None
    by_id = {policy.pk: policy for policy, _compiled in policies}
    if decision.sla_policy_id is not None and decision.sla_policy_id in by_id:
        chosen = by_id[decision.sla_policy_id]
        reason = next(r for r in decision.reasons if r.values.get("action") == "sla_policy")
    if chosen is None:
        for policy, compiled in policies:
            if policy.conditions and rules_evaluate(rules=(compiled,), facts=facts).matched_rule_ids:
                chosen = policy
                reason = Reason("sla.policy_conditions", {"policy": policy.name})
                break
    if chosen is None and ticket.team is not None and ticket.team.sla_policy_id in by_id:
        chosen = by_id[ticket.team.sla_policy_id]
        reason = Reason("sla.team_default", {"policy": chosen.name, "team": ticket.team.name})
    if chosen is None:
        return
    if sla.sla_apply(ticket=ticket, policy=chosen, at=timezone.now(), reason=reason):
        ticket.save(update_fields=sla.SLA_FIELDS)
    elif sla.sla_sync(ticket=ticket):
        ticket.save(update_fields=sla.SLA_FIELDS)
        sla.sla_published(ticket)


def _rules_calendar(ticket: Ticket) -> Any:
    """The calendar ``business_hours`` conditions read: the ticket's policy's, else the desk's first."""
    policy = ticket.sla_policy if ticket.sla_policy_id else None
    if policy is not None and policy.calendar_id:
        return sla.policy_hours(policy)
    calendar = _desk_calendar()
    return sla.calendar_hours(calendar) if calendar is not None else None
