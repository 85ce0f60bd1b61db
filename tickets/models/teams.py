from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# A weight says how many slots of an agent's capacity one open ticket of a channel takes.
MAX_CHANNEL_WEIGHT = 100


def channel_weights_errors(weights: object) -> list[str]:
    """Why ``weights`` is not ``{"<channel kind>": <whole number from 1 to MAX_CHANNEL_WEIGHT>, …}``."""
    if not isinstance(weights, dict):
        return [str(_('Expected an object of channel kinds and weights, such as {"webchat": 3}.'))]
    problems = []
    for kind, weight in weights.items():
        if not isinstance(kind, str) or not kind.strip() or not kind.replace("_", "").isalnum():
            problems.append(str(_("%(kind)r is not a channel kind.") % {"kind": kind}))
        elif type(weight) is not int or not 1 <= weight <= MAX_CHANNEL_WEIGHT:
            problems.append(
                str(_("%(kind)s: the weight must be a whole number from 1 to %(max)s."))
                % {"kind": kind, "max": MAX_CHANNEL_WEIGHT}
            )
    return problems


class Team(models.Model):
    class Strategy(models.TextChoices):
        MANUAL = "manual", _("Manual")
        ROUND_ROBIN = "round_robin", _("Round robin")
        LEAST_LOADED = "least_loaded", _("Least loaded")

    name = models.CharField(_("name"), max_length=100, unique=True)
    assignment_strategy = models.CharField(max_length=20, choices=Strategy.choices, default=Strategy.MANUAL)
    # The policy of the team's tickets that no routing rule gave one.
    sla_policy = models.ForeignKey(
        "tickets.SLAPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # How long a ticket waits for an agent with the skills and language it needs before any agent of the
    # team may take it; 0 never relaxes.
    skills_fallback_minutes = models.PositiveIntegerField(default=10)
    # What one open ticket costs of an agent's capacity, by channel kind: {"webchat": 3, "email": 1}.
    # Kinds not named cost ``settings.ROUTING_CHANNEL_WEIGHTS``'s value, else 1.
    channel_weights = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        problems = channel_weights_errors(self.channel_weights)
        if problems:
            raise ValidationError({"channel_weights": problems})


class AgentProfile(models.Model):
    class Role(models.TextChoices):
        AGENT = "agent", _("Agent")
        SUPERVISOR = "supervisor", _("Supervisor")
        ADMIN = "admin", _("Administrator")

    class Presence(models.TextChoices):
        ONLINE = "online", _("Online")
        AWAY = "away", _("Away")
        OFFLINE = "offline", _("Offline")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.AGENT)
    teams = models.ManyToManyField(Team, related_name="agents", blank=True)
    skills = models.JSONField(default=list, blank=True)
    languages = models.JSONField(default=list, blank=True)
    capacity = models.PositiveIntegerField(default=10)
    presence = models.CharField(max_length=10, choices=Presence.choices, default=Presence.OFFLINE)
    presence_manual = models.CharField(max_length=10, choices=Presence.choices, blank=True)
    presence_changed_at = models.DateTimeField(null=True, blank=True)
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    ui_language = models.CharField(max_length=10, blank=True)
    # A supervisor who watches and reports on only the teams they belong to; admins are never limited.
    limited_to_teams = models.BooleanField(
        _("limited to their teams"),
        default=False,
        help_text=_("A supervisor who sees only the tickets, dashboards and reports of their own teams."),
    )

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()

    @property
    def supervises(self) -> bool:
        """A supervisor or admin: opens the dashboard and reports, of every team or of their own."""
        return self.role in {self.Role.SUPERVISOR, self.Role.ADMIN}

    @property
    def sees_all_teams(self) -> bool:
        """Every team's tickets, and the desk-wide settings (rules, policies, calendars) to change."""
        return self.role == self.Role.ADMIN or (
            self.role == self.Role.SUPERVISOR and not self.limited_to_teams
        )
