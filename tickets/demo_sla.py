"""Demo data for routing and SLA: an office calendar, two policies, a few rules, skills on the agents,
and the demo's open tickets in every SLA state (on track, warned, breached, paused, met).

Seeded after the conversations, so their timelines read as before; tickets arriving later (the widget,
the API, the mailbox) meet the rules and policies as any desk's would. Idempotent like the rest.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from tickets.business_time import WEEKDAYS
from tickets.demo import BILLING, TECH, DemoPeople
from tickets.models import AgentProfile, BusinessCalendar, Message, RoutingRule, SLAPolicy, Team, Ticket
from tickets.services import sla
from tickets.services.triage import rules_forget

CALENDAR = "Ufficio di Milano"
STANDARD = "Standard"
URGENT = "Urgente"
SKILLS = {
    "marco": ["fatturazione"],
    "giulia": ["fatturazione", "rimborsi"],
    "luca": ["app"],
    "anna": ["app", "rete"],
}


def sla_demo_seed(people: DemoPeople, *, channel_id: int) -> None:
    """Create what is missing, then put the open tickets of the demo's conversations (on the channel
    ``channel_id``) under their policies; the channels' own demo tickets meet the rules when routed."""
    with transaction.atomic():
        calendar, _ = BusinessCalendar.objects.get_or_create(
            name=CALENDAR,
            defaults={
                "time_zone": "Europe/Rome",
                "intervals": {day: [["09:00", "18:00"]] for day in WEEKDAYS[:5]},
                "country": "IT",
                "subdivision": "MI",  # Sant'Ambrogio, 7 December, on top of the national holidays
                "holidays": ["12-24"],
            },
        )
        standard, _ = SLAPolicy.objects.get_or_create(
            name=STANDARD,
            defaults={
                "order": 20,
                "calendar": calendar,
                "first_response_minutes": 240,
                "next_response_minutes": 480,
                "resolution_minutes": 3 * 540,
                "priority_targets": {"3": {"first_response": 120}},
            },
        )
        urgent, _ = SLAPolicy.objects.get_or_create(
            name=URGENT,
            defaults={
                "order": 10,
                # Around the clock: an outage does not wait for the office to open.
                "first_response_minutes": 30,
                "next_response_minutes": 60,
                "resolution_minutes": 480,
                "escalations": {
                    "warning": {"notify": True},
                    "breach": {"notify": True, "priority": "raise", "tag": "sla-violato"},
                },
            },
        )
        Team.objects.filter(name__in=[BILLING, TECH], sla_policy__isnull=True).update(sla_policy=standard)
        Team.objects.filter(name=BILLING).update(skills_fallback_minutes=15)
        _rules_seed(people, urgent)
        for username, skills in SKILLS.items():
            AgentProfile.objects.filter(user__username=username, skills=[]).update(skills=skills)
    rules_forget()
    _open_tickets_under_policies(standard, urgent, channel_id=channel_id)


def _rules_seed(people: DemoPeople, urgent: SLAPolicy) -> None:
    if RoutingRule.objects.exists():
        return
    billing, tech = people.teams[BILLING], people.teams[TECH]
    words = "subject_or_text"
    RoutingRule.objects.bulk_create(
        [
            RoutingRule(
                name="Spam evidente",
                order=10,
                conditions={
                    "all": [{"field": words, "op": "matches", "value": r"casin[oò] online|bitcoin gratis"}]
                },
                actions={"spam": True},
            ),
            RoutingRule(
                name="Urgenze",
                order=20,
                conditions={
                    "all": [
                        {"field": words, "op": "contains_any", "value": ["urgente", "bloccato", "urgent"]}
                    ]
                },
                actions={"priority": 4, "sla_policy": urgent.pk, "tags": ["urgente"], "continue": True},
            ),
            RoutingRule(
                name="Fatture e rimborsi",
                order=30,
                conditions={
                    "all": [
                        {
                            "field": words,
                            "op": "contains_any",
                            "value": ["fattura", "rimborso", "invoice", "refund"],
                        }
                    ]
                },
                actions={"team": billing.pk, "skills": ["fatturazione"], "tags": ["fatturazione"]},
            ),
            RoutingRule(
                name="Clienti gold fuori orario",
                order=40,
                conditions={
                    "all": [
                        {"field": "contact_tier", "op": "in", "value": ["gold"]},
                        {"field": "business_hours", "op": "is", "value": "closed"},
                    ]
                },
                actions={"team": tech.pk, "priority": 3, "tags": ["gold"]},
            ),
        ]
    )


def _open_tickets_under_policies(standard: SLAPolicy, urgent: SLAPolicy, *, channel_id: int) -> None:
    """Each open demo ticket without a policy gets one. The urgent ones are counted from moments that
    show each state (breached with its escalation, warned, on track); the others follow the office
    calendar from their first message, and the pending ones are paused."""
    now = timezone.now()
    urgent_ages = iter([timedelta(minutes=45), timedelta(minutes=26), timedelta(minutes=8)])
    waiting = Ticket.objects.filter(
        status__in=Ticket.OPEN_STATUSES, sla_policy__isnull=True, origin_channel_id=channel_id
    )
    for ticket_id in list(waiting.order_by("-priority", "-pk").values_list("pk", flat=True)):
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
            first = ticket.messages.filter(direction=Message.Direction.INBOUND).order_by("sent_at").first()
            since = first.sent_at if first is not None else ticket.created_at
            chosen = standard
            if ticket.priority >= Ticket.Priority.HIGH:
                chosen, since = urgent, now - next(urgent_ages, timedelta(minutes=5))
            sla.sla_apply(ticket=ticket, policy=chosen, at=now, since=since)
            ticket.save(update_fields=sla.SLA_FIELDS)
        sla.sla_alarms_fire(ticket_id=ticket_id, now=now)
