"""The forms of the rules screen: a rule with its conditions and actions as JSON text, and a made-up
message to try rules on."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tickets.channel_port import channel_account_model
from tickets.jsonload import JsonRejected, json_load
from tickets.models import RoutingRule, Ticket
from tickets.routing_rules import RoutingFacts

# A rule's JSON is a few hundred characters; this is far above any real one and bounds the parse.
RULE_JSON_MAX_CHARS = 50_000
ORDER_MAX = 2_147_483_647  # PositiveIntegerField


# The order a person writes a rule's keys in; PostgreSQL's jsonb keeps its own (shortest key first).
_CONDITION_KEYS = ("all", "any", "field", "name", "op", "value")
_ACTION_KEYS = ("team", "priority", "tags", "skills", "sla_policy", "assignee", "spam", "continue")
_KEY_ORDER = {key: rank for rank, key in enumerate((*_CONDITION_KEYS, *_ACTION_KEYS))}


def json_pretty(value: object) -> str:
    return json.dumps(_keys_ordered(value), indent=2, ensure_ascii=False)


def _keys_ordered(value: object) -> object:
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: _KEY_ORDER.get(key, len(_KEY_ORDER)))
        return {key: _keys_ordered(value[key]) for key in keys}
    if isinstance(value, list):
        return [_keys_ordered(item) for item in value]
    return value


class JsonTextField(forms.CharField):
    """JSON written in a text area, read by the one bounded loader; empty means ``{}``."""

    widget = forms.Textarea(attrs={"rows": 10, "cols": 60, "spellcheck": "false", "class": "json"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, max_length=RULE_JSON_MAX_CHARS, strip=True, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return value if isinstance(value, str) else json_pretty(value)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return {}
        try:
            return json_load(text, max_bytes=RULE_JSON_MAX_CHARS * 4)
        except JsonRejected as rejected:
            raise ValidationError(
                gettext("This is not valid JSON: %(reason)s") % {"reason": rejected.reason}
            ) from None


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    order = forms.IntegerField(
        label=_("Order"),
        min_value=0,
        max_value=ORDER_MAX,
        required=False,
        help_text=_("Lower runs first; empty puts a new rule last."),
    )
    active = forms.BooleanField(label=_("Active"), required=False)
    conditions = JsonTextField(
        label=_("Conditions"), help_text=_('{"all": [...], "any": [...]}; empty matches every message.')
    )
    actions = JsonTextField(
        label=_("Actions"), help_text=_('{"team": 3, "priority": 4, "tags": [...], "continue": false}')
    )

    @staticmethod
    def initial_for(rule: RoutingRule | None) -> dict[str, Any]:
        if rule is None:
            return {"active": True, "conditions": {"all": []}, "actions": {}}
        return {
            "name": rule.name,
            "order": rule.order,
            "active": rule.active,
            "conditions": rule.conditions,
            "actions": rule.actions,
        }


def channel_kind_choices() -> list[tuple[str, str]]:
    kind = channel_account_model()._meta.get_field("kind")
    kinds = getattr(kind, "choices", None) or []
    return [("", gettext("any (unknown)")), *((str(value), str(label)) for value, label in kinds)]


class PreviewForm(forms.Form):
    """The facts of a made-up message; every field may stay empty, as a fact may be unknown."""

    channel_kind = forms.ChoiceField(label=_("Channel"), required=False)
    subject = forms.CharField(label=_("Subject"), max_length=300, required=False)
    text = forms.CharField(
        label=_("Text"), max_length=20_000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    language = forms.CharField(label=_("Language"), max_length=20, required=False, help_text=_("it, en, …"))
    contact_tags = forms.CharField(
        label=_("Contact tags"), max_length=500, required=False, help_text=_("comma, separated")
    )
    contact_tier = forms.CharField(label=_("Contact tier"), max_length=50, required=False)
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=Ticket.Priority.choices, coerce=int, initial=Ticket.Priority.NORMAL
    )
    business_hours = forms.ChoiceField(
        label=_("Business hours"),
        required=False,
        choices=[("", _("unknown (no calendar)")), ("open", _("open")), ("closed", _("closed"))],
    )

    prefix = "preview"  # its fields beside the rule's in one form: "preview-text", not "text"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel_kind"].choices = channel_kind_choices()  # type: ignore[attr-defined]

    def facts(self) -> RoutingFacts:
        data = self.cleaned_data
        tags = frozenset(tag.strip() for tag in data["contact_tags"].split(",") if tag.strip())
        hours = {"open": True, "closed": False}.get(data["business_hours"])
        return RoutingFacts(
            channel_kind=data["channel_kind"],
            channel_account_id=None,
            subject=data["subject"],
            text=data["text"],
            language=data["language"].strip(),
            contact_tags=tags,
            contact_tier=data["contact_tier"],
            contact_attributes={},
            priority=data["priority"],
            in_business_hours=hours,
        )
