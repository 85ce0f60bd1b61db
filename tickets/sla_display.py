"""What people see of a ticket's SLA: the agents' countdown, and when the customer may expect a person.

Read only, from the columns ``tickets.services.sla`` keeps: the earliest running due time
(``sla_due_at``), each metric's due time and the clocks' warned and breached flags. The countdown's
words are put together here for the first paint and by ``static/js/sla.js`` every few seconds after,
from the same table (``sla_words``, sent to the page as JSON), so the server and the browser never
word it differently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, pgettext

from tickets.models import Ticket
from tickets.sla_clock import Metric, sla_state_from_data

# The columns ``sla_due`` reads, for ``QuerySet.only`` (the inbox rows load nothing else).
SLA_DISPLAY_FIELDS = (
    "sla_policy",
    "sla_state",
    "sla_due_at",
    "first_response_due_at",
    "next_response_due_at",
    "resolution_due_at",
)
# When two clocks fall due at the same moment, the customer is waiting for a reply first of all.
_DUE_FIELDS = (
    (Metric.FIRST_RESPONSE, "first_response_due_at"),
    (Metric.NEXT_RESPONSE, "next_response_due_at"),
    (Metric.RESOLUTION, "resolution_due_at"),
)
SlaShown = Literal["running", "warning", "breached", "paused"]


@dataclass(frozen=True)
class SlaDue:
    """The next SLA due time of an open ticket; ``due_at`` is ``None`` while it waits on the customer."""

    due_at: datetime | None
    metric: str
    warned: bool = False
    breached: bool = False

    def shown(self, now: datetime) -> SlaShown:
        if self.due_at is None:
            return "paused"
        if self.breached or self.due_at <= now:
            return "breached"
        return "warning" if self.warned else "running"


def sla_due(ticket: Ticket) -> SlaDue | None:
    """The countdown a ticket shows, or ``None`` (no policy, closed, or every target met)."""
    if ticket.sla_policy_id is None or not ticket.is_open:
        return None
    state = sla_state_from_data(ticket.sla_state or {})
    if ticket.sla_due_at is None:
        waiting = state.paused and any(clock.active for clock in state.clocks.values())
        return SlaDue(due_at=None, metric="") if waiting else None
    for metric, field in _DUE_FIELDS:
        if getattr(ticket, field) == ticket.sla_due_at:
            clock = state.clock(metric)
            return SlaDue(
                due_at=ticket.sla_due_at,
                metric=str(metric),
                warned=clock is not None and clock.warned,
                breached=clock is not None and clock.breached,
            )
    return SlaDue(due_at=ticket.sla_due_at, metric=str(Metric.RESOLUTION))


def sla_words() -> dict[str, str]:
    """Every word the countdown and the SLA alerts use, in the reader's language; ``%(…)s`` are filled
    in by the server and by sla.js alike."""
    return {
        "first_response": gettext("reply within %(time)s"),
        "next_response": gettext("reply within %(time)s"),
        "resolution": gettext("resolve within %(time)s"),
        "overdue": gettext("overdue by %(time)s"),
        "paused": gettext("SLA paused"),
        "minutes": gettext("%(count)s min"),
        "hours": gettext("%(count)s h"),
        "days": pgettext("duration in days, short", "%(count)s d"),
        "first_response_name": gettext("First response"),
        "next_response_name": gettext("Next response"),
        "resolution_name": gettext("Resolution"),
        "warning_alert": gettext("%(metric)s due soon on #%(ticket)s"),
        "breach_alert": gettext("%(metric)s overdue on #%(ticket)s"),
        "dismiss": gettext("Dismiss"),
        "enable_notifications": gettext("Turn on browser notifications"),
    }


def duration_words(seconds: float, words: dict[str, str]) -> str:
    """``seconds`` in at most two units, rounded up to the minute: "12 min", "2 h 5 min", "3 d 4 h"."""
    minutes = max(1, math.ceil(seconds / 60))
    if minutes < 60:
        return words["minutes"] % {"count": minutes}
    if minutes < 24 * 60:
        hours, rest = divmod(minutes, 60)
        parts = [words["hours"] % {"count": hours}]
        if rest:
            parts.append(words["minutes"] % {"count": rest})
        return " ".join(parts)
    days, rest = divmod(minutes, 24 * 60)
    parts = [words["days"] % {"count": days}]
    if rest // 60:
        parts.append(words["hours"] % {"count": rest // 60})
    return " ".join(parts)


def sla_due_text(due: SlaDue, *, now: datetime, words: dict[str, str] | None = None) -> str:
    words = words or sla_words()
    if due.due_at is None:
        return words["paused"]
    left = (due.due_at - now).total_seconds()
    if left <= 0:
        return words["overdue"] % {"time": duration_words(-left, words)}
    return words[due.metric] % {"time": duration_words(left, words)}


def sla_due_html(due: SlaDue | None, *, now: datetime, words: dict[str, str] | None = None) -> SafeString:
    """The countdown element: its words in the DOM (not only a colour), the due time in ``<time>``, and
    the data sla.js ticks it from."""
    if due is None:
        return SafeString("")
    words = words or sla_words()
    shown = due.shown(now)
    text = sla_due_text(due, now=now, words=words)
    if due.due_at is None:
        return format_html(
            '<span class="sla-due sla-paused" data-sla-due="" data-sla-state="paused" '
            'data-testid="sla-due">{}</span>',
            text,
        )
    when = formats.date_format(timezone.localtime(due.due_at), "SHORT_DATETIME_FORMAT")
    return format_html(
        '<span class="sla-due sla-{}" data-sla-due="{}" data-sla-metric="{}" data-sla-state="{}" '
        'data-sla-warned="{}" data-sla-breached="{}" data-testid="sla-due" title="{}">'
        '<time datetime="{}">{}</time></span>',
        shown,
        due.due_at.isoformat(),
        due.metric,
        shown,
        "true" if due.warned else "false",
        "true" if due.breached else "false",
        gettext("%(metric)s due %(when)s") % {"metric": words[f"{due.metric}_name"], "when": when},
        due.due_at.isoformat(),
        text,
    )


def customer_reply_due_at(ticket: Ticket) -> datetime | None:
    """When the customer may expect a person's answer: the running first or next response's due time.

    ``None`` when the ticket has no such clock running (no policy, nobody owes an answer, or it waits
    on the customer): the channel's own usual answer time applies then.
    """
    if ticket.sla_policy_id is None or not ticket.is_open:
        return None
    running = [moment for moment in (ticket.first_response_due_at, ticket.next_response_due_at) if moment]
    return min(running) if running else None
