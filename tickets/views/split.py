"""Splitting a customer's message off the ticket screen into a new ticket."""

from __future__ import annotations

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tickets.selectors import ticket_get
from tickets.services.split import message_split
from tickets.services.tickets import StaleUpdate
from tickets.views.common import AgentRequest, agent_required, int_or_none, message_on_ticket_or_404


@require_POST
@agent_required
def message_split_view(request: AgentRequest, ticket_id: int, message_id: int) -> HttpResponse:
    """Move one message of this ticket to a new ticket and open that one."""
    message = message_on_ticket_or_404(request, ticket_id=ticket_id, message_id=message_id)
    try:
        new = message_split(
            message=message,
            actor=request.user,
            expected_seq=int_or_none(request.POST.get("seq")),
            reason=_("split by an agent"),
        )
    except StaleUpdate:
        flash.error(
            request,
            _("Someone else changed this ticket meanwhile; here is its current state. Try again if needed."),
        )
        return redirect("ticket", ticket_id=ticket_id)
    except ValidationError as error:
        flash.error(request, " ".join(error.messages))
        return redirect("ticket", ticket_id=ticket_id)
    flash.success(request, _("Message split from #%(old)s into this new ticket.") % {"old": ticket_id})
    if ticket_get(user=request.user, ticket_id=new.pk) is None:
        return redirect("ticket", ticket_id=ticket_id)
    return redirect("ticket", ticket_id=new.pk)
