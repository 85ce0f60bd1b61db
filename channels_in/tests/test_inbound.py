from __future__ import annotations

import json
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from channels_in import tasks
from channels_in.api.tests.wire import payload
from channels_in.inbound import (
    MAX_ATTEMPTS,
    inbound_event_process,
    inbound_event_record,
    inbound_event_replay,
)
from channels_in.models import ChannelAccount, InboundEvent
from tickets.models import Message


def record(
    account: ChannelAccount, body: bytes | None = None, event_id: str | None = "msg-1"
) -> InboundEvent:
    return inbound_event_record(
        account=account,
        body=body if body is not None else json.dumps(payload(event_id or "no-id")).encode(),
        headers={"content-type": "application/json"},
        content_type="application/json",
        provider_event_id=event_id,
    ).event


@pytest.fixture
def retired_channel(api_channel: ChannelAccount) -> ChannelAccount:
    """A channel whose kind this version no longer knows: its events fail, and not for their payload."""
    ChannelAccount.objects.filter(pk=api_channel.pk).update(kind="retired")
    api_channel.refresh_from_db()
    return api_channel


@pytest.mark.django_db
def test_record_stores_the_raw_event_and_queues_it_after_commit(
    api_channel: ChannelAccount, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks() as queued:
        event = record(api_channel)

    assert len(queued) == 1
    stored = InboundEvent.objects.get()
    assert stored.pk == event.pk
    assert bytes(stored.body) == json.dumps(payload("msg-1")).encode()
    assert (stored.state, stored.attempts, stored.provider_event_id) == ("pending", 0, "msg-1")
    assert stored.headers == {"content-type": "application/json"}
    assert (stored.content_type, stored.error, stored.result) == ("application/json", "", {})
    assert stored.received_at == stored.enqueued_at == event.received_at
    assert stored.channel_account_id == api_channel.pk


@pytest.mark.django_db
def test_record_of_a_redelivery_finds_the_first_row_and_queues_nothing(
    api_channel: ChannelAccount, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    first = record(api_channel)
    with django_capture_on_commit_callbacks() as queued:
        again = inbound_event_record(
            account=api_channel, body=b"{}", headers={}, content_type="", provider_event_id="msg-1"
        )

    assert (again.event.pk, again.created, queued) == (first.pk, False, [])


@pytest.mark.django_db
def test_process_files_the_message_and_a_second_run_does_nothing(api_channel: ChannelAccount) -> None:
    event = record(api_channel)

    assert inbound_event_process(event_id=event.pk).state == "done"
    assert inbound_event_process(event_id=event.pk).state == "done"

    event.refresh_from_db()
    assert (event.attempts, event.error) == (1, "")
    assert event.processed_at is not None
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_unparseable_event_fails_at_once_with_its_reason(api_channel: ChannelAccount) -> None:
    event = record(api_channel, body=b'{"message_id": "m", "sender": {}}')

    outcome = inbound_event_process(event_id=event.pk)

    assert (outcome.state, outcome.retry_in) == ("failed", None)
    event.refresh_from_db()
    assert (event.state, event.attempts) == ("failed", 1)
    assert event.error == "sender.id: Field required"


@pytest.mark.django_db
def test_failing_event_backs_off_then_ends_failed_with_its_error(retired_channel: ChannelAccount) -> None:
    event = record(retired_channel)

    outcomes = [inbound_event_process(event_id=event.pk) for _ in range(MAX_ATTEMPTS)]

    assert [(o.state, o.retry_in) for o in outcomes] == [
        ("pending", 2),
        ("pending", 4),
        ("pending", 8),
        ("pending", 16),
        ("failed", None),
    ]
    event.refresh_from_db()
    assert (event.state, event.attempts) == ("failed", MAX_ATTEMPTS)
    assert event.error == "UnknownChannelKind: retired"
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_a_retry_is_due_after_its_backoff(retired_channel: ChannelAccount) -> None:
    event = record(retired_channel)
    before = timezone.now()

    inbound_event_process(event_id=event.pk)

    event.refresh_from_db()
    assert event.claimed_at is None
    assert event.enqueued_at >= before + timedelta(seconds=2)


@pytest.mark.django_db
def test_the_task_asks_for_a_retry_after_the_backoff_then_settles(retired_channel: ChannelAccount) -> None:
    event = record(retired_channel)

    with pytest.raises(Retry) as retry:
        tasks.ingest_event.apply((event.pk,), throw=True)
    assert retry.value.when == 2
    for _ in range(MAX_ATTEMPTS - 2):
        inbound_event_process(event_id=event.pk)
    assert tasks.ingest_event.apply((event.pk,), throw=True).get() == "failed"


@pytest.mark.django_db
def test_replay_processes_a_failed_event_again(
    retired_channel: ChannelAccount, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    event = record(retired_channel)
    for _ in range(MAX_ATTEMPTS):
        inbound_event_process(event_id=event.pk)
    # An admin fixes the channel, then asks for the event to be processed again.
    ChannelAccount.objects.filter(pk=retired_channel.pk).update(kind=ChannelAccount.Kind.API)

    with django_capture_on_commit_callbacks(execute=True):
        inbound_event_replay(event=event)

    event.refresh_from_db()
    assert (event.state, event.attempts, event.error) == ("done", 1, "")
    assert event.result == {"message_ids": [Message.objects.get().pk]}


@pytest.mark.django_db
def test_admin_process_again_action_requeues_failed_events_only(
    retired_channel: ChannelAccount, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    failed = record(retired_channel, event_id="broken")
    for _ in range(MAX_ATTEMPTS):
        inbound_event_process(event_id=failed.pk)
    waiting = record(retired_channel, event_id="waiting")
    ChannelAccount.objects.filter(pk=retired_channel.pk).update(kind=ChannelAccount.Kind.API)
    admin = User.objects.create_superuser("root", "root@sportello.test", "password")
    client = Client()
    client.force_login(admin)

    page = client.get("/admin/channels_in/inboundevent/?state__exact=failed")
    assert page.status_code == 200
    assert "UnknownChannelKind: retired" in page.content.decode()
    detail = client.get(f"/admin/channels_in/inboundevent/{failed.pk}/change/")
    assert "UnknownChannelKind: retired" in detail.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/channels_in/inboundevent/",
            {"action": "replay", "_selected_action": [failed.pk, waiting.pk]},
            follow=True,
        )

    assert "1 event(s) queued again." in response.content.decode()
    failed.refresh_from_db()
    waiting.refresh_from_db()
    assert failed.state == "done"
    assert (waiting.state, waiting.attempts) == ("pending", 0)
    assert Message.objects.get().external_id == "broken"


@pytest.mark.django_db
def test_an_event_another_worker_is_on_is_left_to_it(api_channel: ChannelAccount, settings) -> None:  # type: ignore[no-untyped-def]
    settings.STALE_WORK_SECONDS = 30
    event = record(api_channel)
    InboundEvent.objects.filter(pk=event.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=5), attempts=1
    )

    assert inbound_event_process(event_id=event.pk).state == "pending"
    event.refresh_from_db()
    assert event.attempts == 1
    assert Message.objects.count() == 0

    # Past the deadline the claim is a dead worker's, and this one takes over.
    InboundEvent.objects.filter(pk=event.pk).update(claimed_at=timezone.now() - timedelta(seconds=31))
    assert inbound_event_process(event_id=event.pk).state == "done"
    event.refresh_from_db()
    assert event.attempts == 2
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_events_without_a_provider_id_are_all_kept_and_a_known_id_only_once(
    api_channel: ChannelAccount,
) -> None:
    first = record(api_channel, json.dumps(payload("a")).encode(), event_id=None)
    second = record(api_channel, json.dumps(payload("b")).encode(), event_id=None)
    known = record(api_channel, event_id="msg-1")
    again = record(api_channel, event_id="msg-1")

    assert len({first.pk, second.pk, known.pk}) == 3
    assert again.pk == known.pk
    assert InboundEvent.objects.count() == 3
