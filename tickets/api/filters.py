"""Query parameters of the ticket and contact lists: validated here, applied by ``tickets.selectors``."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django import forms
from django.db.models import QuerySet

from tickets.models import Contact, Ticket
from tickets.selectors import TicketFilters, contact_search, ticket_filter, tickets_due_first


class IntegerFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class TicketFilterForm(forms.Form):
    def clean_assignee(self) -> str | int | None:
        value = (self.cleaned_data.get("assignee") or "").strip()
        if not value:
            return None
        if value in {"me", "none"}:
            return value
        if value.isdigit():
            return int(value)
        raise forms.ValidationError('Expected "me", "none" or a user id.')


class TicketFilterSet(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        choices=Ticket.Status.choices, help_text="One or more statuses (repeat the parameter)."
    )
    team = IntegerFilter(help_text="Team id.")
    assignee = filters.CharFilter(help_text='"me", "none" (unassigned) or a user id.')
    channel = IntegerFilter(field_name="origin_channel", help_text="Id of the channel the ticket came in on.")
    priority = filters.TypedChoiceFilter(
        choices=Ticket.Priority.choices, coerce=int, help_text="1 low, 2 normal, 3 high, 4 urgent."
    )
    tag = filters.CharFilter(help_text="Tag name.")
    q = filters.CharFilter(
        help_text="Text in the subject, any message, the contact's name or one of their identities."
    )
    sort = filters.ChoiceFilter(
        choices=[("queue", "queue"), ("due", "due")],
        method="sort_noop",
        help_text=(
            '"queue" (default): most urgent first, then longest waiting. "due": only the tickets with a '
            "running SLA clock, soonest due (or most overdue) first."
        ),
    )

    class Meta:
        model = Ticket
        fields: list[str] = []
        form = TicketFilterForm

    def filter_queryset(self, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        data: dict[str, Any] = self.form.cleaned_data
        wanted = TicketFilters(
            statuses=list(data.get("status") or []) or None,
            team_id=data.get("team"),
            assignee=data.get("assignee"),
            channel_id=data.get("channel"),
            priority=data.get("priority") if data.get("priority") not in (None, "") else None,
            tag=data.get("tag") or None,
            q=data.get("q") or None,
        )
        filtered = ticket_filter(queryset, user=self.request.user, filters=wanted)
        return tickets_due_first(filtered) if data.get("sort") == "due" else filtered

    def sort_noop(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        # Applied in filter_queryset, after the filters; the pagination orders by the same keys.
        return queryset


class ContactFilterSet(filters.FilterSet):
    q = filters.CharFilter(help_text="Text in the contact's name or one of their identities (email, phone…).")

    class Meta:
        model = Contact
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[Contact]) -> QuerySet[Contact]:
        return contact_search(queryset, q=self.form.cleaned_data.get("q") or None)
