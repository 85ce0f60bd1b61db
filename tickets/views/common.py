"""What every workspace view shares: who may use it, and how a request becomes typed filters."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django.utils.http import url_has_allowed_host_and_scheme

from tickets.access import agent_profile
from tickets.models import AgentProfile, Message

View = Callable[..., HttpResponseBase]


class AgentRequest(HttpRequest):
    """The request a view behind ``agent_required`` gets: its user is signed in (an agent)."""

    user: User


def agent_required(view: View) -> View:
    """Signed-in users with an agent profile only; a signed-in user without one gets 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if agent_profile(request.user) is None:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def supervisor_required(view: View) -> View:
    """Supervisors and admins only; any other agent gets 403, as the API's ``IsSupervisor`` answers."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        profile = agent_profile(request.user)
        if profile is None or not profile.sees_all_teams:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def profile_of(request: HttpRequest) -> AgentProfile:
    profile = agent_profile(request.user)
    assert profile is not None, "agent_required guards every caller"
    return profile


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The ``next`` target if it stays on this site, else ``fallback`` (no open redirects)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def message_on_ticket_or_404(request: HttpRequest, *, ticket_id: int, message_id: int) -> Message:
    """A message of the ticket in the URL, on a ticket the agent may see; else 404, as if missing."""
    from tickets.selectors import message_get

    message = message_get(user=request.user, message_id=message_id)
    if message is None or message.ticket_id != ticket_id:
        raise Http404("No such message.")
    return message
