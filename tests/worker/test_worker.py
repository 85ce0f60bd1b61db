"""The background-work guarantees, with real Celery workers on the test's PostgreSQL and Redis.

A message accepted over HTTP is filed by a worker; a reply is delivered by one; and a worker killed
with SIGKILL in the middle of either loses nothing and duplicates nothing once another worker (with
beat running the stale-work sweep) takes over.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.models import User

from channels_in.api.tests.wire import inbound_url, payload
from channels_in.models import ChannelAccount, InboundEvent
from channels_in.signing import body_signature
from tests.fixtures.http_peer import AsgiServer, HttpPeer, Reply
from tests.fixtures.personas import make_agent, make_api_channel
from tests.fixtures.worker import WorkerProcess, wait_until
from tickets.models import Attachment, Message, Team, Ticket
from tickets.services.messages import message_send_reply

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

CALLBACK = "/callback"
# The sweep considers work stale after 2 s and runs every second, so recovery is quick to observe.
FAST_SWEEP = {"STALE_WORK_SECONDS": "2", "REQUEUE_INTERVAL_SECONDS": "1"}
HOOKS = "tests.worker.hooks"
# Generous for a loaded 2-core machine; a healthy run takes a few seconds.
BOUND = 45.0


@pytest.fixture
def channel(http_peer: HttpPeer) -> ChannelAccount:
    team = Team.objects.create(name="Support")
    return make_api_channel(
        team=team, trust_identities=True, callback_url=http_peer.url(CALLBACK), callback_timeout=30
    )


@pytest.fixture
def agent() -> User:
    return make_agent("dario_conti")


def post_message(server: AsgiServer, account: ChannelAccount, message_id: str, **fields: object) -> dict:  # type: ignore[type-arg]
    body = json.dumps(payload(message_id, **fields)).encode()
    response = httpx.post(
        server.url(inbound_url(account)),
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Sportello-Signature": body_signature(account.config["secret"], body),
        },
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return response.json()


def filed(event_id: int) -> bool:
    return InboundEvent.objects.filter(pk=event_id, state=InboundEvent.State.DONE).exists()


def status_of(message: Message) -> str:
    return Message.objects.values_list("status", flat=True).get(pk=message.pk)


def hold(tmp_path: Path, *task_names: str) -> tuple[Path, dict[str, str]]:
    flag = tmp_path / "hold.flag"
    flag.write_text("hold")
    return flag, {"HOLD_FLAG": str(flag), "HOLD_TASKS": ",".join(task_names)}


def test_a_posted_message_is_filed_and_its_attachment_fetched_by_the_worker(
    start_worker: Callable[..., WorkerProcess],
    asgi_server: AsgiServer,
    channel: ChannelAccount,
    http_peer: HttpPeer,
    tmp_path: Path,
) -> None:
    photo = b"\x89PNG\r\n\x1a\n" + b"scratch" * 500
    http_peer.script("/photo.png", Reply(200, photo, content_type="image/png"))
    worker = start_worker(env={"MEDIA_ROOT": str(tmp_path / "media")})
    attachment_in = {"filename": "photo.png", "content_type": "image/png", "url": http_peer.url("/photo.png")}

    accepted = post_message(
        asgi_server, channel, "w-1", text="Ordine 5521 mai arrivato", attachments=[attachment_in]
    )

    wait_until(
        lambda: filed(accepted["event_id"]), timeout=BOUND, what=f"event filed\n{worker.log()[-3000:]}"
    )
    message = Message.objects.select_related("ticket").get()
    assert (message.external_id, message.text) == ("w-1", "Ordine 5521 mai arrivato")
    assert message.ticket.origin_channel_id == channel.pk
    attachment = wait_until(
        lambda: Attachment.objects.exclude(sha256="").first(), timeout=BOUND, what="attachment fetched"
    )
    assert (attachment.sha256, attachment.size) == (hashlib.sha256(photo).hexdigest(), len(photo))
    assert (tmp_path / "media" / attachment.file.name).read_bytes() == photo


def test_a_reply_is_delivered_by_the_worker_retrying_a_transient_failure(
    start_worker: Callable[..., WorkerProcess],
    asgi_server: AsgiServer,
    channel: ChannelAccount,
    agent: User,
    http_peer: HttpPeer,
) -> None:
    http_peer.script(CALLBACK, Reply(503), then=Reply(200, b'{"id": "cb-1"}'))
    worker = start_worker()
    accepted = post_message(asgi_server, channel, "w-1")
    wait_until(lambda: filed(accepted["event_id"]), timeout=BOUND, what="event filed")

    started = time.monotonic()
    reply = message_send_reply(ticket=Ticket.objects.get(), author=agent, text="Lo rispediamo oggi.")

    wait_until(lambda: status_of(reply) == "sent", timeout=BOUND, what=f"reply sent\n{worker.log()[-3000:]}")
    # The second attempt waited for its backoff (2 s after the first).
    assert time.monotonic() - started >= 2.0
    reply.refresh_from_db()
    assert (reply.external_id, reply.attempts) == ("reply:cb-1", 2)
    requests = http_peer.received(CALLBACK)
    assert len(requests) == 2
    assert {r.header("Idempotency-Key") for r in requests} == {f"sportello-message-{reply.pk}"}
    assert json.loads(requests[-1].body)["recipient"] == {"id": "cust-42"}


def test_a_worker_killed_holding_an_inbound_event_loses_nothing(
    start_worker: Callable[..., WorkerProcess],
    asgi_server: AsgiServer,
    channel: ChannelAccount,
    tmp_path: Path,
) -> None:
    # A posted event is filed by a drain; the sweep re-queues it as a task of its own.
    flag, hold_env = hold(tmp_path, "channels_in.tasks.ingest_drain", "channels_in.tasks.ingest_event")
    doomed = start_worker(include=[HOOKS], env=hold_env)
    accepted = post_message(asgi_server, channel, "kill-1")
    wait_until(flag.with_suffix(".held").exists, timeout=BOUND, what="worker holding the ingest task")

    doomed.kill()

    # Accepted, stored, and not filed: the only record of the work is the database row.
    assert InboundEvent.objects.get(pk=accepted["event_id"]).state == "pending"
    assert Message.objects.count() == 0
    flag.unlink()
    rescuer = start_worker(beat=True, env=FAST_SWEEP)
    wait_until(
        lambda: filed(accepted["event_id"]), timeout=BOUND, what=f"event filed\n{rescuer.log()[-3000:]}"
    )
    # Several sweeps later, still exactly one message.
    time.sleep(3)
    assert list(Message.objects.values_list("external_id", flat=True)) == ["kill-1"]
    assert Ticket.objects.count() == 1
    event = InboundEvent.objects.get(pk=accepted["event_id"])
    assert (event.state, event.attempts) == ("done", 1)
    assert "re-queued 1 inbound events" in rescuer.log()


def test_a_worker_killed_in_the_middle_of_a_send_delivers_once_per_key(
    start_worker: Callable[..., WorkerProcess],
    asgi_server: AsgiServer,
    channel: ChannelAccount,
    agent: User,
    http_peer: HttpPeer,
) -> None:
    # The first call hangs: the worker is inside the HTTP call when it dies.
    http_peer.script(CALLBACK, Reply(200, b'{"id": "never"}', delay=60), then=Reply(200, b'{"id": "cb-9"}'))
    doomed = start_worker()
    accepted = post_message(asgi_server, channel, "w-1")
    wait_until(lambda: filed(accepted["event_id"]), timeout=BOUND, what="event filed")
    reply = message_send_reply(ticket=Ticket.objects.get(), author=agent, text="Rimborso emesso.")
    http_peer.wait_for(1, path=CALLBACK, timeout=BOUND)
    assert status_of(reply) == "sending"

    doomed.kill()

    rescuer = start_worker(beat=True, env=FAST_SWEEP)
    wait_until(lambda: status_of(reply) == "sent", timeout=BOUND, what=f"reply sent\n{rescuer.log()[-3000:]}")
    time.sleep(3)
    reply.refresh_from_db()
    assert (reply.status, reply.external_id) == ("sent", "reply:cb-9")
    requests = http_peer.received(CALLBACK)
    assert len(requests) == 2
    assert {r.header("Idempotency-Key") for r in requests} == {f"sportello-message-{reply.pk}"}
    assert requests[0].body == requests[1].body
    assert "re-queued 1 outbound messages" in rescuer.log()
    assert "inbound events" not in rescuer.log()  # the inbound sweep found nothing to re-queue


def test_a_worker_killed_before_a_send_delivers_exactly_once(
    start_worker: Callable[..., WorkerProcess],
    asgi_server: AsgiServer,
    channel: ChannelAccount,
    agent: User,
    http_peer: HttpPeer,
    tmp_path: Path,
) -> None:
    http_peer.script(CALLBACK, then=Reply(200, b'{"id": "cb-2"}'))
    flag, hold_env = hold(tmp_path, "tickets.tasks.deliver_message")
    doomed = start_worker(include=[HOOKS], env=hold_env)
    accepted = post_message(asgi_server, channel, "w-1")
    wait_until(lambda: filed(accepted["event_id"]), timeout=BOUND, what="event filed")
    reply = message_send_reply(ticket=Ticket.objects.get(), author=agent, text="Eccoci.")
    wait_until(flag.with_suffix(".held").exists, timeout=BOUND, what="worker holding the delivery task")

    doomed.kill()

    assert status_of(reply) == "queued"
    flag.unlink()
    rescuer = start_worker(beat=True, env=FAST_SWEEP)
    wait_until(lambda: status_of(reply) == "sent", timeout=BOUND, what=f"reply sent\n{rescuer.log()[-3000:]}")
    time.sleep(3)
    assert len(http_peer.received(CALLBACK)) == 1
    assert Message.objects.get(pk=reply.pk).attempts == 1
    assert "re-queued 1 outbound messages" in rescuer.log()
    assert "inbound events" not in rescuer.log()  # the inbound sweep found nothing to re-queue
