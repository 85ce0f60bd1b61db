"""The SLA countdown on the ticket screen, and the words sla.js needs on every workspace page."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.html import json_script
from django.utils.safestring import SafeString

from tickets.models import Ticket
from tickets.sla_display import sla_due, sla_due_html, sla_words

register = template.Library()


@register.simple_tag
def sla_countdown(ticket: Ticket) -> SafeString:
    return sla_due_html(sla_due(ticket), now=timezone.now())


@register.simple_tag
def sla_words_json() -> SafeString:
    # The server's clock travels along: sla.js counts from it, so a browser whose clock is off by
    # minutes still shows the right countdown.
    return json_script({**sla_words(), "now": timezone.now().isoformat()}, "sla-words")
