"""Shapes of routing rules, SLA policies and business calendars in the API.

The serializers check types and presence only; what a rule, a policy or a calendar means is checked
by the model's ``clean()``, called by the services (``tickets.services.routing_config``), so the API
refuses exactly what the admin and the supervisor screen refuse, in the same words.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import serializers

from tickets.api.serializers import SlugStringField, StringField
from tickets.models import BusinessCalendar, RoutingRule, SLAPolicy
from tickets.services.routing_config import CALENDAR_FIELDS, POLICY_FIELDS, RULE_FIELDS


class _ConfigSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StringField,
        models.TextField: StringField,
        models.SlugField: SlugStringField,
    }

    def create(self, validated_data: dict[str, Any]) -> Any:
        raise NotImplementedError("views call tickets.services.routing_config")

    def update(self, instance: Any, validated_data: dict[str, Any]) -> Any:
        raise NotImplementedError("views call tickets.services.routing_config")


class RoutingRuleSerializer(_ConfigSerializer):
    conditions = serializers.JSONField(
        required=False,
        default=dict,
        help_text='{"all": [cond, ...], "any": [cond, ...]}, each cond {"field", "op", "value"}; '
        "see docs/routing.md. Empty matches every message.",
    )
    actions = serializers.JSONField(
        required=False,
        default=dict,
        help_text='{"team", "priority", "tags", "skills", "sla_policy", "assignee", "spam", "continue"}, '
        "each optional.",
    )
    order = serializers.IntegerField(
        min_value=0,
        max_value=2_147_483_647,
        required=False,
        help_text="Lower runs first (then by id). Left out on create: after the last rule.",
    )

    class Meta:
        model = RoutingRule
        fields = ["id", *RULE_FIELDS]
        read_only_fields = ["id"]


class SLAPolicySerializer(_ConfigSerializer):
    calendar = serializers.PrimaryKeyRelatedField(
        queryset=BusinessCalendar.objects.all(),
        allow_null=True,
        required=False,
        help_text="The business calendar the targets count in; null counts every hour.",
    )
    conditions = serializers.JSONField(
        required=False, default=dict, help_text="As a routing rule's: the tickets the policy is for."
    )
    priority_targets = serializers.JSONField(
        required=False,
        default=dict,
        help_text='Per priority, the targets that differ: {"4": {"first_response": 15}}; null drops one.',
    )
    escalations = serializers.JSONField(
        required=False,
        default=dict,
        help_text='What a warning and a breach do: {"warning": {"notify": true}, '
        '"breach": {"priority": "raise", "team": 3, "unassign": true}}.',
    )

    class Meta:
        model = SLAPolicy
        fields = ["id", *POLICY_FIELDS]
        read_only_fields = ["id"]


class BusinessCalendarSerializer(_ConfigSerializer):
    intervals = serializers.JSONField(
        required=False,
        default=dict,
        help_text='Per weekday, working intervals: {"mon": [["09:00", "13:00"], ["14:00", "18:00"]]}.',
    )
    holidays = serializers.JSONField(
        required=False, default=list, help_text='Days off: "2026-12-24" once, "12-07" every year.'
    )

    class Meta:
        model = BusinessCalendar
        fields = ["id", *CALENDAR_FIELDS]
        read_only_fields = ["id"]
