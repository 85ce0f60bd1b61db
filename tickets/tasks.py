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

    ticket_route(ticket_id=ticket_id)


@shared_task(acks_late=True)
def route_tickets(ticket_ids: list[int]) -> int:
    from tickets.services.routing import tickets_route

    return tickets_route(ticket_ids=ticket_ids)


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
