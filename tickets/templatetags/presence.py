"""The presence header of every workspace page: the agent's own control and their team's presence.

Inclusion tags rather than view context, because the header is in ``base.html`` and each page's view
would otherwise have to remember to supply it. They render nothing for anyone who is not an agent.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext, pgettext

from tickets.access import agent_profile
from tickets.models import AgentProfile
from tickets.presence_selectors import teammates_presence_list

register = template.Library()

Presence = AgentProfile.Presence


def presence_text() -> dict[str, str]:
    """The words live.js writes when presence changes, in the reader's language."""
    return {
        **{value: str(label) for value, label in Presence.choices},
        "automatic": pgettext("presence", "automatic"),
        "chosen": pgettext("presence", "chosen"),
    }


@register.inclusion_tag("workspace/_presence_control.html", takes_context=True)
def presence_control(context: template.Context) -> dict[str, Any]:
    user = context.get("user")
    # Already loaded by the view's access check: the control costs no query.
    profile = agent_profile(user)
    if profile is None:
        return {"profile": None}
    request = context.get("request")
    return {
        "profile": profile,
        "choice": profile.presence_manual or "auto",
        "choices": [("auto", gettext("Automatic")), *Presence.choices],
        "presence_text": presence_text(),
        "next": request.get_full_path() if request is not None else "",
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("workspace/_team_presence.html", takes_context=True)
def team_presence(context: template.Context) -> dict[str, Any]:
    user = context.get("user")
    profile = agent_profile(user)
    if profile is None:
        return {"profile": None}
    teammates = teammates_presence_list(user=user)
    request = context.get("request")
    return {
        "profile": profile,
        "teammates": teammates,
        "online": sum(teammate.presence == Presence.ONLINE for teammate in teammates),
        # Supervisors get a "redistribute" button per agent: a form, so it needs these.
        "next": request.get_full_path() if request is not None else "",
        "csrf_token": context.get("csrf_token"),
    }
