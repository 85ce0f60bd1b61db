"""Embedded mode as a newcomer runs it: ``migrate``, ``seed_demo``, then ``serve`` as a real process.

The server gets its own SQLite file and var directory and a free port; the test reads that SQLite
file to see what the server's in-process worker did.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from channels_in.api import demo as api_demo
from channels_in.models import ChannelAccount
from helpdesk.celery import app as celery_app
from tickets import demo
from tickets.models import Message
from tickets.services.ingest import ingest_inbound_message
from tickets.services.messages import message_send_reply
from tickets.tasks import tasks_deferred

ROOT = Path(__file__).resolve().parent.parent
# The server's re-queue treats work as abandoned after this long: long enough that a retry the
# worker scheduled with a countdown (2 s after a first failure) clearly comes first.
STALE_SECONDS = 8


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class Server:
    url: str
    database: Path
    env: dict[str, str]
    log: Path
    # The replies seed_demo left queued, before the server started.
    seeded_replies: tuple[int, ...] = ()

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10) as connection:
            return connection.execute(sql, params).fetchall()

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    var_dir = tmp_path_factory.mktemp("embedded")
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG"}
    }
    database = var_dir / "sportello.sqlite3"
    env.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings",
        DATABASE_URL=f"sqlite:///{database}",
        SPORTELLO_VAR_DIR=str(var_dir),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        STALE_WORK_SECONDS=str(STALE_SECONDS),
        REQUEUE_INTERVAL_SECONDS="1",
        # The server delivers replies to a local callback, which a deployment would refuse.
        OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
        OUTBOUND_ALLOWED_PORTS="1024-65535",
    )
    log = var_dir / "serve.log"
    prepared = Server(url=f"http://127.0.0.1:{port}", database=database, env=env, log=log)
    prepared.manage("migrate", "--noinput", "-v", "0")
    assert "20 conversations added" in prepared.manage("seed_demo")
    prepared.seeded_replies = tuple(
        row[0]
        for row in prepared.query(
            "select id from tickets_message where direction = 'outbound' and status = 'queued'"
        )
    )

    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(
            lambda: process.poll() is not None or "Sportello is running at" in log.read_text(),
            timeout=60,
            what="the server's banner",
        )
        assert process.poll() is None, f"serve exited early:\n{log.read_text()}"
        _wait_for(lambda: _answers(prepared.url), timeout=30, what="the server to answer")
        yield prepared
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/docs/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_banner_names_the_addresses_and_the_demo_credentials(server: Server) -> None:
    banner = server.log.read_text()
    for path in ("/admin/", "/api/docs/", f"/api/v1/inbound/{api_demo.API_CHANNEL_KEY}/messages"):
        assert f"{server.url}{path}" in banner
    assert demo.DEMO_PASSWORD in banner
    assert demo.SUPERVISOR_API_TOKEN in banner
    assert api_demo.API_CHANNEL_TOKEN in banner


def test_static_files_are_served_in_embedded_mode(server: Server) -> None:
    response = httpx.get(f"{server.url}/static/admin/css/base.css", timeout=5)

    assert response.status_code == 200
    assert "text/css" in response.headers["content-type"]


def test_embedded_mode_answers_the_public_without_debug_pages(server: Server) -> None:
    missing = httpx.get(f"{server.url}/no/such/page/", headers={"Accept-Language": "it"}, timeout=5)
    deep = httpx.post(
        f"{server.url}/api/v1/inbound/{api_demo.API_CHANNEL_KEY}/messages",
        headers={"Authorization": f"Bearer {api_demo.API_CHANNEL_TOKEN}"},
        content=b"[" * 100_000 + b"]" * 100_000,
        timeout=10,
    )

    assert missing.status_code == 404
    assert "Pagina non trovata" in missing.text and "urlpatterns" not in missing.text
    assert deep.status_code == 400 and "nested deeper" in deep.json()["error"]
    kept = Path(server.env["SPORTELLO_VAR_DIR"]) / "secret_key"
    assert kept.stat().st_mode & 0o777 == 0o600


def test_a_message_posted_to_the_demo_channel_is_filed_by_the_in_process_worker(server: Server) -> None:
    response = httpx.post(
        f"{server.url}/api/v1/inbound/{api_demo.API_CHANNEL_KEY}/messages",
        headers={"Authorization": f"Bearer {api_demo.API_CHANNEL_TOKEN}"},
        json={
            "message_id": "newcomer-1",
            "sender": {"id": "newcomer", "name": "Nuovo Cliente"},
            "text": "Buongiorno, vorrei informazioni sui prezzi.",
        },
        timeout=10,
    )
    assert response.status_code == 202, response.text

    rows = _wait_for(
        lambda: server.query(
            "select t.id, t.status, t.subject, c.name from tickets_message m"
            " join tickets_ticket t on t.id = m.ticket_id join tickets_contact c on c.id = t.contact_id"
            " where m.external_id = ?",
            "newcomer-1",
        ),
        timeout=20,
        what="the message to be filed",
    )
    assert rows == [(rows[0][0], "new", "Buongiorno, vorrei informazioni sui prezzi.", "Nuovo Cliente")]
    event_id = response.json()["event_id"]
    assert server.query("select state from channels_in_inboundevent where id = ?", event_id) == [("done",)]


def test_the_readme_first_five_minutes(server: Server) -> None:
    """The README's curl session: a customer writes, the ticket is read back and answered over the API."""
    api = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Token {demo.SUPERVISOR_API_TOKEN}"}, timeout=10
    )
    posted = httpx.post(
        f"{server.url}/api/v1/inbound/{api_demo.API_CHANNEL_KEY}/messages",
        headers={"Authorization": f"Bearer {api_demo.API_CHANNEL_TOKEN}"},
        json={
            "message_id": "order-1042-1",
            "sender": {"id": "cliente-42", "name": "Lucia Ferrari", "email": "lucia@example.it"},
            "text": "Buongiorno, il mio ordine 1042 non è ancora arrivato.",
        },
        timeout=10,
    )
    assert posted.json()["status"] == "accepted"

    found = _wait_for(
        lambda: api.get("/api/v1/tickets", params={"q": "1042"}).json()["results"],
        timeout=20,
        what="the ticket to show in the REST API",
    )
    ticket = found[0]
    assert ticket["contact"]["name"] == "Lucia Ferrari" and ticket["status"] == "new"

    reply = api.post(
        f"/api/v1/tickets/{ticket['id']}/reply", json={"text": "Il corriere lo consegna domani."}
    )
    assert reply.status_code in {200, 201}, reply.text
    _wait_for(
        lambda: any(
            message["id"] == reply.json()["id"] and message["status"] == "sent"
            for message in api.get(f"/api/v1/tickets/{ticket['id']}/messages").json()["results"]
        ),
        timeout=20,
        what="the reply to be sent to the demo integrator",
    )


def test_replies_the_seed_left_queued_are_delivered_by_the_server(server: Server) -> None:
    """seed_demo cannot deliver (no server yet): the rows wait in the database until the server's
    re-queue hands them to its worker, which posts them to the demo integrator."""
    assert len(server.seeded_replies) > 10
    marks = ",".join("?" * len(server.seeded_replies))

    def delivered() -> list[tuple[Any, ...]]:
        return server.query(
            f"select status, external_id from tickets_message where id in ({marks})", *server.seeded_replies
        )

    _wait_for(
        lambda: all(status == "sent" for status, _ in delivered()),
        timeout=45,
        what="every demo reply to be sent",
    )
    # "sent" only follows a 2xx from the integrator, which records the provider's id.
    assert all(external_id for _, external_id in delivered())


class _FlakyCallback:
    """An integrator whose first answer is 503 and every later one 200, recording when each came."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.arrivals.append(time.monotonic())
                failing = len(outer.arrivals) == 1
                body = json.dumps({"id": f"flaky-{len(outer.arrivals)}"}).encode()
                self.send_response(503 if failing else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/replies"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


def test_a_failed_delivery_is_retried_after_its_countdown_in_the_server(server: Server) -> None:
    callback = _FlakyCallback()
    # Another process writes the reply (as the agent UI would) and leaves its delivery to the server.
    script = textwrap.dedent(
        f"""
        from django.contrib.auth.models import User
        from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
        from channels_in.models import ChannelAccount
        from tickets.tasks import tasks_deferred
        from tickets.services.ingest import ingest_inbound_message
        from tickets.services.messages import message_send_reply

        account = ChannelAccount.objects.create(
            kind="api", name="Flaky", key="flaky",
            config={{"token": "t", "secret": "s", "callback_url": {callback.url!r}}},
        )
        with tasks_deferred():
            filed = ingest_inbound_message(inbound=InboundMessage(
                channel_account_id=account.pk, external_id="flaky-in-1",
                sender=IdentityClaim(IdentityKind.API, f"{{account.pk}}:flaky", verified=True),
                text="Hello?",
            ))
            reply = message_send_reply(
                ticket=filed.ticket, author=User.objects.get(username="luca"), text="Hi!"
            )
        print(reply.pk)
        """
    )
    message_id = int(server.manage("shell", "-c", script).strip().splitlines()[-1])

    status = _wait_for(
        lambda: next(
            (
                row
                for row in server.query(
                    "select status, attempts from tickets_message where id = ?", message_id
                )
                if row[0] in {"sent", "failed"}
            ),
            None,
        ),
        timeout=40,
        what="the reply's delivery to settle",
    )
    assert status == ("sent", 2)
    first, second = callback.arrivals
    # The worker honoured the retry's 2 s countdown: neither at once (eager) nor by the re-queue sweep.
    assert 1.5 <= second - first < STALE_SECONDS
    callback.http.shutdown()


@pytest.mark.django_db
def test_tasks_deferred_leaves_the_work_to_the_server(
    api_channel: ChannelAccount, django_capture_on_commit_callbacks: Any
) -> None:
    """Outside ``serve`` tasks run eagerly; deferred ones stay recorded as pending in the database."""
    from django.contrib.auth.models import User

    agent = User.objects.create_user("deferring-agent")
    filed = ingest_inbound_message(inbound=_inbound(api_channel))
    assert celery_app.conf.task_always_eager

    with tasks_deferred(), django_capture_on_commit_callbacks(execute=True):
        deferred = message_send_reply(ticket=filed.ticket, author=agent, text="Later")
    with django_capture_on_commit_callbacks(execute=True):
        eager = message_send_reply(ticket=filed.ticket, author=agent, text="Now")

    assert celery_app.conf.task_always_eager
    assert Message.objects.get(pk=deferred.pk).status == Message.Status.QUEUED
    # Run at once: this channel has no callback, so the delivery fails for good straight away.
    assert Message.objects.get(pk=eager.pk).status == Message.Status.FAILED


def _inbound(account: ChannelAccount) -> Any:
    from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage

    return InboundMessage(
        channel_account_id=account.pk,
        external_id="deferred-1",
        sender=IdentityClaim(IdentityKind.API, f"{account.pk}:someone", verified=True),
        text="Ciao",
    )


SLA_DUE_SOON = """
from datetime import timedelta
from django.db import transaction
from django.utils import timezone
from tickets.models import SLAPolicy, Ticket
from tickets.services import sla
with transaction.atomic():
    ticket = Ticket.objects.filter(status="new", first_response_at__isnull=True).order_by("pk").first()
    ticket.sla_policy, ticket.sla_state = None, {}
    urgent = SLAPolicy.objects.get(name="Urgente")
    since = timezone.now() - timedelta(minutes=urgent.first_response_minutes) + timedelta(seconds=3)
    sla.sla_apply(ticket=ticket, policy=urgent, at=timezone.now(), since=since)
    ticket.save(update_fields=sla.SLA_FIELDS)
print(ticket.pk)
"""


def test_the_in_process_timers_fire_a_breach_and_route_what_the_seed_left(server: Server) -> None:
    ticket_id = int(server.manage("shell", "-c", SLA_DUE_SOON).strip().splitlines()[-1])

    _wait_for(
        lambda: server.query(
            "select 1 from tickets_ticketevent where ticket_id = ? and type = 'ticket.sla_breached'",
            ticket_id,
        ),
        timeout=30,
        what=f"the breach of ticket {ticket_id}",
    )
    # The channels' demo tickets were filed with their routing left to the server: its sweep ran it.
    _wait_for(
        lambda: (
            not server.query(
                "select id from tickets_ticket where status in ('new', 'open', 'pending', 'on_hold') "
                "and triaged_round <= reopened_count"
            )
        ),
        timeout=40,
        what="every open ticket triaged",
    )
