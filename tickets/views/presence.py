"""The presence control's form, for a page whose socket is not open (no JavaScript, or not connected).

With a socket the control sends a ``presence`` frame instead (static/js/live.js); both end in
``presence.presence_set``.
"""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from tickets.models import AgentProfile
from tickets.services import presence
from tickets.views.common import AgentRequest, agent_required, safe_next

CHOICES = {*AgentProfile.Presence.values, "auto"}


@agent_required
@require_POST
def presence_set_view(request: AgentRequest) -> HttpResponse:
    status = request.POST.get("presence", "")
    if status not in CHOICES:
        return HttpResponseBadRequest("Unknown presence.")
    presence.presence_set(user_id=request.user.pk, status=status)
    return HttpResponseRedirect(safe_next(request, reverse("home")))
