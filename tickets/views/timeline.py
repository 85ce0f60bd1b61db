"""One timeline for a ticket: customer and agent messages of every channel, notes, and audit events."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tickets.models import Message, Team, Ticket, TicketEvent

# Message events are shown as the messages themselves; delivery receipts as the message's status, and
# a customer's edit, deletion or reaction as the message's state.
_SHOWN_AS_MESSAGES = {
    "message.created",
    "message.status",
    "message.edited",
    "message.deleted",
    "message.reaction",
}
# The reason ``message_split`` gave the new ticket's "created" event before reasons were data.
_SPLIT_FROM = re.compile(r"^split from #(\d+)")


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # "message" or "event"
    message: Message | None = None
    event: TicketEvent | None = None
    text: str = ""


def _split_from(event: TicketEvent) -> str | None:
    """The ticket this one was split off, from its "created" event's reason."""
    reason = event.reason_data or {}
    if reason.get("code") == "ticket.split_from":
        return str((reason.get("values") or {}).get("ticket", "?"))
    # Rows written before reasons were data carry it as text.
    legacy = _SPLIT_FROM.match(event.reason or "")
    return legacy[1] if legacy else None


def _status_label(value: Any) -> str:
    return str(dict(Ticket.Status.choices).get(value, value))


def _priority_label(value: Any) -> str:
    return str(dict(Ticket.Priority.choices).get(value, value))


def _metric_label(value: Any) -> str:
    words = {
        "first_response": _("first response"),
        "next_response": _("next response"),
        "resolution": _("resolution"),
    }
    return str(words.get(str(value), value or "?"))


def _moment(value: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return "?"
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def describe(event: TicketEvent, *, users: dict[int, str], teams: dict[int, str]) -> str:
    """A sentence for an audit event, in the reader's language."""
    data = event.payload or {}
    names = {"actor": users.get(event.actor_id or 0, _("System"))}
    kind = event.type
    split_from = _split_from(event) if kind == "ticket.created" else None
    if split_from:
        return _("%(actor)s split this ticket off #%(other)s") % {**names, "other": split_from}
    if kind == "ticket.created":
        return _("Ticket created")
    if kind == "ticket.reopened":
        return _("Ticket reopened")
    if kind == "ticket.status_changed":
        return _("%(actor)s changed the status from %(old)s to %(new)s") % {
            **names,
            "old": _status_label(data.get("from")),
            "new": _status_label(data.get("to")),
        }
    if kind == "ticket.priority_changed":
        return _("%(actor)s changed the priority from %(old)s to %(new)s") % {
            **names,
            "old": _priority_label(data.get("from")),
            "new": _priority_label(data.get("to")),
        }
    if kind == "ticket.assigned":
        if data.get("to") is None:
            return _("%(actor)s unassigned the ticket") % names
        return _("%(actor)s assigned the ticket to %(agent)s") % {
            **names,
            "agent": users.get(data["to"], f"#{data['to']}"),
        }
    if kind == "ticket.team_changed":
        return _("%(actor)s moved the ticket to %(team)s") % {
            **names,
            "team": teams.get(data.get("to") or 0, _("no team")),
        }
    if kind == "ticket.tags_changed":
        return _("%(actor)s set the tags to: %(tags)s") % {
            **names,
            "tags": ", ".join(data.get("to") or []) or _("none"),
        }
    if kind == "ticket.merged":
        return _("%(actor)s merged this ticket into #%(other)s") % {**names, "other": data.get("into")}
    if kind == "ticket.merged_in":
        return _("%(actor)s merged ticket #%(other)s into this one") % {**names, "other": data.get("from")}
    if kind == "ticket.unmerged" and data.get("from"):
        return _("%(actor)s took this ticket back out of #%(other)s") % {**names, "other": data["from"]}
    if kind == "ticket.unmerged":
        return _("%(actor)s took ticket #%(other)s back out of the merge") % {
            **names,
            "other": data.get("ticket_id"),
        }
    if kind == "ticket.contact_changed":
        return _("%(actor)s merged the customer's contacts") % names
    if kind == "ticket.contact_merge_undone":
        return _("%(actor)s undid the merge of contact #%(other)s into this customer") % {
            **names,
            "other": data.get("source_id"),
        }
    if kind == "ticket.sla_applied":
        return _("SLA policy applied")
    if kind == "ticket.sla_warning":
        return _("SLA warning: the %(metric)s is due at %(due)s") % {
            "metric": _metric_label(data.get("metric")),
            "due": _moment(data.get("due_at")),
        }
    if kind == "ticket.sla_breached":
        return _("SLA breached: the %(metric)s was due at %(due)s") % {
            "metric": _metric_label(data.get("metric")),
            "due": _moment(data.get("alarm_at")),
        }
    if kind == "ticket.split":
        return _("%(actor)s split a message into the new ticket #%(other)s") % {
            **names,
            "other": data.get("ticket_id"),
        }
    return kind


def timeline_build(*, ticket: Ticket, messages: list[Message]) -> list[TimelineItem]:
    """Messages and events in time order; the names events mention are looked up in two queries."""
    events = list(
        TicketEvent.objects.filter(ticket=ticket).exclude(type__in=_SHOWN_AS_MESSAGES).order_by("seq")
    )
    user_ids: set[int] = set()
    team_ids: set[int] = set()
    for event in events:
        if event.actor_id:
            user_ids.add(event.actor_id)
        if event.type == "ticket.assigned" and event.payload.get("to"):
            user_ids.add(event.payload["to"])
        if event.type == "ticket.team_changed" and event.payload.get("to"):
            team_ids.add(event.payload["to"])
    users = {
        user.pk: user.get_full_name() or user.get_username()
        for user in (get_user_model().objects.filter(pk__in=user_ids) if user_ids else [])
    }
    teams = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "name")) if team_ids else {}
    items = [TimelineItem(at=message.sent_at, kind="message", message=message) for message in messages]
    items += [
        TimelineItem(
            at=event.created_at, kind="event", event=event, text=describe(event, users=users, teams=teams)
        )
        for event in events
    ]
    # "Ticket created" is recorded just after the message that created it; it still reads first.
    return sorted(items, key=lambda item: (not (item.event and item.event.type == "ticket.created"), item.at))


_PLACEHOLDER = re.compile(r"\{\{\s*(contact|agent|ticket)\.(first_name|name|id)\s*\}\}")


def placeholders_fill(body: str, *, ticket: Ticket, agent: Any) -> str:
    """Fill the documented placeholders of a canned response; anything else stays as written.

    A fixed table, not the template engine: canned bodies are written by people, not trusted code.
    """
    values = {
        ("contact", "first_name"): ticket.contact.first_name,
        ("contact", "name"): ticket.contact.name,
        ("agent", "first_name"): agent.first_name,
        ("agent", "name"): agent.get_full_name() or agent.get_username(),
        ("ticket", "id"): str(ticket.pk),
    }
    return _PLACEHOLDER.sub(lambda match: values.get((match[1], match[2]), match[0]), body)
