"""Reads: querysets shaped for their screens, scoped by the one visibility rule, with no N+1.

Every ticket read goes through ``visible_tickets_q`` (tickets/access.py), so a ticket of another team
is absent from lists, counts and search and is "not found" when asked for by id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from tickets.access import agent_profile, visible_tickets_q
from tickets.channel_port import ChannelAccountLike
from tickets.models import (
    AgentProfile,
    CannedResponse,
    Contact,
    ContactIdentity,
    ContactMerge,
    Message,
    Tag,
    Team,
    Ticket,
    TicketEvent,
)
from tickets.search import ticket_search_q

# Most urgent first, then whoever has waited longest; the id makes the order total (stable cursors).
TICKET_QUEUE_ORDER = ("-priority", "waiting_since", "id")
# Soonest SLA due time first: the order of the partial index ``ticket_sla_due``, which holds the open
# tickets with a running clock, so a page is an index walk that stops after a page's rows.
TICKET_DUE_ORDER = ("sla_due_at", "id")
# "Breaching soon": due within this long, or already late.
BREACHING_SOON = timedelta(hours=1)


@dataclass(frozen=True)
class TicketFilters:
    """What a ticket list may be narrowed by; ``None`` means "any"."""

    statuses: list[str] | None = None
    team_id: int | None = None
    # "me", "none" or a user id.
    assignee: str | int | None = None
    channel_id: int | None = None
    priority: int | None = None
    tag: str | None = None
    q: str | None = None


def tickets_visible(*, user: Any) -> QuerySet[Ticket]:
    """The tickets ``user`` may see, with what a ticket card shows, loaded in a fixed number of queries."""
    return (
        Ticket.objects.filter(visible_tickets_q(user))
        .select_related("contact", "team", "assignee", "origin_channel")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        # The customer has been waiting since their unanswered message; otherwise since the ticket began.
        .annotate(waiting_since=Coalesce("awaiting_agent_since", "created_at"))
    )


def ticket_list(*, user: Any, filters: TicketFilters | None = None) -> QuerySet[Ticket]:
    """The ticket queue: visible tickets narrowed by ``filters``, most urgent and longest waiting first."""
    return ticket_filter(tickets_visible(user=user), user=user, filters=filters or TicketFilters())


def ticket_filter(tickets: QuerySet[Ticket], *, user: Any, filters: TicketFilters) -> QuerySet[Ticket]:
    """Narrow an already visibility-scoped queryset (from ``tickets_visible``) and put it in queue order."""
    if filters.statuses:
        tickets = tickets.filter(status__in=filters.statuses)
    if filters.team_id is not None:
        tickets = tickets.filter(team_id=filters.team_id)
    if filters.assignee == "me":
        tickets = tickets.filter(assignee_id=user.pk)
    elif filters.assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    elif filters.assignee is not None:
        tickets = tickets.filter(assignee_id=int(filters.assignee))
    if filters.channel_id is not None:
        tickets = tickets.filter(origin_channel_id=filters.channel_id)
    if filters.priority is not None:
        tickets = tickets.filter(priority=filters.priority)
    if filters.tag:
        tagged = Tag.objects.filter(tickets=OuterRef("pk"), name=filters.tag.strip().lower())
        tickets = tickets.filter(Exists(tagged))
    if filters.q and filters.q.strip():
        tickets = tickets.filter(ticket_search_q(filters.q))
    return tickets.order_by(*TICKET_QUEUE_ORDER)


def _with_due_q() -> Q:
    # Exactly the condition of ``ticket_sla_due``, so the planner may read the index.
    return Q(status__in=Ticket.OPEN_STATUSES, sla_due_at__isnull=False)


def tickets_due_first(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Those of ``tickets`` with a running SLA clock, soonest due first."""
    return tickets.filter(_with_due_q()).order_by(*TICKET_DUE_ORDER)


def tickets_without_due(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Those of ``tickets`` with no running clock (no policy, waiting on the customer, closed), in queue
    order: what a list sorted by due time shows after the rest."""
    return tickets.exclude(_with_due_q()).order_by(*TICKET_QUEUE_ORDER)


def breaching_soon_q(*, now: datetime) -> Q:
    """Open tickets due within ``BREACHING_SOON`` of ``now``, or already late."""
    return _with_due_q() & Q(sla_due_at__lte=now + BREACHING_SOON)


def ticket_get(*, user: Any, ticket_id: int) -> Ticket | None:
    """One ticket if ``user`` may see it, else ``None`` (the caller answers "not found")."""
    return tickets_visible(user=user).filter(pk=ticket_id).first()


def ticket_get_or_404(*, user: Any, ticket_id: int) -> Ticket:
    """``ticket_get`` for views: ``Http404`` when there is none (DRF answers it as its ``NotFound``).

    The same answer whether the ticket is missing or another team's: its existence is private too.
    """
    ticket = ticket_get(user=user, ticket_id=ticket_id)
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def ticket_card(*, ticket_id: int) -> Ticket:
    """A ticket shaped like the list's rows, without the visibility rule.

    Only for answering a write the caller just made (an agent who hands a ticket to another team still
    gets the result of their change); every read goes through ``ticket_get``.
    """
    return (
        Ticket.objects.select_related("contact", "team", "assignee", "origin_channel")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .get(pk=ticket_id)
    )


def ticket_timeline(*, user: Any, ticket: Ticket) -> QuerySet[Message]:
    """The messages of ``ticket`` and of the visible tickets merged into it, oldest first.

    Internal notes are included: only agents read timelines through here.
    """
    # One ``ticket_id IN (...)`` rather than ``ticket = X OR ticket IN (...)``: PostgreSQL reads the
    # ``(ticket, sent_at, id)`` index (``message_timeline``) for each id of the first, and scans every
    # message for the second.
    own_and_merged = Ticket.objects.filter(
        Q(pk=ticket.pk) | Q(visible_tickets_q(user), merged_into=ticket)
    ).values("pk")
    return (
        Message.objects.filter(ticket_id__in=own_and_merged)
        .select_related("author", "channel_account", "identity")
        .prefetch_related("attachments")
        .order_by("sent_at", "id")
    )


def ticket_events_after(
    *, ticket_id: int, after_seq: int, up_to_seq: int | None = None, types: Iterable[str] | None = None
) -> QuerySet[TicketEvent]:
    """A ticket's recorded events after ``after_seq`` (up to ``up_to_seq``), in ``seq`` order.

    What every catch-up reads: the agent socket closing a gap, the API's events page, the widget
    reconnecting. Events are numbered without gaps, so this is exact. No visibility rule: callers
    check who may see the ticket first.
    """
    rows = TicketEvent.objects.filter(ticket_id=ticket_id, seq__gt=after_seq)
    if up_to_seq is not None:
        rows = rows.filter(seq__lte=up_to_seq)
    if types is not None:
        rows = rows.filter(type__in=list(types))
    return rows.order_by("seq")


def reply_sources(*, ticket: Ticket) -> QuerySet[Message]:
    """What a reply on ``ticket`` can answer, latest first: the customer's messages from a known identity.

    On any of the contact's tickets and channels; the latest one (on a chosen channel) is where a reply
    goes, and their channels are what the composer offers.
    """
    return Message.objects.filter(
        ticket__contact_id=ticket.contact_id, direction=Message.Direction.INBOUND, identity__isnull=False
    ).order_by("-sent_at", "-id")


def reply_channels(*, ticket: Ticket) -> list[ChannelAccountLike]:
    """Channels the contact has written from, most recent first: the ones a reply can go to."""
    return [message.channel_account for message in reply_latest_by_channel(ticket=ticket)]  # type: ignore[misc]


def reply_latest_by_channel(*, ticket: Ticket) -> list[Message]:
    """The contact's latest message on each channel they have written from, most recent first, with its
    channel account and identity (what the channel's reply window is decided from)."""
    latest: dict[int, Message] = {}
    inbound = (
        reply_sources(ticket=ticket)
        .filter(channel_account__isnull=False)
        .select_related("channel_account", "identity")
        .only("id", "sent_at", "channel_account", "identity")
    )
    for message in inbound[:200]:
        latest.setdefault(message.channel_account_id, message)  # type: ignore[arg-type]
    return list(latest.values())


def message_get(*, user: Any, message_id: int) -> Message | None:
    """A message whose ticket ``user`` may see, else ``None``."""
    return (
        Message.objects.filter(pk=message_id, ticket__in=Ticket.objects.filter(visible_tickets_q(user)))
        .select_related("ticket", "author", "channel_account", "identity")
        .prefetch_related("attachments")
        .first()
    )


def _visible_ticket_count(user: Any) -> Coalesce:
    counted = (
        Ticket.objects.filter(visible_tickets_q(user), contact=OuterRef("pk"))
        .order_by()
        .values("contact")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(counted), Value(0))


def contact_list(*, user: Any, q: str | None = None) -> QuerySet[Contact]:
    """Live contacts (not merged away), newest first, with identities and the count of visible tickets.

    The customer directory is shared by all agents; which tickets a contact has is not.
    """
    contacts = (
        Contact.objects.filter(merged_into__isnull=True)
        .prefetch_related(Prefetch("identities", queryset=ContactIdentity.objects.order_by("kind", "value")))
        .annotate(visible_ticket_count=_visible_ticket_count(user))
    )
    return contact_search(contacts, q=q)


def contact_search(contacts: QuerySet[Contact], *, q: str | None) -> QuerySet[Contact]:
    """Contacts whose name or any identity value contains ``q``, newest first."""
    if q and q.strip():
        text = q.strip()
        in_identities = ContactIdentity.objects.filter(contact=OuterRef("pk"), value__icontains=text)
        contacts = contacts.filter(Q(name__icontains=text) | Q(Exists(in_identities)))
    return contacts.order_by("-created_at", "-id")


def contact_get(*, user: Any, contact_id: int) -> Contact | None:
    """A contact with identities and its ticket history, limited to the tickets ``user`` may see."""
    history = (
        Ticket.objects.filter(visible_tickets_q(user))
        .select_related("team", "assignee", "origin_channel")
        .order_by("-created_at", "-id")
    )
    return (
        Contact.objects.filter(pk=contact_id)
        .prefetch_related(
            Prefetch("identities", queryset=ContactIdentity.objects.order_by("kind", "value")),
            Prefetch("tickets", queryset=history, to_attr="visible_tickets"),
        )
        .annotate(visible_ticket_count=_visible_ticket_count(user))
        .first()
    )


def contact_find(*, contact_id: int) -> Contact | None:
    """A contact by id, merged or not: the directory is shared by all agents."""
    return Contact.objects.filter(pk=contact_id).first()


def contact_merge_get(*, merge_id: int) -> ContactMerge | None:
    return ContactMerge.objects.select_related("source", "target", "created_by").filter(pk=merge_id).first()


def teams_list() -> QuerySet[Team]:
    return Team.objects.order_by("name", "id")


def agents_list() -> QuerySet[AgentProfile]:
    return (
        AgentProfile.objects.select_related("user")
        .prefetch_related(Prefetch("teams", queryset=Team.objects.order_by("name")))
        .filter(user__is_active=True)
        .order_by("user__username", "id")
    )


def agent_get(*, user_id: int) -> AgentProfile | None:
    return agents_list().filter(user_id=user_id).first()


def canned_responses_visible(*, user: Any) -> QuerySet[CannedResponse]:
    """Shared responses plus those of the user's teams; supervisors and admins see every one."""
    responses = CannedResponse.objects.select_related("team", "created_by").order_by("shortcut", "id")
    profile = agent_profile(user)
    if profile is None:
        return responses.none()
    if profile.sees_all_teams:
        return responses
    return responses.filter(Q(team__isnull=True) | Q(team__in=profile.teams.all()))
