"""Configuration rows edited by administrators: SLA, calendars, routing rules, canned responses."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BusinessCalendar(models.Model):
    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="Europe/Rome")
    # {"mon": [["09:00", "13:00"], ["14:00", "18:00"]], ...}; an interval may run past midnight.
    intervals = models.JSONField(default=dict, blank=True)
    holidays = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return self.name


class SLAPolicy(models.Model):
    name = models.CharField(max_length=100, unique=True)
    order = models.PositiveIntegerField(default=100)
    conditions = models.JSONField(default=dict, blank=True)
    calendar = models.ForeignKey(BusinessCalendar, null=True, blank=True, on_delete=models.SET_NULL)
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name


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
