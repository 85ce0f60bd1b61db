from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_channel_key() -> str:
    return secrets.token_urlsafe(12)


class ChannelAccount(models.Model):
    """One configured endpoint: a mailbox, a widget, a page, a number, a bot, an API integration."""

    class Kind(models.TextChoices):
        API = "api", _("API")
        EMAIL = "email", _("Email")
        WEBCHAT = "webchat", _("Web chat")
        MESSENGER = "messenger", "Messenger"
        INSTAGRAM = "instagram", "Instagram"
        WHATSAPP = "whatsapp", "WhatsApp"
        TELEGRAM = "telegram", "Telegram"
        X = "x", "X"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    key = models.SlugField(max_length=64, unique=True, default=new_channel_key)
    # Validated by the kind's schema; may hold secrets, so never log or serialize it whole.
    config = models.JSONField(default=dict, blank=True)
    default_team = models.ForeignKey("tickets.Team", null=True, blank=True, on_delete=models.SET_NULL)
    active = models.BooleanField(default=True)
    health = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def __repr__(self) -> str:
        return f"<ChannelAccount {self.pk} {self.kind} {self.key}>"

    def clean(self) -> None:
        """The configuration as the kind's registered schema (``channels_in.registry``) accepts it."""
        from channels_in.registry import ConfigInvalid, config_validate, kinds_registered

        if self.kind not in kinds_registered():
            raise ValidationError({"kind": _("No channel of this kind is available.")})
        try:
            config_validate(self.kind, self.config)
        except ConfigInvalid as invalid:
            raise ValidationError(
                {
                    "config": _("Not a valid %(kind)s configuration: %(problem)s")
                    % {"kind": self.get_kind_display(), "problem": invalid}
                }
            ) from invalid


class InboundEvent(models.Model):
    """A raw payload exactly as received, stored before it is acknowledged."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        IGNORED = "ignored", _("Ignored")

    # Indexed by inbound_event_provider_id_unique, which leads with it.
    channel_account = models.ForeignKey(
        ChannelAccount, on_delete=models.PROTECT, related_name="inbound_events", db_index=False
    )
    provider_event_id = models.CharField(max_length=300, null=True, blank=True)  # noqa: DJ001 - NULL: no id, not unique
    content_type = models.CharField(max_length=150, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(default=timezone.now)
    # Set when a worker starts on the event: a claim this old means the worker died holding it.
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Each index is written when an event is recorded and again when it is filed (its state is
        # indexed, so that update is never HOT): three indexes, not five. Events without a provider id
        # never collide, since NULLs are distinct, so the key needs no condition and also serves as the
        # channel account's index. Filed events leave the pending index, which stays the size of the
        # backlog plus the failures.
        # An event that was not filed (failed, ignored) always says why, for the administrator.
        constraints = [
            models.UniqueConstraint(
                fields=["channel_account", "provider_event_id"], name="inbound_event_provider_id_key"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["failed", "ignored"]) | ~Q(error=""),
                name="inbound_event_not_filed_says_why",
            ),
        ]
        indexes = [
            models.Index(
                fields=["state", "received_at"],
                name="inbound_event_to_do",
                condition=Q(state__in=["pending", "failed"]),
            )
        ]

    def __str__(self) -> str:
        return f"InboundEvent {self.pk} ({self.state})"


class MailboxCursor(models.Model):
    """Where the IMAP poller stands in one folder: UIDVALIDITY + last UID, so nothing is fetched twice."""

    channel_account = models.ForeignKey(
        ChannelAccount, on_delete=models.CASCADE, related_name="mailbox_cursors"
    )
    folder = models.CharField(max_length=200)
    uidvalidity = models.PositiveBigIntegerField(null=True, blank=True)
    last_uid = models.PositiveBigIntegerField(default=0)
    # A poll in progress holds the lease; a poller that died lets it run out.
    lease_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel_account", "folder"], name="mailbox_cursor_unique_folder")
        ]

    def __str__(self) -> str:
        return f"{self.channel_account_id}:{self.folder} @ {self.uidvalidity}/{self.last_uid}"
