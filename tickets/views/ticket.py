"""The ticket screen: timeline, contact sidebar, composer, and the actions an agent takes on it."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Value
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from rest_framework.exceptions import PermissionDenied as RuleRefused

from tickets.api.permissions import assignment_check, is_supervisor
from tickets.models import (
    AgentProfile,
    ContactIdentity,
    ContactMerge,
    MergeSuggestion,
    Message,
    Team,
    Ticket,
)
from tickets.selectors import (
    canned_responses_visible,
    reply_channels,
    reply_latest_by_channel,
    ticket_get,
    ticket_get_or_404,
    ticket_timeline,
    tickets_visible,
)
from tickets.services.messages import (
    message_retry,
    message_send_reply,
    note_add,
    reply_window_of,
    reply_window_refusal,
)
from tickets.services.outgoing_attachments import AttachmentRefused, uploads_from
from tickets.services.tickets import StaleUpdate, ticket_update
from tickets.views.common import (
    AgentRequest,
    agent_required,
    int_or_none,
    message_on_ticket_or_404,
    profile_of,
)
from tickets.views.timeline import placeholders_fill, timeline_build


def reply_windows_closed(latest: list[Message]) -> list[dict[str, Any]]:
    """Each reply channel whose window has closed, with what the composer offers instead (the port
    decides, per channel: ``reply_window``)."""
    closed = []
    for message in latest:
        account, identity = message.channel_account, message.identity
        assert account is not None and identity is not None  # the query asks for both
        window = reply_window_of(account=account, identity=identity, last_inbound_at=message.sent_at)
        if not window.open:
            closed.append({"account": account, "window": window, "refusal": reply_window_refusal(window)})
    return closed


def sidebar_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    """What the contact sidebar shows; re-read on its own when a live event says the contact changed."""
    user = request.user
    context = {
        "ticket": ticket,
        "identities": list(
            ContactIdentity.objects.filter(contact_id=ticket.contact_id).order_by("kind", "value")
        ),
        # Each shown by number, subject and status: no joined rows, no tags to prefetch.
        "other_tickets": list(
            tickets_visible(user=user)
            .select_related(None)
            .prefetch_related(None)
            .filter(contact_id=ticket.contact_id)
            .exclude(pk=ticket.pk)
            .order_by("-created_at", "-id")[:10]
        ),
        "merge_suggestions": list(
            MergeSuggestion.objects.filter(contact_id=ticket.contact_id, dismissed_at__isnull=True)
            .select_related("candidate")
            .order_by("-created_at", "-id")[:5]
        ),
        # Merges into this contact that can still be undone (one query: sources and agents joined).
        "contact_merges": list(
            ContactMerge.objects.filter(target_id=ticket.contact_id, undone_at__isnull=True)
            .select_related("source", "created_by")
            .order_by("-created_at", "-id")[:5]
        ),
        "may_undo_any_merge": is_supervisor(user),
    }
    context["sidebar_key"] = _sidebar_key(context)
    return context


def _sidebar_key(context: dict[str, Any]) -> str:
    """What the sidebar shows, in short: the page re-reads the sidebar only when this changes."""
    parts = [
        context["ticket"].contact_id,
        [identity.pk for identity in context["identities"]],
        [(other.pk, other.status) for other in context["other_tickets"]],
        [suggestion.pk for suggestion in context["merge_suggestions"]],
        [merge.pk for merge in context["contact_merges"]],
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def ticket_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    user = request.user
    messages = list(ticket_timeline(user=user, ticket=ticket))
    latest = reply_latest_by_channel(ticket=ticket)
    canned = [
        {
            "shortcut": item.shortcut,
            "title": item.title,
            "body": placeholders_fill(item.body, ticket=ticket, agent=user),
        }
        for item in canned_responses_visible(user=user)
    ]
    # Every active agent once: their names for "Anna is viewing", and which of them are in the ticket's
    # team (the assignee list), flagged in the same query.
    profiles = list(
        AgentProfile.objects.filter(user__is_active=True)
        .select_related("user")
        .annotate(
            in_team=Exists(
                AgentProfile.teams.through.objects.filter(
                    agentprofile_id=OuterRef("pk"), team_id=ticket.team_id
                )
            )
            if ticket.team_id is not None
            else Value(False)
        )
    )
    agents = sorted(
        (profile for profile in profiles if ticket.team_id and profile.in_team),
        key=lambda profile: (profile.user.first_name, profile.user.username),
    )
    return {
        **sidebar_context(request, ticket),
        "timeline": timeline_build(ticket=ticket, messages=messages),
        "reply_channels": [message.channel_account for message in latest],
        "reply_windows_closed": reply_windows_closed(latest),
        "attachment_limits": {
            "max_files": settings.REPLY_ATTACHMENTS_MAX_FILES,
            "max_bytes": min(settings.ATTACHMENT_MAX_BYTES, settings.REPLY_ATTACHMENTS_MAX_BYTES),
            "max_kb": min(settings.ATTACHMENT_MAX_BYTES, settings.REPLY_ATTACHMENTS_MAX_BYTES) // 1024,
            "types": settings.REPLY_ATTACHMENT_TYPES,
        },
        "canned": canned,
        "agents": agents,
        "teams": list(Team.objects.order_by("name", "id")),
        "may_rerun_rules": is_supervisor(user),
        "statuses": Ticket.Status.choices,
        "priorities": Ticket.Priority.choices,
        "tag_text": ", ".join(tag.name for tag in ticket.tags.all()),
        # For "Anna is viewing / replying": the live layer names agents by id only.
        "agent_names": {
            str(profile.user_id): profile.user.get_full_name() or profile.user.get_username()
            for profile in profiles
        },
    }


@agent_required
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
    return render(request, "workspace/ticket.html", ticket_context(request, ticket))


@agent_required
def ticket_timeline_partial(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The timeline alone, re-rendered when a live event says it changed."""
    ticket = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
    messages = list(ticket_timeline(user=request.user, ticket=ticket))
    context = {"ticket": ticket, "timeline": timeline_build(ticket=ticket, messages=messages)}
    return render(request, "workspace/_timeline.html", context)


@agent_required
def ticket_sidebar_partial(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The contact sidebar alone, re-rendered after a live event on the ticket (a contact merge undone)."""
    ticket = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
    return render(request, "workspace/_contact_sidebar.html", sidebar_context(request, ticket))


@agent_required
def ticket_actions_partial(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
    return render(request, "workspace/_actions.html", ticket_context(request, ticket))


@require_POST
@agent_required
def ticket_reply(request: AgentRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
    text = request.POST.get("text", "")
    try:
        files = uploads_from(request.FILES.getlist("files"))
        if request.POST.get("mode") == "note":
            note_add(ticket=ticket, author=request.user, text=text, attachments=files)
            flash.success(request, _("Note added."))
        else:
            channel = None
            channel_id = int_or_none(request.POST.get("channel"))
            if channel_id is not None:
                channel = next((c for c in reply_channels(ticket=ticket) if c.pk == channel_id), None)
                if channel is None:
                    raise ValidationError(_("The customer has not written on that channel."))
            message_send_reply(
                ticket=ticket, author=request.user, text=text, channel_account=channel, attachments=files
            )
            flash.success(request, _("Reply queued."))
    except AttachmentRefused as refused:
        # Nothing was stored: the page says which file and which limit, and the draft stays.
        flash.error(request, " ".join(refused.messages))
    except ValidationError as error:
        flash.error(request, " ".join(error.messages))
    return redirect("ticket", ticket_id=ticket.pk)


def _changes_from(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    """The one change a form asks for, as ``ticket_update`` arguments."""
    action = request.POST.get("action", "")
    if action == "assign_me":
        return {"assignee": request.user}
    if action == "assign":
        user_id = int_or_none(request.POST.get("assignee"))
        if user_id is None:
            return {"assignee": None}
        agent = get_user_model().objects.filter(pk=user_id, is_active=True, agent__isnull=False).first()
        if agent is None:
            raise ValidationError(_("No such agent."))
        try:
            # The API's rule, so both doors agree: yourself, or a member of the ticket's team.
            assignment_check(actor=request.user, ticket=ticket, team=ticket.team, assignee=agent)
        except RuleRefused as refused:
            raise ValidationError(str(refused.detail)) from refused
        return {"assignee": agent}
    if action == "team":
        team_id = int_or_none(request.POST.get("team"))
        team = Team.objects.filter(pk=team_id).first() if team_id is not None else None
        if team_id is not None and team is None:
            raise ValidationError(_("No such team."))
        return {"team": team}
    if action == "status":
        return {"status": request.POST.get("status", "")}
    if action == "solve":
        return {"status": Ticket.Status.SOLVED}
    if action == "priority":
        priority = int_or_none(request.POST.get("priority"))
        if priority is None:
            raise ValidationError(_("Choose a priority."))
        return {"priority": priority}
    if action == "tags":
        return {"tags": [name for name in request.POST.get("tags", "").split(",")]}
    raise ValidationError(_("Unknown action."))


@require_POST
@agent_required
def ticket_action(request: AgentRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_get_or_404(user=request.user, ticket_id=ticket_id)
    profile_of(request)
    expected_seq = int_or_none(request.POST.get("seq"))
    try:
        changes = _changes_from(request, ticket)
        ticket_update(ticket=ticket, actor=request.user, expected_seq=expected_seq, **changes)
    except StaleUpdate:
        flash.error(
            request,
            _("Someone else changed this ticket meanwhile; here is its current state. Try again if needed."),
        )
    except ValidationError as error:
        flash.error(request, " ".join(error.messages))
    if ticket_get(user=request.user, ticket_id=ticket.pk) is None:
        # The change moved the ticket out of this agent's sight (another team): back to the inbox.
        return redirect("home")
    return redirect("ticket", ticket_id=ticket.pk)


@require_POST
@agent_required
def message_retry_view(request: AgentRequest, ticket_id: int, message_id: int) -> HttpResponse:
    message = message_on_ticket_or_404(request, ticket_id=ticket_id, message_id=message_id)
    try:
        message_retry(message=message, actor=request.user)
        flash.success(request, _("Sending again."))
    except ValidationError as error:
        flash.error(request, " ".join(error.messages))
    return redirect("ticket", ticket_id=ticket_id)
