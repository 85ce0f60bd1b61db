"""The SLA ticks: alarms grouped by the slice they fall due in, never early, each sent once while its
claim lasts, and an early timer's alarm given back to the next tick."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from channels_in.models import ChannelAccount
from tickets.models import SLAPolicy, Ticket, TicketEvent
from tickets.services import sla
from tickets.services.sla_timers import SLICE_SECONDS, sla_alarms_arm, sla_alarms_fire_many
from tickets.tests.api_support import new_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_claims() -> Any:
    cache.clear()
    yield
    cache.clear()


def due_in(account: ChannelAccount, seconds: float) -> Ticket:
    """A ticket whose next alarm (the first response's warning, at 48 s of 60) is ``seconds`` away."""
    policy = SLAPolicy.objects.get_or_create(name="Fast", defaults={"first_response_minutes": 1})[0]
    ticket = new_ticket(account)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(seconds=48 - seconds))
    ticket = Ticket.objects.get(pk=ticket.pk)
    sla.sla_apply(ticket=ticket, policy=policy, at=timezone.now())
    ticket.save(update_fields=sla.SLA_FIELDS)
    return Ticket.objects.get(pk=ticket.pk)


def test_alarms_are_grouped_by_slice_and_never_armed_early(api_channel: ChannelAccount) -> None:
    now = timezone.now()
    tickets = [due_in(api_channel, 0.3), due_in(api_channel, 0.31), due_in(api_channel, 0.7)]
    overdue = due_in(api_channel, -5)

    armed = sla_alarms_arm(now=now)

    assert [len(alarms) for _moment, alarms in armed] in ([1, 2, 1], [1, 1, 1, 1])
    for moment, alarms in armed:
        for _ticket_id, at in alarms:
            assert moment >= max(datetime.fromisoformat(at), now)
            assert moment - max(datetime.fromisoformat(at), now) < timedelta(seconds=SLICE_SECONDS)
    assert armed[0][1] == [(overdue.pk, overdue.sla_alarm_at.isoformat())]  # type: ignore[union-attr]
    assert {ticket_id for _m, alarms in armed for ticket_id, _at in alarms} == {
        t.pk for t in [*tickets, overdue]
    }


def test_an_alarm_sent_is_not_sent_again_while_its_claim_lasts(api_channel: ChannelAccount) -> None:
    overdue = due_in(api_channel, -5)

    assert len(sla_alarms_arm()) == 1
    assert sla_alarms_arm() == []  # queued or being fired: a backlog is not sent once a second
    cache.clear()  # the claim lapsed: the task was lost
    assert [alarms for _m, alarms in sla_alarms_arm()] == [[(overdue.pk, overdue.sla_alarm_at.isoformat())]]  # type: ignore[union-attr]


def test_firing_records_the_breach_once_and_an_early_timer_gives_its_alarm_back(
    api_channel: ChannelAccount,
) -> None:
    late, early = due_in(api_channel, -20), due_in(api_channel, 30)  # late: warned and breached by now
    alarms = [
        (late.pk, late.sla_alarm_at.isoformat()),  # type: ignore[union-attr]
        (early.pk, early.sla_alarm_at.isoformat()),  # type: ignore[union-attr]
    ]
    for ticket_id, at in alarms:
        cache.add(f"sla-alarm:{ticket_id}:{datetime.fromisoformat(at).timestamp():.6f}", 1)

    assert sla_alarms_fire_many(alarms) == 2
    assert sla_alarms_fire_many(alarms) == 0

    assert (
        TicketEvent.objects.filter(type="ticket.sla_breached").values_list("ticket_id", flat=True).get()
        == late.pk
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.conf.settings.SLA_TICK_SECONDS", 60.0)
        armed = sla_alarms_arm()
    assert [alarms for _m, alarms in armed] == [[alarms[1]]]  # the early one's claim was given back
