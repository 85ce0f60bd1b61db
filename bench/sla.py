"""SLA timers on the real scaled stack: how late a breach reaches a supervisor, and what watching costs.

Starts the scaled stack with Celery beat (the ``sla_tick`` timer), a worker of its own for the ``sla``
queue and a websocket process, signs a supervisor's socket in, then for each size (10,000, 100,000 and
1,000,000 open tickets by default, grown in place):

1. **idle**: open tickets whose due times lie hours ahead, nothing due: the CPU the SLA machinery (the
   sla worker, beat, and the database) uses per minute;
2. **breaches**: adds tickets whose first-response target falls due one after another over a window,
   while the inbound API takes messages at a steady rate, and records for each ``ticket.sla_breached``
   frame on the supervisor's socket the lag from its due time to its arrival: p50 / p99 / max.

Tickets are written with SQL (``generate_series``) from a template row made through Django, so a million
take a minute, not an hour; their clocks are what ``tickets.sla_clock`` writes.

    .venv/bin/python bench/sla.py                                  # 10k, 100k, 1M; 1,000 breaches each
    .venv/bin/python bench/sla.py --sizes 10000 --breaches 200 --idle-seconds 20   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import httpx  # noqa: E402
import psycopg2  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from bench.common import Stack, StackConfig, WorkerSpec, write_results  # noqa: E402

SETUP = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from channels_in.models import ChannelAccount
from tickets.models import AgentProfile, Contact, SLAPolicy, Team, Ticket

team = Team.objects.create(name="Bench")
policy = SLAPolicy.objects.create(name="Bench", first_response_minutes=60, warning_percent=80)
user = User.objects.create(username="supervisor", password="!")
AgentProfile.objects.create(user=user, role="supervisor")
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
account = ChannelAccount.objects.create(
    kind="api", name="Bench", key="bench-sla", default_team=team,
    config={"token": "bench-token", "secret": "bench-secret"},
)
contact = Contact.objects.create(name="Template")
# Closed, so the template never counts as open and never collides with the one-open-ticket rule.
ticket = Ticket.objects.create(
    contact=contact, team=team, subject="Template", status="closed", sla_policy=policy
)
print(json.dumps({"session": session.session_key, "ticket": ticket.pk, "contact": contact.pk,
                  "channel": account.key, "token": "bench-token"}))
"""

# The clocks as tickets.sla_clock.sla_state_to_data writes them: one first-response clock running.
_STATE = """jsonb_build_object('paused', false, 'clocks', jsonb_build_object(
    'first_response', jsonb_build_object('target', {target}::float, 'used', 0.0,
    'running_since', to_char((({due}) - make_interval(secs => {target})) AT TIME ZONE 'UTC',
                             'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
    'paused', false, 'fulfilled_at', null, 'warned', {warned}, 'breached', false)))"""


def tickets_add(
    database_url: str,
    template: dict[str, Any],
    *,
    count: int,
    due: str,
    alarm: str,
    target: int,
    warned: bool,
) -> float:
    """Add ``count`` open tickets (each with a contact of its own); ``due``/``alarm`` are SQL of ``g``."""
    started = time.perf_counter()
    connection = psycopg2.connect(database_url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM tickets_contact")
            base = cursor.fetchone()[0]
            contact_columns = _columns(cursor, "tickets_contact")
            values = {"id": f"{base} + g", "name": "'Bench ' || g"}
            cursor.execute(
                f"INSERT INTO tickets_contact ({', '.join(contact_columns)}) "
                f"SELECT {', '.join(values.get(c, 'c.' + c) for c in contact_columns)} "
                f"FROM generate_series(1, %s) g, tickets_contact c WHERE c.id = %s",
                (count, template["contact"]),
            )
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('tickets_contact', 'id'), %s)", (base + count,)
            )
            columns = [name for name in _columns(cursor, "tickets_ticket") if name != "id"]
            overrides = {
                "contact_id": f"{base} + g",
                "token": "substr(md5(random()::text || g::text), 1, 20)",
                "subject": "'Bench ' || g",
                "status": "'new'",
                "created_at": f"({due}) - make_interval(secs => {target})",
                "updated_at": "now()",
                "sla_state": _STATE.format(target=target, due=due, warned="true" if warned else "false"),
                "sla_due_at": due,
                "first_response_due_at": due,
                "sla_alarm_at": alarm,
                "triaged_round": "1",
            }
            cursor.execute(
                f"INSERT INTO tickets_ticket ({', '.join(columns)}) "
                f"SELECT {', '.join(overrides.get(c, 't.' + c) for c in columns)} "
                f"FROM generate_series(1, %s) g, tickets_ticket t WHERE t.id = %s",
                (count, template["ticket"]),
            )
        with connection.cursor() as cursor:
            connection.autocommit = True
            cursor.execute("ANALYZE tickets_ticket")
    finally:
        connection.close()
    return time.perf_counter() - started


def _columns(cursor: Any, table: str) -> list[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
        (table,),
    )
    return [row[0] for row in cursor.fetchall()]


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def sla_cpu(stack: Stack) -> float:
    cpu = stack.process_cpu_seconds()
    return cpu.get("celery-sla", 0.0) + cpu.get("beat", 0.0) + cpu.get("postgres", 0.0)


async def breaches_measure(
    stack: Stack, template: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """Add ``args.breaches`` tickets due over the window and time each breach to the supervisor's socket."""
    url = stack.asgi_url.replace("http://", "ws://") + "/ws/agent/"
    lags: list[float] = []
    seen: set[int] = set()
    # What else the supervisor's socket carried meanwhile: the backlog a breach waits behind.
    frames: Counter[str] = Counter()
    async with connect(
        url,
        additional_headers={"Cookie": f"sessionid={template['session']}"},
        origin=stack.asgi_url,
        max_queue=None,
    ) as socket:  # type: ignore[arg-type]
        hello = json.loads(await asyncio.wait_for(socket.recv(), 60))
        assert hello.get("type") == "hello", hello
        lead, window = args.lead, args.window
        first_due = time.time() + lead + 5  # the insert itself takes a moment
        due = f"to_timestamp({first_due} + (g - 1) * {window / max(args.breaches, 1)})"
        added = await asyncio.to_thread(
            tickets_add,
            stack.database_url,
            template,
            count=args.breaches,
            due=due,
            alarm=due,
            target=3600,
            warned=True,
        )
        if time.time() > first_due:
            raise RuntimeError(
                f"adding the due tickets took {added:.1f}s, past the first due time: raise --lead"
            )
        # In a process of its own: posting shares no event loop (nor interpreter lock) with the socket
        # being timed, so a lag measured is the server's, not this script's.
        poster = asyncio.get_running_loop().run_in_executor(
            ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")),
            inbound_process,
            stack.web_url,
            template["channel"],
            template["token"],
            args.rate,
            lead + 5 + window + 5,
        )
        deadline = first_due + window + args.settle
        while len(seen) < args.breaches and time.time() < deadline:
            try:
                raw = await asyncio.wait_for(socket.recv(), max(0.1, deadline - time.time()))
            except TimeoutError:
                break
            arrived = time.time()
            if '"ticket.sla_breached"' not in raw:
                frames[json.loads(raw).get("type", "?")] += 1
                continue
            frame = json.loads(raw)
            if frame["ticket_id"] in seen:
                continue
            seen.add(frame["ticket_id"])
            lags.append(arrived - datetime.fromisoformat(frame["data"]["alarm_at"]).timestamp())
        posted, errors = await poster
    ms = [lag * 1000 for lag in lags]
    return {
        "breaches_expected": args.breaches,
        "breaches_received": len(ms),
        "lag_p50_ms": round(percentile(ms, 0.5), 1),
        "lag_p99_ms": round(percentile(ms, 0.99), 1),
        "lag_max_ms": round(max(ms), 1) if ms else None,
        "lag_min_ms": round(min(ms), 1) if ms else None,
        "inbound_posted": posted,
        "inbound_errors": errors,
        "insert_seconds": round(added, 1),
        "other_frames": dict(frames.most_common()),
    }


def inbound_process(web_url: str, channel: str, token: str, rate: float, seconds: float) -> tuple[int, int]:
    return asyncio.run(inbound_load(web_url, channel, token, rate=rate, seconds=seconds))


async def inbound_load(
    web_url: str, channel: str, token: str, *, rate: float, seconds: float
) -> tuple[int, int]:
    """Post inbound messages at ``rate`` per second for ``seconds`` (new and returning customers)."""
    posted = errors = 0
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        pending: set[asyncio.Task[None]] = set()

        async def one(n: int) -> None:
            nonlocal errors
            body = json.dumps(
                {"message_id": f"m-{time.time_ns()}-{n}", "sender": {"id": f"c-{n % 500}"}, "text": "Ciao"}
            )
            try:
                response = await client.post(
                    f"{web_url}/api/v1/inbound/{channel}/messages",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                    },
                )
                errors += response.status_code != 202
            except httpx.HTTPError:
                errors += 1

        n = 0
        while (elapsed := time.perf_counter() - started) < seconds:
            if rate > 0 and n < elapsed * rate:
                task = asyncio.create_task(one(n))
                pending.add(task)
                task.add_done_callback(pending.discard)
                n += 1
                posted += 1
                continue
            await asyncio.sleep(0.002)
        await asyncio.gather(*pending)
    return posted, errors


def run(args: argparse.Namespace) -> dict[str, Any]:
    config = StackConfig(
        database=args.database,
        redis_db=args.redis_db,
        asgi_workers=1,
        asgi_args=("--lifespan=off", "--ws-per-message-deflate=false"),
        beat=True,
        extra_env={"LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING")},
        workers=[
            WorkerSpec("ingest", ("ingest",), concurrency=2),
            WorkerSpec("other", ("routing", "default", "outbound"), concurrency=2),
            WorkerSpec("sla", ("sla",), concurrency=2),
        ],
    )
    stack = Stack(config)
    rows: list[dict[str, Any]] = []
    try:
        with stack:
            template = stack.django(SETUP)
            present = 0
            for size in args.sizes:
                # Due between two and twelve hours from now: nothing falls due during the run.
                far = "now() + make_interval(secs => 7200 + mod(g, 36000))"
                warn = f"({far}) - make_interval(secs => 0.2 * 10800)"
                added = tickets_add(
                    stack.database_url,
                    template,
                    count=size - present,
                    due=far,
                    alarm=warn,
                    target=10800,
                    warned=False,
                )
                present = size
                print(f"{size:,} open tickets ({added:.0f}s to add)", flush=True)
                time.sleep(5)
                before, clock = sla_cpu(stack), time.perf_counter()
                time.sleep(args.idle_seconds)
                idle = (sla_cpu(stack) - before) / (time.perf_counter() - clock) * 60
                result = asyncio.run(breaches_measure(stack, template, args))
                row = {"open_tickets": size, "idle_cpu_seconds_per_minute": round(idle, 2), **result}
                if result["breaches_received"] < args.breaches:
                    for name in ("beat", "celery-sla"):
                        print(f"--- {name} log (tail)\n{stack.logs(name)}", flush=True)
                rows.append(row)
                print(json.dumps(row), flush=True)
                present += args.breaches
    finally:
        stack.cleanup(drop_database=not args.keep_database)
    return {
        "sizes": rows,
        "config": {
            "breaches": args.breaches,
            "window_s": args.window,
            "inbound_rate_per_s": args.rate,
            "tick_s": 1.0,
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--breaches", type=int, default=1000, help="breaches measured per size")
    parser.add_argument("--window", type=float, default=30.0, help="seconds the breaches are spread over")
    parser.add_argument("--lead", type=float, default=10.0, help="seconds before the first is due")
    parser.add_argument("--rate", type=float, default=200.0, help="inbound messages per second meanwhile")
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=20.0, help="seconds to wait for late breaches")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--database", default="sportello_bench_sla")
    parser.add_argument("--redis-db", type=int, default=6)
    args = parser.parse_args()
    results = run(args)
    print(
        "\nbreach lag (due time -> ticket.sla_breached on a supervisor's socket), "
        f"{args.rate:g} inbound msg/s:"
    )
    for row in results["sizes"]:
        print(
            f"  {row['open_tickets']:>9,} open: p50 {row['lag_p50_ms']} ms, p99 {row['lag_p99_ms']} ms, "
            f"max {row['lag_max_ms']} ms ({row['breaches_received']}/{row['breaches_expected']} breaches); "
            f"idle {row['idle_cpu_seconds_per_minute']} CPU s/min"
        )
    print(f"results: {write_results('sla', results)}")


if __name__ == "__main__":
    main()
