"""Changes agents make to a ticket: status, priority, team, assignee, tags."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tickets import events
from tickets.models import Tag, Team, Ticket
from tickets.reasons import Reason
from tickets.services import capacity, sla
from tickets.services.serialize import ticket_data

_UNSET: Any = object()


class StaleUpdate(ValidationError):
    """The ticket changed since the client read it: the caller is told and shown the new state."""


def ticket_update(
    *,
    ticket: Ticket,
    actor: User | None,
    status: str = _UNSET,
    priority: int = _UNSET,
    team: Team | None = _UNSET,
    assignee: User | None = _UNSET,
    tags: Iterable[str] = _UNSET,
    reason: str | Reason = "",
    expected_seq: int | None = None,
) -> Ticket:
    """Apply the given changes under the ticket's row lock, one audit event per changed field.

    ``expected_seq`` makes the update conditional: if someone changed the ticket meanwhile the update
    is refused with ``StaleUpdate`` instead of silently overwriting their change.
    """
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if expected_seq is not None and locked.seq != expected_seq:
            raise StaleUpdate(f"Ticket #{locked.pk} was changed by someone else; reload and try again.")
        old_team_id, old_assignee_id = locked.team_id, locked.assignee_id
        changes: list[tuple[str, dict[str, Any]]] = []
        if status is not _UNSET and status != locked.status:
            changes.append(("ticket.status_changed", _set_status(locked, status)))
        if priority is not _UNSET and priority != locked.priority:
            if priority not in Ticket.Priority.values:
                raise ValidationError(f"Unknown priority {priority!r}.")
            changes.append(("ticket.priority_changed", {"from": locked.priority, "to": priority}))
            locked.priority = priority
        if team is not _UNSET and (team.pk if team else None) != locked.team_id:
            changes.append(("ticket.team_changed", {"from": locked.team_id, "to": team.pk if team else None}))
            locked.team = team
        if assignee is not _UNSET and (assignee.pk if assignee else None) != locked.assignee_id:
            changes.append(
                ("ticket.assigned", {"from": locked.assignee_id, "to": assignee.pk if assignee else None})
            )
            locked.assignee = assignee
        if tags is not _UNSET:
            wanted = sorted({name.strip().lower()[:60] for name in tags if name.strip()})
            current = sorted(locked.tags.values_list("name", flat=True))
            if wanted != current:
                locked.tags.set([Tag.objects.get_or_create(name=name)[0] for name in wanted])
                changes.append(("ticket.tags_changed", {"from": current, "to": wanted}))
        if not changes:
            return locked
        locked.updated_at = timezone.now()
        changed = {event_type for event_type, _data in changes}
        if "ticket.priority_changed" in changed:
            sla.sla_priority_changed(ticket=locked)
        if "ticket.status_changed" in changed and sla.sla_sync(ticket=locked, at=locked.updated_at):
            sla.sla_published(locked)
        # Routing: the old assignee's load may have dropped, so their teams' waiting tickets are offered
        # after commit (docs/routing.md, "When waiting tickets are offered").
        if old_assignee_id is not None and _load_dropped(locked, changes, old_assignee_id, old_team_id):
            capacity.capacity_freed_request(user_id=old_assignee_id)
        groups = events.ticket_staff_groups(locked, also_team_id=old_team_id, also_user_id=old_assignee_id)
        for event_type, data in changes:
            events.ticket_event_record(
                ticket=locked,
                type=event_type,
                data={**data, "ticket": ticket_data(locked)},
                actor=actor,
                reason=reason,
                groups=groups,
                save_seq=False,
            )
        locked.save()
    return locked


def _load_dropped(
    ticket: Ticket, changes: list[tuple[str, dict[str, Any]]], old_assignee_id: int, old_team_id: int | None
) -> bool:
    """Whether an open ticket left its old assignee, left the open statuses, or moved team (a new weight)."""
    was_open = next(
        (data["from"] in Ticket.OPEN_STATUSES for kind, data in changes if kind == "ticket.status_changed"),
        ticket.is_open,
    )
    moved = ticket.assignee_id != old_assignee_id or ticket.team_id != old_team_id
    return was_open and (moved or not ticket.is_open)


def _set_status(ticket: Ticket, status: str) -> dict[str, Any]:
    if status not in Ticket.Status.values:
        raise ValidationError(f"Unknown status {status!r}.")
    if status in Ticket.OPEN_STATUSES and not ticket.is_open:
        # A split ticket stands beside the contact's primary one; only primaries exclude each other.
        clash = Ticket.objects.primary_open(contact_id=ticket.contact_id)
        if ticket.split_from_id is None and clash.exists():
            raise ValidationError("The customer already has an open ticket; merge them instead of reopening.")
        ticket.reopened_count += 1
    change = {"from": ticket.status, "to": status}
    ticket.status = status
    ticket.solved_at = timezone.now() if status in {Ticket.Status.SOLVED, Ticket.Status.CLOSED} else None
    return change
