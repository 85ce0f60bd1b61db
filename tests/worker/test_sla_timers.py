"""SLA timers on real Celery workers with beat: a breach fires seconds after its due time, is recorded
once, and a worker killed holding the alarm loses nothing: the next tick finds it in the index."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.fixtures.personas import make_api_channel
from tests.fixtures.worker import WorkerProcess, wait_until
from tickets.models import SLAPolicy, Team, Ticket, TicketEvent
from tickets.services import sla
from tickets.tests.api_support import new_ticket

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

HOOKS = "tests.worker.hooks"
# An alarm sent is not sent again for this long: the time a lost one waits for the next try.
RESEND = {"SLA_RESEND_SECONDS": "3"}
BOUND = 45.0


def ticket_due_in(seconds: float) -> Ticket:
    """An open ticket whose first-response target is breached ``seconds`` from now."""
    team = Team.objects.create(name=f"Support {time.monotonic_ns()}")
    policy = SLAPolicy.objects.create(name=f"Fast {time.monotonic_ns()}", first_response_minutes=1)
    ticket = new_ticket(make_api_channel(team=team, trust_identities=True))
    Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(seconds=60 - seconds))
    ticket = Ticket.objects.get(pk=ticket.pk)
    sla.sla_apply(ticket=ticket, policy=policy, at=timezone.now())
    ticket.save(update_fields=sla.SLA_FIELDS)
    return ticket


def breaches(ticket: Ticket) -> list[TicketEvent]:
    return list(TicketEvent.objects.filter(ticket=ticket, type="ticket.sla_breached"))


def test_a_breach_fires_on_time_and_once(start_worker: Callable[..., WorkerProcess]) -> None:
    worker = start_worker(beat=True)
    ticket = ticket_due_in(6)  # the worker is warm by then
    due = ticket.created_at + timedelta(minutes=1)

    found = wait_until(lambda: breaches(ticket), timeout=BOUND, what=f"breach\n{worker.log()[-3000:]}")

    lag = (found[0].created_at - due).total_seconds()
    assert 0 <= lag < 5, lag  # never early; seconds late at most on a loaded machine
    time.sleep(2.5)  # further ticks find nothing more to fire
    assert len(breaches(ticket)) == 1
    assert Ticket.objects.get(pk=ticket.pk).sla_breached_at == due


def test_a_worker_killed_holding_the_alarm_loses_no_breach(
    start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    flag = tmp_path / "hold.flag"
    flag.write_text("hold")
    doomed = start_worker(
        beat=True,
        include=[HOOKS],
        env={"HOLD_FLAG": str(flag), "HOLD_TASKS": "tickets.tasks.sla_fire", **RESEND},
    )
    ticket = ticket_due_in(2)
    wait_until(flag.with_suffix(".held").exists, timeout=BOUND, what=f"alarm held\n{doomed.log()[-3000:]}")

    doomed.kill()

    assert breaches(ticket) == []
    flag.unlink()
    rescuer = start_worker(beat=True, env=RESEND)
    wait_until(lambda: breaches(ticket), timeout=BOUND, what=f"breach\n{rescuer.log()[-3000:]}")
    time.sleep(2.5)
    assert len(breaches(ticket)) == 1
    assert TicketEvent.objects.filter(ticket=ticket, type="ticket.sla_warning").count() == 1
