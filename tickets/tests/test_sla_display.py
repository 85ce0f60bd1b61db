"""What agents and customers see of a ticket's SLA: the countdown's state and words, the promised time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone, translation

from channels_in.models import ChannelAccount
from tickets.models import Ticket
from tickets.services import sla
from tickets.services.messages import message_send_reply
from tickets.services.tickets import ticket_update
from tickets.sla_display import (
    SlaDue,
    customer_reply_due_at,
    duration_words,
    sla_due,
    sla_due_html,
    sla_due_text,
    sla_words,
)
from tickets.tests.api_support import customer_writes, new_ticket
from tickets.tests.sla_support import due_in, sla_policy, with_sla

NOW = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "english", "italian"),
    [
        (1, "1 min", "1 min"),
        (11 * 60 + 1, "12 min", "12 min"),
        (59 * 60 + 30, "1 h", "1 h"),
        (125 * 60, "2 h 5 min", "2 h 5 min"),
        (3 * 86400 + 4 * 3600 + 59, "3 d 4 h", "3 g 4 h"),
        (2 * 86400, "2 d", "2 g"),
    ],
)
def test_durations_are_rounded_up_to_the_minute_in_two_units(
    seconds: int, english: str, italian: str
) -> None:
    with translation.override("en"):
        assert duration_words(seconds, sla_words()) == english
    with translation.override("it"):
        assert duration_words(seconds, sla_words()) == italian


def test_words_name_the_metric_and_say_late_and_paused() -> None:
    reply = SlaDue(due_at=NOW + timedelta(minutes=12), metric="first_response")
    with translation.override("en"):
        assert sla_due_text(reply, now=NOW) == "reply within 12 min"
        assert sla_due_text(reply, now=NOW + timedelta(minutes=17)) == "overdue by 5 min"
        assert sla_due_text(SlaDue(NOW + timedelta(hours=3), "resolution"), now=NOW) == "resolve within 3 h"
        assert sla_due_text(SlaDue(None, ""), now=NOW) == "SLA paused"
    with translation.override("it"):
        assert sla_due_text(reply, now=NOW) == "risposta entro 12 min"
        assert sla_due_text(reply, now=NOW + timedelta(minutes=17)) == "in ritardo di 5 min"
        assert sla_due_text(SlaDue(None, ""), now=NOW) == "SLA in pausa"


def test_the_shown_state_follows_time_and_the_alarms_recorded() -> None:
    due = NOW + timedelta(minutes=10)
    assert SlaDue(due, "first_response").shown(NOW) == "running"
    assert SlaDue(due, "first_response", warned=True).shown(NOW) == "warning"
    assert SlaDue(due, "first_response", warned=True).shown(due) == "breached"
    assert SlaDue(NOW - timedelta(minutes=1), "first_response", breached=True).shown(NOW) == "breached"
    assert SlaDue(None, "").shown(NOW) == "paused"


def test_the_countdown_element_carries_its_words_and_a_time_element() -> None:
    due = NOW + timedelta(minutes=12)
    with translation.override("en"), timezone.override("Europe/Rome"):
        html = str(sla_due_html(SlaDue(due, "next_response", warned=True), now=NOW))
        paused = str(sla_due_html(SlaDue(None, ""), now=NOW))
    assert 'class="sla-due sla-warning"' in html
    assert f'data-sla-due="{due.isoformat()}"' in html and 'data-sla-metric="next_response"' in html
    assert f'<time datetime="{due.isoformat()}">reply within 12 min</time>' in html
    assert 'title="Next response due 03/12/2026 11:12 a.m."' in html  # in the reader's time zone
    assert "sla-paused" in paused and ">SLA paused<" in paused and "<time" not in paused
    assert str(sla_due_html(None, now=NOW)) == ""


@pytest.mark.django_db
def test_a_ticket_shows_its_earliest_running_clock_and_pauses_while_waiting_on_the_customer(
    api_channel: ChannelAccount, alice: User
) -> None:
    policy = sla_policy(first_response_minutes=60, resolution_minutes=480)
    ticket = due_in(new_ticket(api_channel), policy, timedelta(minutes=12))
    shown = sla_due(ticket)
    assert (
        shown is not None
        and shown.metric == "first_response"
        and shown.due_at == ticket.first_response_due_at
    )

    message_send_reply(ticket=ticket, author=alice, text="Ci guardo")
    answered = Ticket.objects.get(pk=ticket.pk)
    shown = sla_due(answered)
    assert shown is not None and shown.metric == "resolution"

    ticket_update(ticket=answered, actor=alice, status=Ticket.Status.PENDING)
    paused = Ticket.objects.get(pk=ticket.pk)
    assert sla_due(paused) == SlaDue(due_at=None, metric="")
    assert customer_reply_due_at(paused) is None

    ticket_update(ticket=paused, actor=alice, status=Ticket.Status.SOLVED)
    assert sla_due(Ticket.objects.get(pk=ticket.pk)) is None


@pytest.mark.django_db
def test_a_breached_clock_shows_breached_after_its_alarm(api_channel: ChannelAccount) -> None:
    ticket = due_in(new_ticket(api_channel), sla_policy(), -timedelta(minutes=5))
    sla.sla_alarms_fire(ticket_id=ticket.pk)
    shown = sla_due(Ticket.objects.get(pk=ticket.pk))
    assert shown is not None and shown.warned and shown.breached


@pytest.mark.django_db
def test_no_policy_no_countdown_and_no_promise(api_channel: ChannelAccount) -> None:
    ticket = new_ticket(api_channel)
    assert sla_due(ticket) is None and customer_reply_due_at(ticket) is None


@pytest.mark.django_db
def test_the_customer_is_promised_the_response_due_time_never_the_resolution(
    api_channel: ChannelAccount, alice: User
) -> None:
    policy = sla_policy(first_response_minutes=60, next_response_minutes=30, resolution_minutes=480)
    ticket = with_sla(new_ticket(api_channel, sender="promised"), policy)
    assert customer_reply_due_at(ticket) == ticket.first_response_due_at

    message_send_reply(ticket=ticket, author=alice, text="Eccomi")
    answered = Ticket.objects.get(pk=ticket.pk)
    assert answered.resolution_due_at is not None
    assert customer_reply_due_at(answered) is None  # nobody owes an answer now

    customer_writes(api_channel, sender="promised", text="Ancora una cosa")
    sla.sla_tickets_sync(ticket_ids=[ticket.pk])
    waiting = Ticket.objects.get(pk=ticket.pk)
    assert waiting.next_response_due_at is not None
    assert customer_reply_due_at(waiting) == waiting.next_response_due_at
