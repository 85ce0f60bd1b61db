from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Message(models.Model):
    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")
        NOTE = "note", _("Internal note")
        SYSTEM = "system", _("System")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        FAILED = "failed", _("Failed")

    # Indexed by message_timeline, which leads with it.
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    direction = models.CharField(max_length=10, choices=Direction.choices)
    channel_account = models.ForeignKey(
        "channels_in.ChannelAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    identity = models.ForeignKey(
        "tickets.ContactIdentity", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    subject = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)
    full_text = models.TextField(blank=True)
    external_id = models.CharField(max_length=300, null=True, blank=True)  # noqa: DJ001 - NULL: no id, not unique
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    failure_reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    is_public = models.BooleanField(default=False)
    is_automatic = models.BooleanField(default=False)
    sent_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)
    # The customer changed or withdrew the message on their channel; earlier versions are kept in
    # ``metadata["edits"]`` and a deleted message keeps its text, for the audit trail.
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel_account", "external_id"],
                condition=Q(external_id__isnull=False),
                name="message_external_id_unique_per_account",
            )
        ]
        indexes = [
            models.Index(fields=["ticket", "sent_at", "id"], name="message_timeline"),
            models.Index(fields=["external_id"], name="message_external_id"),
            models.Index(fields=["status", "status_changed_at"], name="message_delivery_state"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} #{self.pk} on ticket {self.ticket_id}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=150)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    file = models.FileField(upload_to=attachment_path, blank=True)
    source_url = models.URLField(max_length=2000, blank=True)
    # Why the file behind ``source_url`` will never be fetched (``FetchFailure``); empty while it may be.
    fetch_failure = models.CharField(max_length=20, blank=True)
    content_id = models.CharField(max_length=300, blank=True)
    inline = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.filename
