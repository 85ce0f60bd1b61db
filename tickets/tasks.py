"""Thin Celery entry points: take ids, call one service, safe to run twice."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from celery import current_app, shared_task

from tickets.services import maintenance, messages


@shared_task(bind=True, acks_late=True, max_retries=None)
def deliver_message(self, message_id: int) -> str:
    outcome = messages.message_deliver(message_id=message_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(acks_late=True)
def route_ticket(ticket_id: int) -> None:
    from tickets.services.routing import ticket_route
    from tickets.services.triage import ticket_triage

    ticket_triage(ticket_id=ticket_id)
    ticket_route(ticket_id=ticket_id)


@shared_task(acks_late=True)
def route_tickets(ticket_ids: list[int]) -> int:
    from tickets.services.routing import tickets_route
    from tickets.services.triage import ticket_triage

    for ticket_id in ticket_ids:
        ticket_triage(ticket_id=ticket_id)
    return tickets_route(ticket_ids=ticket_ids)


@shared_task(acks_late=True)
def route_freed(user_id: int) -> int:
    from tickets.services.routing import capacity_freed

    return capacity_freed(user_id=user_id)


@shared_task(acks_late=True)
def route_after_fallback(ticket_id: int) -> None:
    from tickets.services.routing import ticket_route

    # The timer itself arms no other: if the ticket still waits, it waits for room to free up.
    ticket_route(ticket_id=ticket_id, arm_fallback=False)


@shared_task(acks_late=True)
def route_from_offline_agent(user_id: int) -> int:
    from tickets.services.redistribute import agent_offline_release

    return agent_offline_release(user_id=user_id)


@shared_task
def route_untriaged() -> int:
    """Route again the tickets whose routing task was lost; the rules run once all the same."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from tickets.services.triage import tickets_untriaged

    found = tickets_untriaged(quiet_since=timezone.now() - timedelta(seconds=settings.STALE_WORK_SECONDS))
    if found:
        route_tickets.delay(found)
    return len(found)


@shared_task(acks_late=True)
def sla_sync_tickets(ticket_ids: list[int]) -> int:
    from tickets.services.sla import sla_tickets_sync

    return sla_tickets_sync(ticket_ids=ticket_ids)


def sla_sync_request(ticket_ids: list[int]) -> None:
    """Keep the SLA clocks of these tickets in step with the customer messages just filed, after commit."""
    if ticket_ids:
        sla_sync_tickets.delay_on_commit(ticket_ids)


@shared_task
def sla_tick() -> int:
    """Send the alarms due before the next tick to ``sla_fire``, each group with the ETA it falls due at.

    The index of due alarms is the record: a timer lost with a worker or a restarted Redis is sent again
    by a later tick, and firing twice records nothing twice (tickets/services/sla_timers.py).
    """
    from django.utils import timezone

    from tickets.services.sla_timers import sla_alarms_arm

    now = timezone.now()
    armed = sla_alarms_arm(now=now)
    for moment, alarms in armed:
        if moment <= now:
            sla_fire.delay(alarms)
        else:
            sla_fire.apply_async((alarms,), eta=moment)
    return sum(len(alarms) for _moment, alarms in armed)


@shared_task(acks_late=True)
def sla_fire(alarms: list[tuple[int, str]]) -> int:
    from tickets.services.sla_timers import sla_alarms_fire_many

    return sla_alarms_fire_many([(int(ticket_id), str(at)) for ticket_id, at in alarms])


def routing_request(ticket_ids: list[int]) -> None:
    """Route these tickets once the transaction commits: one task for the lot."""
    if len(ticket_ids) == 1:
        route_ticket.delay_on_commit(ticket_ids[0])
    elif ticket_ids:
        route_tickets.delay_on_commit(ticket_ids)


FETCH_ATTEMPTS = 6


@shared_task(bind=True, acks_late=True, max_retries=None)
def fetch_attachments(self, message_id: int) -> int:
    from tickets.services.fetch import attachments_fetch

    outcome = attachments_fetch(message_id=message_id)
    if outcome.transient and self.request.retries + 1 < FETCH_ATTEMPTS:
        raise self.retry(countdown=messages.backoff_seconds(self.request.retries + 1))
    return outcome.fetched


@shared_task
def requeue_stale_messages() -> int:
    return maintenance.stale_messages_requeue()


@contextmanager
def tasks_deferred() -> Iterator[None]:
    """Send tasks to the broker instead of running them here, even where the settings say eager.

    In embedded mode nothing consumes this process's memory broker, so the work stays pending in
    the database until the server re-queues it; with Redis the workers pick it up at once. Tasks
    are sent on commit, so the transactions that send them must end inside this block. Use it only
    for work the database records as pending (inbound events, outbound messages): other tasks sent
    here are lost in embedded mode.
    """
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        yield
    finally:
        current_app.conf.task_always_eager = previous


@shared_task
def reports_rollup() -> int:
    """Fold what changed since the last run into the reports' roll-ups (tickets/reports/rollup.py)."""
    from tickets.reports.rollup import rollups_fold

    return rollups_fold()
