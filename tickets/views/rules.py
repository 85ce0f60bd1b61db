"""The supervisor's rules screen: routing rules listed, edited and tried on a made-up message; the SLA
policies and calendars shown beside them; and the rules run again on one ticket."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tickets.business_time import WEEKDAYS
from tickets.models import BusinessCalendar, RoutingRule, SLAPolicy
from tickets.rule_preview import Preview, RuleDraft, rule_preview
from tickets.selectors import ticket_get_or_404
from tickets.services.routing_config import (
    routing_rule_create,
    routing_rule_delete,
    routing_rule_move,
    routing_rule_set_active,
    routing_rule_update,
    ticket_rules_rerun,
)
from tickets.views.common import AgentRequest, supervisor_required
from tickets.views.rules_forms import ORDER_MAX, PreviewForm, RuleForm, json_pretty

_MOVES = {"up": -1, "down": 1}


@supervisor_required
def rules_list(request: AgentRequest) -> HttpResponse:
    rules = list(RoutingRule.objects.order_by("order", "id"))
    context = {
        "rules": [
            {"rule": rule, "conditions": json_pretty(rule.conditions), "actions": json_pretty(rule.actions)}
            for rule in rules
        ],
        "policies": [
            {"policy": policy, "overrides": json.dumps(policy.priority_targets, ensure_ascii=False)}
            for policy in SLAPolicy.objects.select_related("calendar").order_by("order", "id")
        ],
        "calendars": [
            {"calendar": calendar, "hours": _hours_text(calendar.intervals)}
            for calendar in BusinessCalendar.objects.order_by("name", "id")
        ],
    }
    return render(request, "workspace/rules.html", context)


@supervisor_required
def rule_new(request: AgentRequest) -> HttpResponse:
    return _rule_page(request, rule=None)


@supervisor_required
def rule_edit(request: AgentRequest, rule_id: int) -> HttpResponse:
    return _rule_page(request, rule=_rule_or_404(rule_id))


@require_POST
@supervisor_required
def rule_delete(request: AgentRequest, rule_id: int) -> HttpResponse:
    rule = _rule_or_404(rule_id)
    routing_rule_delete(rule=rule, actor=request.user)
    flash.success(request, _("Rule “%(name)s” deleted.") % {"name": rule.name})
    return redirect("rules")


@require_POST
@supervisor_required
def rule_move(request: AgentRequest, rule_id: int) -> HttpResponse:
    step = _MOVES.get(request.POST.get("direction", ""))
    if step is None:
        raise Http404("Unknown direction.")
    try:
        routing_rule_move(rule=_rule_or_404(rule_id), actor=request.user, step=step)
    except RoutingRule.DoesNotExist:
        raise Http404("No such rule.") from None
    return redirect("rules")


@require_POST
@supervisor_required
def rule_active(request: AgentRequest, rule_id: int) -> HttpResponse:
    rule = _rule_or_404(rule_id)
    active = request.POST.get("active") == "1"
    try:
        routing_rule_set_active(rule=rule, actor=request.user, active=active)
    except ValidationError as error:
        # Only switching on validates: a stored rule that no longer passes says why it cannot run.
        flash.error(request, " ".join(_problems(error)))
    else:
        done = _("Rule “%(name)s” is on.") if active else _("Rule “%(name)s” is off.")
        flash.success(request, done % {"name": rule.name})
    return redirect("rules")


@require_POST
@supervisor_required
def ticket_triage_view(request: AgentRequest, ticket_id: int) -> HttpResponse:
    """Run the routing rules and the SLA choice again on this ticket, then offer it for assignment."""
    ticket = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
    if not ticket.is_open:
        flash.error(request, _("Rules run on open tickets only: reopen it first."))
    else:
        ticket_rules_rerun(ticket_id=ticket.pk, actor=request.user)
        flash.success(request, _("Rules applied again; the timeline says what changed."))
    return redirect("ticket", ticket_id=ticket.pk)


def _hours_text(intervals: object) -> str:
    """``{"mon": [["09:00", "13:00"], …]}`` as one line: "mon 09:00-13:00, 14:00-18:00 · tue …"."""
    if not isinstance(intervals, dict):
        return ""
    days = []
    for day in sorted(intervals, key=lambda day: WEEKDAYS.index(day) if day in WEEKDAYS else len(WEEKDAYS)):
        shifts = intervals[day]
        if isinstance(shifts, list):
            spans = ", ".join("-".join(map(str, shift)) for shift in shifts if isinstance(shift, list))
            days.append(f"{day} {spans}")
    return " · ".join(days)


def _rule_or_404(rule_id: int) -> RoutingRule:
    rule = RoutingRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise Http404("No such rule.")
    return rule


def _rule_page(request: AgentRequest, *, rule: RoutingRule | None) -> HttpResponse:
    preview: Preview | None = None
    if request.method != "POST":
        form = RuleForm(initial=RuleForm.initial_for(rule))
        preview_form = PreviewForm()
    else:
        form, preview_form = RuleForm(request.POST), PreviewForm(request.POST)
        if request.POST.get("intent") == "preview":
            preview = _preview(form, preview_form, rule)
        elif form.is_valid():
            saved = _rule_save(request, form, rule)
            if saved is not None:
                flash.success(request, _("Rule “%(name)s” saved.") % {"name": saved.name})
                return redirect("rule_edit", rule_id=saved.pk)
    context = {"rule": rule, "form": form, "preview_form": preview_form, "preview": preview}
    return render(request, "workspace/rule_edit.html", context)


def _rule_save(request: AgentRequest, form: RuleForm, rule: RoutingRule | None) -> RoutingRule | None:
    """The rule saved through the service; None with its problems added to the form's fields."""
    data = form.cleaned_data
    values: dict[str, Any] = {
        "name": data["name"],
        "active": data["active"],
        "conditions": data["conditions"],
        "actions": data["actions"],
    }
    if data["order"] is not None:
        values["order"] = data["order"]
    try:
        if rule is None:
            return routing_rule_create(actor=request.user, **values)
        return routing_rule_update(rule=rule, actor=request.user, **values)
    except ValidationError as error:
        _errors_to_form(form, error)
        return None


def _preview(form: RuleForm, preview_form: PreviewForm, rule: RoutingRule | None) -> Preview | None:
    """The draft tried on the made-up message; the draft's own problems go next to its fields."""
    form.is_valid()
    if not preview_form.is_valid() or "conditions" in form.errors or "actions" in form.errors:
        return None
    data = form.cleaned_data
    order = data.get("order")
    if order is None:
        # Unsaved and without an order, the rule is tried last, where saving would put it.
        order = rule.order if rule is not None else ORDER_MAX
    draft = RuleDraft(
        rule_id=rule.pk if rule is not None else None,
        name=data.get("name") or _("(this rule)"),
        order=order,
        active=bool(data.get("active")),
        conditions=data["conditions"],
        actions=data["actions"],
    )
    preview = rule_preview(draft=draft, facts=preview_form.facts())
    for field, problems in preview.draft_errors.items():
        for problem in problems:
            form.add_error(field, problem)
    return preview


def _errors_to_form(form: Form, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, problems in error.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


def _problems(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [f"{field}: {problem}" for field, found in error.message_dict.items() for problem in found]
    return list(error.messages)
