"""Tickets under an SLA policy, their clocks set to fall due when a test needs them to."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from tickets.models import SLAPolicy, Ticket
from tickets.services import sla

_numbers = itertools.count(1)


def sla_policy(**fields: Any) -> SLAPolicy:
    """A policy with a first response of an hour and no other target unless given."""
    fields.setdefault("name", f"Policy {next(_numbers)}")
    fields.setdefault("first_response_minutes", 60)
    return SLAPolicy.objects.create(**fields)


def with_sla(ticket: Ticket, policy: SLAPolicy, *, opened_ago: timedelta = timedelta(0)) -> Ticket:
    """``ticket`` under ``policy`` as triage leaves it, its clocks counted from ``opened_ago`` ago."""
    with transaction.atomic():
        if opened_ago:
            Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - opened_ago)
        locked = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("sla_policy__calendar")
            .get(pk=ticket.pk)
        )
        sla.sla_apply(ticket=locked, policy=policy, at=timezone.now())
        locked.save(update_fields=sla.SLA_FIELDS)
    return Ticket.objects.get(pk=ticket.pk)


def due_in(ticket: Ticket, policy: SLAPolicy, left: timedelta) -> Ticket:
    """``ticket`` under ``policy`` (a first response target), due ``left`` from now (late if negative)."""
    target = timedelta(minutes=policy.first_response_minutes or 0)
    return with_sla(ticket, policy, opened_ago=target - left)
