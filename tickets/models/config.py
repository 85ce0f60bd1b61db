"""Configuration rows edited by administrators: SLA, calendars, routing rules, canned responses."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tickets.business_time import BusinessHours, CalendarError, business_hours
from tickets.routing_rules import rule_errors
from tickets.sla_clock import Metric


class BusinessCalendar(models.Model):
    """The hours a team works, for counting SLA targets in business time (``tickets.business_time``)."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="Europe/Rome")
    # {"mon": [["09:00", "13:00"], ["14:00", "18:00"]], ...}; an interval may run past midnight.
    intervals = models.JSONField(default=dict, blank=True)
    # The calendar's own days off: "2026-12-24" once, or "12-07" every year.
    holidays = models.JSONField(default=list, blank=True)
    # Public holidays built in (ISO country code, "" for none) and, optionally, a region's or
    # province's own (e.g. MI for Milan's patron saint).
    country = models.CharField(max_length=8, default="IT", blank=True)
    subdivision = models.CharField(max_length=10, blank=True)

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            self.hours()
        except CalendarError as error:
            raise ValidationError(error.errors) from error

    def hours(self) -> BusinessHours:
        """The calendar ready for arithmetic; ``CalendarError`` names what is wrong with it."""
        return business_hours(
            time_zone=self.time_zone,
            intervals=self.intervals,
            holidays=self.holidays,
            country=self.country,
            subdivision=self.subdivision,
        )


class SLAPolicy(models.Model):
    name = models.CharField(max_length=100, unique=True)
    order = models.PositiveIntegerField(default=100)
    conditions = models.JSONField(default=dict, blank=True)
    calendar = models.ForeignKey(BusinessCalendar, null=True, blank=True, on_delete=models.SET_NULL)
    # Targets in business minutes, for every priority unless ``priority_targets`` says otherwise.
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    # Per priority (1 low … 4 urgent), the targets that differ: {"4": {"first_response": 15}}; null
    # drops a target for that priority.
    priority_targets = models.JSONField(default=dict, blank=True)
    warning_percent = models.PositiveSmallIntegerField(
        default=80, validators=[MinValueValidator(1), MaxValueValidator(99)]
    )
    # What happens at a warning and at a breach: {"warning": {"notify": true},
    # "breach": {"priority": "raise", "team": 3, "unassign": true, "tag": "sla-breached"}}.
    escalations = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from tickets.services.sla_escalation import escalation_errors

        found = {
            "priority_targets": sla_targets_errors(self.priority_targets),
            "escalations": escalation_errors(self.escalations),
            "conditions": rule_errors(conditions=self.conditions, actions={}).get("conditions", []),
        }
        problems = {field: errors for field, errors in found.items() if errors}
        if problems:
            raise ValidationError(problems)

    def targets_for(self, priority: int) -> dict[Metric, timedelta]:
        """The targets that apply to a ticket of ``priority``; a metric without one is left out."""
        minutes: dict[Metric, int | None] = {
            Metric.FIRST_RESPONSE: self.first_response_minutes,
            Metric.NEXT_RESPONSE: self.next_response_minutes,
            Metric.RESOLUTION: self.resolution_minutes,
        }
        override = (
            self.priority_targets.get(str(priority)) if isinstance(self.priority_targets, dict) else None
        )
        for name, value in (override or {}).items():
            if name in _METRICS:
                minutes[_METRICS[name]] = value
        return {metric: timedelta(minutes=value) for metric, value in minutes.items() if value}


_METRICS = {str(metric): metric for metric in Metric}


def sla_targets_errors(priority_targets: object) -> list[str]:
    """What is wrong with a policy's per-priority targets, each problem naming its place."""
    if not isinstance(priority_targets, dict):
        return [gettext('Expected an object of priorities to targets, e.g. {"4": {"first_response": 15}}.')]
    problems: list[str] = []
    for priority, targets in priority_targets.items():
        if priority not in {"1", "2", "3", "4"}:
            problems.append(
                gettext("%(priority)r is not a priority: use 1, 2, 3 or 4.") % {"priority": priority}
            )
            continue
        if not isinstance(targets, dict):
            problems.append(gettext("%(priority)s: expected an object of targets.") % {"priority": priority})
            continue
        for name, value in targets.items():
            if name not in _METRICS:
                problems.append(
                    gettext("%(priority)s.%(name)s: unknown target; use %(known)s.")
                    % {"priority": priority, "name": name, "known": ", ".join(_METRICS)}
                )
            elif value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                problems.append(
                    gettext("%(priority)s.%(name)s: %(value)r is not a number of minutes above zero.")
                    % {"priority": priority, "name": name, "value": value}
                )
    return problems


class RoutingRule(models.Model):
    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField(default=100)
    active = models.BooleanField(default=True)
    conditions = models.JSONField(default=dict, blank=True)
    actions = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        problems = rule_errors(conditions=self.conditions, actions=self.actions)
        if problems:
            raise ValidationError(problems)


class CannedResponse(models.Model):
    title = models.CharField(_("title"), max_length=200)
    shortcut = models.SlugField(_("shortcut"), max_length=50, unique=True)
    body = models.TextField(_("body"))
    team = models.ForeignKey("tickets.Team", null=True, blank=True, on_delete=models.CASCADE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["shortcut"]

    def __str__(self) -> str:
        return f"/{self.shortcut} {self.title}"


class Survey(models.Model):
    class Kind(models.TextChoices):
        CSAT = "csat", "CSAT"
        NPS = "nps", "NPS"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="surveys")
    contact = models.ForeignKey("tickets.Contact", on_delete=models.CASCADE, related_name="surveys")
    token = models.CharField(max_length=64, unique=True)
    score = models.SmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} for ticket {self.ticket_id}"
