"""Shapes of the API's requests and responses. Serializers validate and present; services write."""

from __future__ import annotations

from typing import Any

import nh3
from django.contrib.auth import get_user_model
from django.db import models
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tickets.channel_port import channel_account_model
from tickets.models import (
    AgentProfile,
    Attachment,
    CannedResponse,
    Contact,
    ContactIdentity,
    ContactMerge,
    Message,
    Team,
    Ticket,
)
from tickets.services.sla import sla_data

User = get_user_model()


class _TextOnly(serializers.CharField):
    """Text, and only text: a number is refused as the schema says, rather than read as its digits.

    Form and multipart bodies carry every value as text, so this changes only what a JSON body may send.
    """

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StringField(_TextOnly):
    pass


class SlugStringField(_TextOnly, serializers.SlugField):
    pass


def _full_name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, user: Any) -> str:
        return _full_name(user)


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "assignment_strategy"]


class TeamRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name"]


class ChannelRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = channel_account_model()
        fields = ["id", "kind", "name"]


class ContactRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "name"]


class SlaMetricSerializer(serializers.Serializer):
    due_at = serializers.DateTimeField(allow_null=True)
    fulfilled_at = serializers.DateTimeField(allow_null=True)
    breached = serializers.BooleanField()
    warned = serializers.BooleanField()


class TicketSlaSerializer(serializers.Serializer):
    """What ``tickets.services.sla.sla_data`` gives: the ticket's SLA, as live events also carry it."""

    sla_policy_id = serializers.IntegerField(allow_null=True)
    sla_due_at = serializers.DateTimeField(allow_null=True, help_text="The earliest due time still running.")
    sla_breached_at = serializers.DateTimeField(allow_null=True)
    sla_paused = serializers.BooleanField(help_text="Waiting on the customer: the clocks stand still.")
    sla_metrics = serializers.DictField(
        child=SlaMetricSerializer(),
        help_text="By metric: first_response, next_response, resolution (only those with a target).",
    )


class TicketSerializer(serializers.ModelSerializer):
    contact = ContactRefSerializer(read_only=True)
    team = TeamRefSerializer(read_only=True, allow_null=True)
    assignee = UserRefSerializer(read_only=True, allow_null=True)
    channel = ChannelRefSerializer(source="origin_channel", read_only=True, allow_null=True)
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    sla = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id",
            "subject",
            "status",
            "priority",
            "contact",
            "team",
            "assignee",
            "channel",
            "tags",
            "language",
            "seq",
            "follow_up_of",
            "merged_into",
            "split_from",
            "reopened_count",
            "awaiting_agent_since",
            "first_response_due_at",
            "next_response_due_at",
            "resolution_due_at",
            "sla",
            "first_response_at",
            "last_customer_message_at",
            "last_agent_message_at",
            "solved_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(TicketSlaSerializer)
    def get_sla(self, ticket: Ticket) -> dict[str, Any]:
        return sla_data(ticket)


class TicketUpdateSerializer(serializers.Serializer):
    """A partial change; omitted fields are left as they are, ``null`` clears team or assignee."""

    status = serializers.ChoiceField(choices=Ticket.Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices, required=False)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), allow_null=True, required=False)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(agent__isnull=False, is_active=True), allow_null=True, required=False
    )
    tags = serializers.ListField(
        child=StringField(max_length=60, allow_blank=False), max_length=50, required=False
    )
    expected_seq = serializers.IntegerField(
        min_value=0,
        required=False,
        help_text="The ticket's seq as last read: if it changed since, the update is refused with 409.",
    )
    reason = StringField(max_length=300, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        changes = {"status", "priority", "team", "assignee", "tags"}
        if not changes & attrs.keys():
            raise serializers.ValidationError(
                {"non_field_errors": [f"Nothing to change: send one of {', '.join(sorted(changes))}."]}
            )
        return attrs


class StaleTicketSerializer(serializers.Serializer):
    detail = serializers.CharField()
    ticket = TicketSerializer()


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "inline", "url"]

    def get_url(self, attachment: Attachment) -> str | None:
        """The API's own download (visibility checked, served as a download), not the storage's URL."""
        if not attachment.file:
            return None
        request = self.context.get("request")
        url = reverse("api-attachment", kwargs={"attachment_id": attachment.pk})
        return request.build_absolute_uri(url) if request is not None else url


class IdentitySerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactIdentity
        fields = ["id", "kind", "value", "verified", "bounced_at", "last_seen_at"]


class MessageIdentitySerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactIdentity
        fields = ["id", "kind", "value"]


class MessageSerializer(serializers.ModelSerializer):
    author = UserRefSerializer(read_only=True, allow_null=True)
    channel = ChannelRefSerializer(source="channel_account", read_only=True, allow_null=True)
    identity = MessageIdentitySerializer(read_only=True, allow_null=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "ticket",
            "direction",
            "channel",
            "identity",
            "author",
            "subject",
            "text",
            "html",
            "status",
            "failure_reason",
            "attempts",
            "is_public",
            "is_automatic",
            "attachments",
            "sent_at",
            "status_changed_at",
        ]
        read_only_fields = fields


def files_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.FileField(allow_empty_file=False),
        required=False,
        default=list,
        help_text=(
            "Files to attach (multipart/form-data, the field repeated per file). Over "
            "REPLY_ATTACHMENTS_MAX_FILES files, REPLY_ATTACHMENTS_MAX_BYTES in all or ATTACHMENT_MAX_BYTES "
            "for one: 413. A type not in REPLY_ATTACHMENT_TYPES, or content that is not of its type: 400."
        ),
    )


class ReplySerializer(serializers.Serializer):
    text = StringField(max_length=100_000, trim_whitespace=True)
    files = files_field()
    html = StringField(max_length=500_000, required=False, allow_blank=True, default="")
    channel = serializers.PrimaryKeyRelatedField(
        queryset=channel_account_model()._default_manager.filter(active=True),
        required=False,
        allow_null=True,
        default=None,
        help_text="Reply on this channel; by default, the one the customer last wrote from.",
    )

    def validate_html(self, html: str) -> str:
        # Agent HTML reaches customers' mail clients and our own screens: only safe markup is kept.
        return nh3.clean(html) if html else ""


class NoteSerializer(serializers.Serializer):
    text = StringField(max_length=100_000, trim_whitespace=True)
    files = files_field()


class SplitRequestSerializer(serializers.Serializer):
    expected_seq = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The ticket's seq as you read it; if it changed meanwhile the split is refused with 409.",
    )
    reason = StringField(max_length=200, required=False, allow_blank=True, default="")


class TicketSummarySerializer(serializers.ModelSerializer):
    team = TeamRefSerializer(read_only=True, allow_null=True)
    assignee = UserRefSerializer(read_only=True, allow_null=True)
    channel = ChannelRefSerializer(source="origin_channel", read_only=True, allow_null=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "subject",
            "status",
            "priority",
            "team",
            "assignee",
            "channel",
            "merged_into",
            "created_at",
        ]
        read_only_fields = fields


class ContactSerializer(serializers.ModelSerializer):
    identities = IdentitySerializer(many=True, read_only=True)
    ticket_count = serializers.IntegerField(
        source="visible_ticket_count", read_only=True, help_text="Tickets of this contact you may see."
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "name",
            "language",
            "tier",
            "tags",
            "identities",
            "ticket_count",
            "merged_into",
            "created_at",
        ]
        read_only_fields = fields


class ContactDetailSerializer(ContactSerializer):
    tickets = TicketSummarySerializer(source="visible_tickets", many=True, read_only=True)

    class Meta(ContactSerializer.Meta):
        fields = [*ContactSerializer.Meta.fields, "notes", "tickets"]
        read_only_fields = fields


class ContactMergeRequestSerializer(serializers.Serializer):
    into = serializers.PrimaryKeyRelatedField(
        queryset=Contact.objects.all(), help_text="The contact that remains."
    )
    reason = StringField(max_length=200, required=False, allow_blank=True, default="")


class ContactMergeSerializer(serializers.ModelSerializer):
    created_by = UserRefSerializer(read_only=True, allow_null=True)
    moved_identity_ids = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    moved_ticket_ids = serializers.ListField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = ContactMerge
        fields = [
            "id",
            "source",
            "target",
            "moved_identity_ids",
            "moved_ticket_ids",
            "reason",
            "created_by",
            "created_at",
            "undone_at",
        ]
        read_only_fields = fields


class AgentSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="user_id", read_only=True, help_text="The agent's user id.")
    username = serializers.CharField(source="user.username", read_only=True)
    name = serializers.SerializerMethodField()
    email = serializers.EmailField(source="user.email", read_only=True)
    teams = TeamRefSerializer(many=True, read_only=True)

    class Meta:
        model = AgentProfile
        fields = [
            "id",
            "username",
            "name",
            "email",
            "role",
            "teams",
            "presence",
            "capacity",
            "skills",
            "languages",
        ]
        read_only_fields = fields

    def get_name(self, profile: AgentProfile) -> str:
        return _full_name(profile.user)


class CannedResponseSerializer(serializers.ModelSerializer):
    """Placeholders such as ``{{ contact.first_name }}`` are kept as written; they are filled on use."""

    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(),
        allow_null=True,
        required=False,
        help_text="Limit the response to one team's agents; null shares it with everyone.",
    )
    created_by = UserRefSerializer(read_only=True, allow_null=True)
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StringField,
        models.TextField: StringField,
        models.SlugField: SlugStringField,
    }

    class Meta:
        model = CannedResponse
        fields = ["id", "title", "shortcut", "body", "team", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]

    def create(self, validated_data: dict[str, Any]) -> CannedResponse:
        raise NotImplementedError("views call tickets.services.canned")

    def update(self, instance: CannedResponse, validated_data: dict[str, Any]) -> CannedResponse:
        raise NotImplementedError("views call tickets.services.canned")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
