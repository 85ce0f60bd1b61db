"""Recording raw inbound events (before acknowledging) and processing them (in the ingest task)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from channels_in.base import InboundMessage, PayloadError
from channels_in.models import ChannelAccount, InboundEvent
from channels_in.registry import adapter_for
from tickets.services.bounces import bounce_record
from tickets.services.ingest import ingest_inbound_message

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Headers worth keeping for audit and re-processing; credentials are never stored.
_KEPT_HEADERS = {"content-type", "user-agent", "x-sportello-signature", "x-forwarded-for", "date"}


def request_headers(request: HttpRequest) -> dict[str, str]:
    return {name: value for name, value in request.headers.items() if name.lower() in _KEPT_HEADERS}


@dataclass(frozen=True)
class Recorded:
    event: InboundEvent
    created: bool


def inbound_event_record(
    *,
    account: ChannelAccount,
    body: bytes,
    headers: dict[str, str],
    content_type: str,
    provider_event_id: str | None,
) -> Recorded:
    """Store the raw event durably and queue its processing; a re-delivery finds the first row."""
    from channels_in import tasks

    # Re-deliveries are the exception: the unique key refuses one, and only then is the first row read.
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                channel_account=account,
                provider_event_id=provider_event_id or None,
                body=body,
                headers=headers,
                content_type=content_type[:150],
            )
            tasks.ingest_event.delay_on_commit(event.pk)
    except IntegrityError:
        event = InboundEvent.objects.get(channel_account=account, provider_event_id=provider_event_id)
        return Recorded(event, created=False)
    return Recorded(event, created=True)


@dataclass(frozen=True)
class ProcessOutcome:
    state: str
    retry_in: float | None = None


def inbound_event_process(*, event_id: int) -> ProcessOutcome:
    """Parse the event and file every message in it; safe to run twice, and never drops an event."""
    now = timezone.now()
    # A live claim means another worker is on it (a duplicate task, or a re-queue that raced it); only
    # a claim older than the stale deadline is a dead worker's, to be taken over.
    abandoned = now - timedelta(seconds=settings.STALE_WORK_SECONDS)
    claimed = (
        InboundEvent.objects.filter(pk=event_id, state=InboundEvent.State.PENDING)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=abandoned))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        state = InboundEvent.objects.filter(pk=event_id).values_list("state", flat=True).first()
        return ProcessOutcome(state=state or "missing")
    event = InboundEvent.objects.select_related("channel_account").get(pk=event_id)
    try:
        messages = adapter_for(event.channel_account.kind).parse(event)
        message_ids = [pk for item in messages if (pk := _file(item, event.channel_account)) is not None]
    except PayloadError as error:
        return _finish(event, InboundEvent.State.FAILED, error=str(error))
    except Exception as error:
        logger.exception("inbound event %s failed (attempt %s)", event.pk, event.attempts)
        if event.attempts >= MAX_ATTEMPTS:
            return _finish(event, InboundEvent.State.FAILED, error=f"{type(error).__name__}: {error}")
        retry_in = min(2**event.attempts, 300)
        # The retry is due then: the stale-work sweep counts from there, not from the first receipt.
        InboundEvent.objects.filter(pk=event.pk).update(
            claimed_at=None,
            error=f"{type(error).__name__}: {error}",
            enqueued_at=timezone.now() + timedelta(seconds=retry_in),
        )
        return ProcessOutcome(state=InboundEvent.State.PENDING, retry_in=retry_in)
    state = InboundEvent.State.DONE if message_ids else InboundEvent.State.IGNORED
    return _finish(event, state, result={"message_ids": message_ids})


def _file(item: InboundMessage, account: ChannelAccount) -> int | None:
    """A bounce is news about a mail we sent, filed on that mail; anything else is a customer message."""
    if item.is_bounce:
        entry, _created = bounce_record(inbound=item)
        return entry.pk if entry is not None else None
    return ingest_inbound_message(inbound=item, account=account).message.pk


def _finish(
    event: InboundEvent, state: str, *, error: str = "", result: dict | None = None
) -> ProcessOutcome:
    InboundEvent.objects.filter(pk=event.pk).update(
        state=state, error=error, result=result or {}, processed_at=timezone.now()
    )
    return ProcessOutcome(state=state)


def inbound_event_replay(*, event: InboundEvent) -> None:
    """An admin asks to process a failed event again."""
    from channels_in import tasks

    with transaction.atomic():
        InboundEvent.objects.filter(pk=event.pk).update(
            state=InboundEvent.State.PENDING,
            attempts=0,
            claimed_at=None,
            error="",
            enqueued_at=timezone.now(),
        )
        tasks.ingest_event.delay_on_commit(event.pk)


def body_limit() -> int:
    return settings.INBOUND_MAX_BYTES
