from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_ticket_token() -> str:
    # Short enough for a subject line, long enough not to be guessed: it threads replies.
    return secrets.token_hex(5)


class Tag(models.Model):
    name = models.CharField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TicketQuerySet(models.QuerySet["Ticket"]):
    def primary_open(self, **lookups: Any) -> TicketQuerySet:
        """Open tickets that are their contact's primary one: where a new customer message goes.

        A ticket an agent split off stays open beside the primary one, outside the one-open-ticket
        rule (the ``one_open_ticket_per_contact`` constraint says the same). ``lookups`` narrow it in
        the same ``filter`` call, which the ingest path's per-message queries save compiling twice.
        """
        return self.filter(status__in=Ticket.OPEN_STATUSES, split_from__isnull=True, **lookups)


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        PENDING = "pending", _("Pending")
        ON_HOLD = "on_hold", _("On hold")
        SOLVED = "solved", _("Solved")
        CLOSED = "closed", _("Closed")

    class Priority(models.IntegerChoices):
        LOW = 1, _("Low")
        NORMAL = 2, _("Normal")
        HIGH = 3, _("High")
        URGENT = 4, _("Urgent")

    OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)

    subject = models.CharField(_("subject"), max_length=300, blank=True)
    # No index of its own on this, team and assignee: the queue and history indexes below lead with
    # them, and every index is one more write on each ticket update.
    contact = models.ForeignKey(
        "tickets.Contact", on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    team = models.ForeignKey(
        "tickets.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
        db_index=False,
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    origin_channel = models.ForeignKey(
        "channels_in.ChannelAccount", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    follow_up_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_tickets"
    )
    # Set when an agent split a message off into this ticket: a deliberate second open ticket of the
    # contact, outside the one-open-ticket rule (new customer messages keep joining the primary one).
    split_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="split_tickets"
    )
    token = models.CharField(max_length=20, unique=True, default=new_ticket_token)
    language = models.CharField(max_length=10, blank=True)
    sla_policy = models.ForeignKey("tickets.SLAPolicy", null=True, blank=True, on_delete=models.SET_NULL)
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    next_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    # The SLA clocks (``tickets.sla_clock``), their earliest due time (queues sort and filter by it) and
    # the next warning or breach to fire (the timers' index); see tickets/services/sla.py.
    sla_state = models.JSONField(default=dict, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    sla_alarm_at = models.DateTimeField(null=True, blank=True)
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    # Routing rules run once per life of the ticket: when created, and again after each reopen.
    triaged_round = models.PositiveIntegerField(default=0)
    # Skills a rule said the ticket needs: only agents with all of them (and its language) get it, until
    # the team's fallback wait has passed.
    required_skills = models.JSONField(default=list, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_agent_message_at = models.DateTimeField(null=True, blank=True)
    awaiting_agent_since = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    reopened_count = models.PositiveIntegerField(default=0)
    csat_score = models.SmallIntegerField(null=True, blank=True)
    seq = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = TicketQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact"],
                condition=Q(status__in=["new", "open", "pending", "on_hold"], split_from__isnull=True),
                name="one_open_ticket_per_contact",
            )
        ]
        indexes = [
            models.Index(fields=["team", "status", "-priority", "created_at"], name="ticket_team_queue"),
            models.Index(fields=["assignee", "status", "-priority", "created_at"], name="ticket_agent_queue"),
            models.Index(fields=["status", "-updated_at"], name="ticket_status_updated"),
            models.Index(fields=["contact", "-created_at"], name="ticket_contact_history"),
            # The queue order of the inbox, over open tickets only: a page is an index walk that stops
            # after 51 rows, whatever the view's filter. The expression must stay the one
            # ``selectors.TICKET_QUEUE_ORDER`` sorts by.
            models.Index(
                F("priority").desc(),
                Coalesce("awaiting_agent_since", "created_at"),
                F("id"),
                condition=Q(status__in=["new", "open", "pending", "on_hold"]),
                name="ticket_open_queue",
            ),
            # The same order over solved and closed tickets, for the "Solved" view: without it a page
            # sorted every closed ticket of the agent's teams (a parallel scan of the table).
            models.Index(
                F("priority").desc(),
                Coalesce("awaiting_agent_since", "created_at"),
                F("id"),
                condition=Q(status__in=["solved", "closed"]),
                name="ticket_closed_queue",
            ),
            # The timers' index: what is due is a range scan, whatever the number of open tickets.
            models.Index(
                fields=["sla_alarm_at"], condition=Q(sla_alarm_at__isnull=False), name="ticket_sla_alarm"
            ),
            # Open tickets the routing rules have not seen this round (a lost routing task): the sweep's.
            models.Index(
                fields=["id"],
                condition=Q(
                    status__in=["new", "open", "pending", "on_hold"], triaged_round__lte=F("reopened_count")
                ),
                name="ticket_untriaged",
            ),
            # "Breaching soon" and the due-time sort, over open tickets whose clocks run.
            models.Index(
                fields=["sla_due_at", "id"],
                condition=Q(status__in=["new", "open", "pending", "on_hold"], sla_due_at__isnull=False),
                name="ticket_sla_due",
            ),
            # Every column the inbox counts read: they are counted from this index alone.
            models.Index(
                fields=["team", "assignee", "status", "id"],
                condition=Q(status__in=["new", "open", "pending", "on_hold"]),
                name="ticket_open_counts",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class TicketEvent(models.Model):
    """Append-only audit trail and the replay log for live clients: one row per ``seq``."""

    # Indexed by ticket_event_seq_unique, which leads with it.
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", db_index=False)
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Why, as words an agent typed; or, when the system decided, as a code and values put into words
    # in each reader's language (``reason_text``, tickets/reasons.py).
    reason = models.CharField(max_length=300, blank=True)
    reason_data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["ticket_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["ticket", "seq"], name="ticket_event_seq_unique")]

    def __str__(self) -> str:
        return f"#{self.ticket_id}@{self.seq} {self.type}"

    @property
    def reason_text(self) -> str:
        """The reason in the active language."""
        from tickets.reasons import reason_from_data, reason_render

        return reason_render(reason_from_data(self.reason_data)) if self.reason_data else self.reason


class SlaMetricEvent(models.Model):
    """What happened to one SLA clock of a ticket, and when: the history reports measure SLAs from."""

    class Kind(models.TextChoices):
        APPLIED = "apply_sla", _("Policy applied")
        ACTIVATED = "activate", _("Started")
        PAUSED = "pause", _("Paused")
        FULFILLED = "fulfill", _("Fulfilled")
        WARNING = "warning", _("Warning")
        BREACHED = "breach", _("Breached")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_events", db_index=False)
    metric = models.CharField(max_length=20, blank=True)  # blank for "apply_sla", which concerns them all
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    policy = models.ForeignKey("tickets.SLAPolicy", null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["ticket_id", "at", "id"]
        indexes = [models.Index(fields=["ticket", "at"], name="sla_event_ticket_at")]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.metric} {self.kind} at {self.at:%Y-%m-%d %H:%M}"
