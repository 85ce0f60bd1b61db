from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.inbound import IdentityKind


class Contact(models.Model):
    """A customer, whatever channels they write from."""

    name = models.CharField(_("name"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    tier = models.CharField(_("tier"), max_length=40, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # The company's own facts about the customer ({"contract": "gold", "city": "Milano"}): routing rules
    # read them (``contact_attribute``).
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_contacts"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name or f"Contact #{self.pk}"

    @property
    def first_name(self) -> str:
        return self.name.split(" ", 1)[0] if self.name else ""


class ContactIdentity(models.Model):
    """One way to reach a contact: an email address, a phone, a provider user id, a widget visitor."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=20, choices=IdentityKind.CHOICES)
    value = models.CharField(max_length=320)
    verified = models.BooleanField(default=False)
    bounced_at = models.DateTimeField(null=True, blank=True)
    bounce_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="identity_kind_value_unique")]
        verbose_name_plural = "contact identities"

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class ContactMerge(models.Model):
    """A recorded merge, with what moved, so that it can be undone."""

    source = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="merges_as_source")
    target = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="merges_as_target")
    moved_identity_ids = models.JSONField(default=list)
    moved_ticket_ids = models.JSONField(default=list)
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"contact {self.source_id} into {self.target_id}"


class MergeSuggestion(models.Model):
    """Two contacts that share an unverified identity: an agent decides."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="merge_suggestions")
    candidate = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    identity_kind = models.CharField(max_length=20, choices=IdentityKind.CHOICES)
    identity_value = models.CharField(max_length=320)
    created_at = models.DateTimeField(default=timezone.now)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "candidate"], name="merge_suggestion_unique_pair")
        ]

    def __str__(self) -> str:
        return f"contact {self.contact_id} may be {self.candidate_id}"
