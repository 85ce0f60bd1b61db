"""Merging from the ticket screen: this ticket into another, or a duplicate contact into this one."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from rest_framework.exceptions import PermissionDenied as RuleRefused

from tickets.api.permissions import contact_merge_check, contact_merge_undo_check
from tickets.models import Contact, ContactMerge, MergeSuggestion, Ticket
from tickets.selectors import ticket_get, ticket_get_or_404
from tickets.services.contacts import contact_merge, contact_merge_undo
from tickets.services.ticket_merge import ticket_merge, ticket_unmerge
from tickets.views.common import AgentRequest, agent_required, int_or_none


@require_POST
@agent_required
def ticket_merge_view(request: AgentRequest, ticket_id: int) -> HttpResponse:
    """Close this ticket into the one named in the form; both must be visible to the agent."""
    source = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
    target_id = int_or_none(request.POST.get("target"))
    target = ticket_get(user=request.user, ticket_id=target_id) if target_id is not None else None
    if target is None:
        # Same words for missing and forbidden: the form must not reveal another team's ticket numbers.
        flash.error(request, _("No ticket #%(id)s among the ones you can see.") % {"id": target_id or "?"})
        return redirect("ticket", ticket_id=source.pk)
    try:
        ticket_merge(source=source, target=target, actor=request.user, reason=_("merged by an agent"))
    except ValidationError as error:
        flash.error(request, " ".join(error.messages))
        return redirect("ticket", ticket_id=source.pk)
    flash.success(request, _("Ticket #%(source)s merged into this one.") % {"source": source.pk})
    return redirect("ticket", ticket_id=target.pk)


def _contact_change(request: HttpRequest, change: Callable[[], None], *, done: str) -> None:
    """Run a contact merge or its undo; the agent is told the outcome, or why it was refused."""
    try:
        change()
    except RuleRefused as refused:
        flash.error(request, str(refused.detail))
    except ValidationError as error:
        flash.error(request, " ".join(error.messages))
    else:
        flash.success(request, done)


@require_POST
@agent_required
def contact_merge_view(request: AgentRequest, ticket_id: int, suggestion_id: int) -> HttpResponse:
    """Fold a suggested duplicate into this ticket's contact (the suggestion names both)."""
    ticket = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
    suggestion = (
        MergeSuggestion.objects.select_related("candidate")
        .filter(pk=suggestion_id, contact_id=ticket.contact_id, dismissed_at__isnull=True)
        .first()
    )
    if suggestion is None:
        raise Http404("No such suggestion.")
    duplicate: Contact = suggestion.candidate
    open_tickets = list(
        Ticket.objects.filter(
            contact_id__in=[duplicate.pk, ticket.contact_id], status__in=Ticket.OPEN_STATUSES
        )
    )

    def merge() -> None:
        contact_merge_check(actor=request.user, open_tickets=open_tickets)
        contact_merge(
            source=duplicate, target=ticket.contact, actor=request.user, reason="merged by an agent"
        )

    _contact_change(request, merge, done=_("Contacts merged."))
    # The duplicate's open ticket, if any, was folded into this one: this ticket stays the one to read.
    return redirect("ticket", ticket_id=ticket.pk)


@require_POST
@agent_required
def ticket_unmerge_view(request: AgentRequest, ticket_id: int) -> HttpResponse:
    """Take this ticket back out of the one it was merged into."""
    ticket = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
    try:
        ticket_unmerge(ticket=ticket, actor=request.user, reason=_("unmerged by an agent"))
        flash.success(request, _("Ticket taken back out of the merge."))
    except ValidationError as error:
        flash.error(request, " ".join(error.messages))
    return redirect("ticket", ticket_id=ticket.pk)


@require_POST
@agent_required
def contact_merge_undo_view(request: AgentRequest, ticket_id: int, merge_id: int) -> HttpResponse:
    """Undo a merge into this ticket's contact (listed in the sidebar); the API's permission rule."""
    ticket = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
    merge = (
        ContactMerge.objects.select_related("source")
        .filter(pk=merge_id, target_id=ticket.contact_id, undone_at__isnull=True)
        .first()
    )
    if merge is None:
        raise Http404("No such merge.")

    def undo() -> None:
        contact_merge_undo_check(actor=request.user, merge=merge)
        contact_merge_undo(merge=merge, actor=request.user)

    done = _("Merge undone: %(contact)s is a contact of their own again.") % {"contact": merge.source}
    _contact_change(request, undo, done=done)
    if ticket_get(user=request.user, ticket_id=ticket.pk) is None:
        return redirect("home")
    return redirect("ticket", ticket_id=ticket.pk)
