"""The inbox's ticket rows, rendered once per state of what they show and then served from the cache.

Rendering fifty rows through the template engine was most of an inbox request. A row shows only the
ticket and what it names (contact, team, assignee, tags, channel), never the viewer, so its HTML can be
shared by everyone who may see the ticket. The cache key is a digest of every value the row displays,
with the language, the time zone and the template's own source: when any of them changes the key
changes, so a stale row cannot be served whichever path changed the ticket (a service, the admin, a
bulk update), and nothing has to be invalidated. Which tickets are listed is decided by the query
before this module is reached, so the cache cannot widen anyone's view.

The parts that change by themselves, the SLA countdown ("reply within 12 min") and "waiting 5 minutes",
are left out of the cached HTML and filled in on every request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.cache import cache as fragments
from django.template.loader import get_template
from django.utils import timezone, translation
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from tickets.models import Ticket
from tickets.sla_display import SLA_DISPLAY_FIELDS, sla_due, sla_due_html, sla_words

ROW_TEMPLATE = "workspace/_ticket_row.html"
# What a row shows and the queue's order needs, for ``QuerySet.only``: loading every column of the ticket
# and of the four tables joined to it cost more than the query did. ``row_key`` reads the same values.
ROW_FIELDS = (
    "subject",
    "status",
    "priority",
    "seq",
    "awaiting_agent_since",
    "created_at",
    "updated_at",
    "contact__name",
    "team__name",
    "assignee__first_name",
    "assignee__last_name",
    "assignee__username",
    "origin_channel__kind",
    *SLA_DISPLAY_FIELDS,
)
# Rendered where the waiting time and the countdown go, then split on: the cached value is the HTML
# around them. Split at the last occurrence of each: the waiting cell ends the row and the countdown's
# comes just before it, after every cell that shows text someone typed, so no subject or name holding
# a marker could move it.
_WAITING_SLOT = "\x00waiting\x00"
_SLA_SLOT = "\x00sla\x00"
# Content-addressed entries never go stale, only unused: the timeout just returns their memory.
ROW_CACHE_SECONDS = 6 * 3600


def _setting() -> tuple[str, str, str]:
    """What every row of this request is rendered in: language, time zone, and the template's source
    (hashed; read each time, so a deploy or an edited template in development changes every key)."""
    source = get_template(ROW_TEMPLATE).template.source  # type: ignore[attr-defined]
    template = hashlib.blake2b(source.encode(), digest_size=8).hexdigest()
    return translation.get_language(), timezone.get_current_timezone_name(), template


def _assignee_name(ticket: Ticket) -> str:
    user: Any = ticket.assignee
    if user is None:
        return ""
    return f"{user.get_full_name()}\x00{user.get_username()}"


def row_key(ticket: Ticket, setting: tuple[str, str, str]) -> str:
    """Everything ``_ticket_row.html`` shows of ``ticket``, and what it is shown in, as one key.

    A value added to the template must be added here too (tests/test_views_rows.py checks each one).
    """
    channel = ticket.origin_channel
    shown = (
        ticket.pk,
        ticket.seq,
        ticket.priority,
        ticket.status,
        ticket.subject,
        str(ticket.contact),
        ticket.assignee_id,
        _assignee_name(ticket),
        ticket.team.name if ticket.team is not None else None,
        channel.kind if channel is not None else None,
        tuple(ticket.tag_names),  # type: ignore[attr-defined]
        ticket.waiting_since,  # type: ignore[attr-defined]
        ticket.sla_due_at,
        setting,
    )
    digest = hashlib.blake2b(repr(shown).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return f"ticket-row:{ticket.pk}:{digest}"


def waiting_text(ticket: Ticket, *, now: datetime) -> str:
    """How long the customer has waited for us, or how long since the ticket last changed."""
    if ticket.awaiting_agent_since:
        return _("waiting %(since)s") % {"since": timesince(ticket.awaiting_agent_since, now)}
    return timesince(ticket.updated_at, now)


def _render(ticket: Ticket) -> tuple[str, str, str]:
    html = get_template(ROW_TEMPLATE).render({"ticket": ticket, "waiting": _WAITING_SLOT, "sla": _SLA_SLOT})
    before_waiting, slot, tail = html.rpartition(_WAITING_SLOT)
    head, sla_slot, middle = before_waiting.rpartition(_SLA_SLOT)
    if not slot or not sla_slot:
        raise ValueError(f"{ROW_TEMPLATE} must show {{{{ sla }}}} and then {{{{ waiting }}}}, once each")
    return head, middle, tail


def _tag_names_set(tickets: list[Ticket]) -> None:
    """``tag_names`` on each ticket, in one query of names: cheaper than prefetching ``Tag`` objects."""
    names: dict[int, list[str]] = {ticket.pk: [] for ticket in tickets}
    pairs = (
        Ticket.tags.through.objects.filter(ticket_id__in=list(names))
        .order_by("tag__name")
        .values_list("ticket_id", "tag__name")
    )
    for ticket_id, name in pairs:
        names[ticket_id].append(name)
    for ticket in tickets:
        ticket.tag_names = names[ticket.pk]  # type: ignore[attr-defined]


def ticket_rows(tickets: Iterable[Ticket]) -> list[SafeString]:
    """The rows of ``tickets``, in order: cached HTML where it matches, freshly rendered otherwise.

    Tags are read here (one query), so ``tickets`` need not prefetch them. One cache round trip for
    the page, one more to store the rows that were missing.
    """
    tickets = list(tickets)
    if not tickets:
        return []
    _tag_names_set(tickets)
    setting = _setting()
    keys = [row_key(ticket, setting) for ticket in tickets]
    found: dict[str, tuple[str, str, str]] = fragments.get_many(keys)
    missing = {key: _render(ticket) for key, ticket in zip(keys, tickets, strict=True) if key not in found}
    if missing:
        fragments.set_many(missing, timeout=ROW_CACHE_SECONDS)
        found.update(missing)
    now = timezone.now()
    words = sla_words()
    rows = []
    for key, ticket in zip(keys, tickets, strict=True):
        head, middle, tail = found[key]
        countdown = sla_due_html(sla_due(ticket), now=now, words=words)
        waiting = conditional_escape(waiting_text(ticket, now=now))
        # The cached parts are the template's own escaped output; the countdown is built by
        # ``format_html`` and the waiting text is escaped here.
        rows.append(mark_safe(head + countdown + middle + waiting + tail))  # noqa: S308
    return rows
