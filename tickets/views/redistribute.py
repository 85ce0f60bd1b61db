"""A supervisor hands an agent's open tickets to the rest of their teams, from the workspace."""

from __future__ import annotations

from django.contrib import messages as flash
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from tickets.models import AgentProfile
from tickets.services.redistribute import agent_tickets_redistribute
from tickets.views.common import AgentRequest, safe_next, supervisor_required


@require_POST
@supervisor_required
def agent_redistribute_view(request: AgentRequest, agent_id: int) -> HttpResponse:
    """Unassign the agent's open tickets and offer each to routing; back to where the button was."""
    try:
        outcome = agent_tickets_redistribute(agent_user_id=agent_id, actor=request.user)
    except AgentProfile.DoesNotExist as error:
        raise Http404("No such agent.") from error
    total = len(outcome.reassigned) + len(outcome.waiting)
    if total:
        flash.success(
            request,
            ngettext(
                "%(total)s open ticket redistributed: %(reassigned)s to another agent, %(waiting)s waiting.",
                "%(total)s open tickets redistributed: %(reassigned)s to other agents, %(waiting)s waiting.",
                total,
            )
            % {"total": total, "reassigned": len(outcome.reassigned), "waiting": len(outcome.waiting)},
        )
    else:
        flash.info(request, _("The agent has no open tickets."))
    return redirect(safe_next(request, reverse("home")))
