from __future__ import annotations

from celery import shared_task

from channels_in.drain import inbound_events_drain
from channels_in.inbound import inbound_event_process
from channels_in.maintenance import stale_events_requeue


@shared_task(bind=True, acks_late=True, max_retries=None)
def ingest_event(self, event_id: int) -> str:
    outcome = inbound_event_process(event_id=event_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.state


@shared_task(acks_late=True)
def ingest_drain(slot: int) -> int:
    return inbound_events_drain(slot=slot)


@shared_task
def requeue_stale_events() -> int:
    return stale_events_requeue()
