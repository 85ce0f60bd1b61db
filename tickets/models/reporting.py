"""The reports' roll-ups: what ``tickets/reports/`` reads instead of scanning tickets and messages.

Three tables, all derived (``manage.py reports_rebuild`` recomputes them from the tickets, their
messages and the audit trail) and kept current by the ``reports_rollup`` job (tickets/reports/rollup.py):

- ``TicketFact``: one row per ticket, its current team, channel, assignee and tags, and its timings
  (first response, resolution, in business time where its SLA policy has a calendar), for medians and
  percentiles, which no sum can give;
- ``TicketActivity``: per ticket and UTC hour, what happened to it (created, solved, reopened,
  messages in, replies out), under its current team; the ``ReportHour`` buckets are its sums, and a tag
  filter reads it directly;
- ``ReportHour``: per UTC hour, team, channel and agent, those counts summed over tickets.

Team, channel and agent are plain ids rather than foreign keys: a deleted team or channel must not
cascade into (or null out and collide in) the buckets; the next rebuild drops what no longer exists.
See docs/reports.md.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class TicketFact(models.Model):
    """What the reports need of one ticket, as of the ticket's ``seq`` when it was last folded in."""

    ticket = models.OneToOneField(
        "tickets.Ticket", primary_key=True, on_delete=models.CASCADE, related_name="report_fact"
    )
    seq = models.PositiveBigIntegerField(default=0)
    team_id = models.BigIntegerField(null=True, blank=True)
    channel_id = models.BigIntegerField(null=True, blank=True)
    assignee_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10)
    priority = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    first_response_seconds = models.PositiveIntegerField(null=True, blank=True)
    # The last time the ticket left the open statuses, while it stays out of them.
    solved_at = models.DateTimeField(null=True, blank=True)
    # Null unless the ticket is solved or closed and was not merged into another.
    resolution_seconds = models.PositiveIntegerField(null=True, blank=True)
    reopened_count = models.PositiveIntegerField(default=0)
    # Whether the timings above are business time (the ticket's SLA policy has a calendar).
    business_time = models.BooleanField(default=False)
    sla_policy_id = models.BigIntegerField(null=True, blank=True)
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    tag_names = models.TextField(blank=True)  # sorted, comma-separated: for the export

    class Meta:
        indexes = [
            models.Index(fields=["created_at", "ticket"], name="report_fact_created"),
            models.Index(
                fields=["first_response_at"],
                condition=Q(first_response_at__isnull=False),
                name="report_fact_first_response",
            ),
            models.Index(
                fields=["solved_at"], condition=Q(solved_at__isnull=False), name="report_fact_solved"
            ),
            models.Index(
                fields=["sla_breached_at"],
                condition=Q(sla_breached_at__isnull=False),
                name="report_fact_sla_breached",
            ),
        ]

    def __str__(self) -> str:
        return f"facts of #{self.ticket_id}@{self.seq}"


class _HourCounts(models.Model):
    hour = models.DateTimeField()  # the start of a UTC hour
    team_id = models.BigIntegerField(null=True, blank=True)
    channel_id = models.BigIntegerField(null=True, blank=True)
    # The ticket's assignee for created, solved, reopened and messages in; the author for replies out.
    agent_id = models.BigIntegerField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    solved = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    messages_in = models.PositiveIntegerField(default=0)
    replies_out = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class TicketActivity(_HourCounts):
    """One ticket's counts in one hour, for one channel and agent: a ``ReportHour`` bucket's parts."""

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="report_activity", db_index=False
    )

    class Meta:
        indexes = [
            # A ticket's rows are replaced whole when it is folded again, and a tag filter joins on it.
            models.Index(fields=["ticket", "hour"], name="report_activity_ticket"),
            # A bucket is recomputed from the rows of its hour.
            models.Index(fields=["hour"], name="report_activity_hour"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} at {self.hour:%Y-%m-%d %H:00}"


class ReportHour(_HourCounts):
    """The counts of every ticket of one team, channel and agent in one UTC hour."""

    class Meta:
        indexes = [models.Index(fields=["hour"], name="report_hour")]

    def __str__(self) -> str:
        return (
            f"{self.hour:%Y-%m-%d %H:00} team {self.team_id} channel {self.channel_id} agent {self.agent_id}"
        )


class ReportRollupState(models.Model):
    """One row: how far the audit trail has been folded in, and who holds the right to fold now."""

    # Every audit row up to this id is folded in; later ones are looked at again until they are old
    # enough that no transaction still open can commit one below them (``checkpoints``).
    watermark = models.BigIntegerField(default=0)
    checkpoints = models.JSONField(default=list, blank=True)  # [[unix time, highest id seen], ...]
    lease_owner = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    folded_at = models.DateTimeField(null=True, blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"report roll-ups up to event {self.watermark}"
