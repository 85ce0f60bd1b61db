"""Live-layer latency on the real scaled stack: inbound API message → event on every agent socket.

Starts the scaled stack (granian for HTTP, uvicorn with several ASGI processes for websockets, Celery
workers, PostgreSQL, Redis), connects N authenticated agent websockets spread over T teams, then:

0. warm-up (unmeasured, skip with ``--no-warm-up``): each customer of each team's channel writes once,
   so the measured messages are, as in a working help desk, customers writing on their open tickets;
1. steady: posts inbound messages at R per second through ``POST /api/v1/inbound/<key>/messages``,
   each to a random team's API channel;
2. burst: posts B messages at once.

For every delivery of ``message.created`` to a socket of the message's team it records the time from
just before the POST was sent to the frame's arrival, and prints p50 / p99 / max and deliveries/s. It
also prints the share after the event was recorded (its ``at``): the live layer alone, without the
inbound queue in front of it, which dominates once inbound processing falls behind the offered rate. It
then checks, per socket and ticket, that the ``seq`` numbers received are exactly ``1..last`` (nothing
missed, nothing twice). Raw Redis PUBLISH → subscriber latency at the same rate is printed for
reference. Results also go to ``bench/results/live-<time>.json``.

    .venv/bin/python bench/live.py                      # 500 sockets, 10 teams, 50 msg/s, burst 500
    .venv/bin/python bench/live.py --sockets 100 --seconds 5 --burst 100   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# Run as a script, Python puts bench/ first on the path; the project root takes its place.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import httpx  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

from bench.common import Stack, StackConfig, WorkerSpec, write_results  # noqa: E402

_MARK = re.compile(r"bench-(\d+)-(\d+)")
# How the websocket processes are started in production (docs/operations.md): no per-message
# compression, whose per-socket deflate of the same frame cost more than the rest of a delivery.
ASGI_ARGS = ("--lifespan=off", "--ws-per-message-deflate=false")

SETUP = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from channels_in.models import ChannelAccount
from tickets.models import AgentProfile, Team

teams = [Team.objects.create(name=f"Team {n}") for n in range(TEAMS)]
users = User.objects.bulk_create(
    [User(username=f"agent{n}", password="!", first_name=f"Agent {n}") for n in range(SOCKETS)]
)
profiles = AgentProfile.objects.bulk_create([AgentProfile(user=user) for user in users])
Membership = AgentProfile.teams.through
Membership.objects.bulk_create(
    [Membership(agentprofile_id=p.pk, team_id=teams[n % TEAMS].pk) for n, p in enumerate(profiles)]
)
agents = []
for n, user in enumerate(users):
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    agents.append({"id": user.pk, "team": n % TEAMS, "session": session.session_key})
channels = []
for n, team in enumerate(teams):
    account = ChannelAccount.objects.create(
        kind="api", name=f"Bench {n}", key=f"bench-{n}", default_team=team,
        config={"token": f"bench-token-{n}", "secret": f"bench-secret-{n}"},
    )
    channels.append({"key": account.key, "token": f"bench-token-{n}"})
print(json.dumps({"agents": agents, "channels": channels}))
"""


@dataclass
class Phase:
    name: str
    sent_at: dict[str, float] = field(default_factory=dict)
    team_of: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    # From the event being recorded (its ``at``, inside the ingest transaction) to its arrival: the
    # live layer's own share, without the inbound queue in front of it.
    fanout: list[float] = field(default_factory=list)
    first_send: float = 0.0
    last_arrival: float = 0.0
    post_errors: int = 0
    # CPU seconds each process group used during the phase, settle time included.
    cpu: dict[str, float] = field(default_factory=dict)


@dataclass
class AgentSocket:
    agent_id: int
    team: int
    connection: ClientConnection
    # ticket id -> every seq received for it, in arrival order
    seqs: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))


class Bench:
    def __init__(self, args: argparse.Namespace, stack: Stack, data: dict[str, Any]) -> None:
        self.args, self.stack, self.data = args, stack, data
        self.sockets: list[AgentSocket] = []
        self.phase: Phase | None = None
        self.phases: list[Phase] = []
        self.sequence = 0

    async def connect_all(self) -> float:
        started = time.perf_counter()
        origin = self.stack.asgi_url
        url = self.stack.asgi_url.replace("http://", "ws://") + "/ws/agent/"
        gate = asyncio.Semaphore(25)

        async def one(agent: dict[str, Any]) -> AgentSocket:
            async with gate:
                connection = await connect(
                    url,
                    additional_headers={"Cookie": f"sessionid={agent['session']}"},
                    origin=origin,  # type: ignore[arg-type]
                    open_timeout=60,
                    max_queue=None,
                )
                hello = json.loads(await asyncio.wait_for(connection.recv(), 60))
                if hello.get("type") != "hello":
                    raise RuntimeError(f"agent {agent['id']}: expected hello, got {hello}")
                return AgentSocket(agent_id=agent["id"], team=agent["team"], connection=connection)

        self.sockets = list(await asyncio.gather(*(one(agent) for agent in self.data["agents"])))
        return time.perf_counter() - started

    async def reader(self, sock: AgentSocket) -> None:
        async for raw in sock.connection:
            if '"message.created"' not in raw and '"ticket.' not in raw:
                continue
            now, wall = time.perf_counter(), time.time()
            frame = json.loads(raw)
            if "seq" not in frame or "data" not in frame:
                continue
            sock.seqs[frame["ticket_id"]].append(frame["seq"])
            if frame["type"] != "message.created" or self.phase is None:
                continue
            found = _MARK.search(frame["data"].get("text", ""))
            if found is None:
                continue
            sent = self.phase.sent_at.get(found.group(0))
            if sent is not None:
                self.phase.latencies.append(now - sent)
                self.phase.fanout.append(wall - datetime.fromisoformat(frame["at"]).timestamp())
                self.phase.last_arrival = max(self.phase.last_arrival, now)

    async def post(
        self, client: httpx.AsyncClient, phase: Phase, *, sender: tuple[int, int] | None = None
    ) -> None:
        self.sequence += 1
        team, customer = sender or (random.randrange(self.args.teams), random.randrange(self.args.customers))
        channel = self.data["channels"][team]
        mark = f"bench-{team}-{self.sequence}"
        body = json.dumps(
            {
                "message_id": mark,
                "sender": {"id": f"customer-{customer}", "name": "Bench"},
                "text": f"Messaggio {mark}",
            }
        )
        phase.team_of[mark] = team
        phase.sent_at[mark] = time.perf_counter()
        try:
            response = await client.post(
                f"{self.stack.web_url}/api/v1/inbound/{channel['key']}/messages",
                content=body,
                headers={"Authorization": f"Bearer {channel['token']}", "Content-Type": "application/json"},
            )
            if response.status_code != 202:
                phase.post_errors += 1
        except httpx.HTTPError:
            phase.post_errors += 1

    async def warm_up(self, *, rate: float) -> float:
        """Every customer writes once, unmeasured, so the phases measure conversations in progress.

        A help desk's traffic is mostly customers writing again on an open ticket; without this, most
        measured messages would be first contacts (a new contact, ticket and routing each).
        """
        senders = [
            (team, customer) for customer in range(self.args.customers) for team in range(self.args.teams)
        ]
        phase = Phase("warm-up")
        self.phase = phase
        start = time.perf_counter()
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            tasks = []
            for index, sender in enumerate(senders):
                delay = start + index / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self.post(client, phase, sender=sender)))
            await asyncio.gather(*tasks)
        deadline = time.perf_counter() + 300
        while time.perf_counter() < deadline:
            filed = self.stack.sql("SELECT count(*) FROM tickets_message WHERE direction = 'inbound'")[0][0]
            if filed >= len(senders):
                break
            await asyncio.sleep(0.5)
        self.phase = None
        await asyncio.sleep(2)  # the warm-up's own deliveries and routing settle
        return time.perf_counter() - start

    async def run_phase(self, phase: Phase, *, rate: float | None, count: int) -> None:
        self.phase = phase
        self.phases.append(phase)
        cpu_before = {**self.stack.process_cpu_seconds(), "bench client": time.process_time()}
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            phase.first_send = time.perf_counter()
            tasks = []
            for index in range(count):
                if rate is not None:
                    # Open loop: each POST leaves at its scheduled time, however slow earlier ones are.
                    delay = phase.first_send + index / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self.post(client, phase)))
            await asyncio.gather(*tasks)
        expected = self.expected_deliveries(phase)
        deadline = time.perf_counter() + self.args.settle
        while len(phase.latencies) < expected and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
        # The client's own share (500 sockets read by one process) is on the same machine's CPUs.
        cpu_after = {**self.stack.process_cpu_seconds(), "bench client": time.process_time()}
        phase.cpu = {name: round(cpu_after[name] - cpu_before.get(name, 0.0), 2) for name in cpu_after}

    def expected_deliveries(self, phase: Phase) -> int:
        per_team = defaultdict(int)
        for sock in self.sockets:
            per_team[sock.team] += 1
        return sum(per_team[team] for team in phase.team_of.values())


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(phase: Phase, expected: int) -> dict[str, Any]:
    ms = [value * 1000 for value in phase.latencies]
    fanout = [value * 1000 for value in phase.fanout]
    span = max(phase.last_arrival - phase.first_send, 1e-9)
    return {
        "recorded_to_socket_p50_ms": round(percentile(fanout, 0.50), 1),
        "recorded_to_socket_p99_ms": round(percentile(fanout, 0.99), 1),
        "recorded_to_socket_max_ms": round(max(fanout), 1) if fanout else None,
        "messages": len(phase.sent_at),
        "post_errors": phase.post_errors,
        "deliveries": len(ms),
        "expected_deliveries": expected,
        "p50_ms": round(percentile(ms, 0.50), 1),
        "p99_ms": round(percentile(ms, 0.99), 1),
        "max_ms": round(max(ms), 1) if ms else None,
        "deliveries_per_s": round(len(ms) / span, 1),
        "cpu_seconds": phase.cpu,
        "asgi_cpu_us_per_delivery": round(phase.cpu.get("uvicorn", 0.0) / len(ms) * 1e6, 1) if ms else None,
    }


def seq_check(bench: Bench, last_seq: dict[int, int], team_of_ticket: dict[int, int]) -> dict[str, int]:
    """Per socket and ticket of its team, the seqs received must be exactly 1..last, once each."""
    missed = doubled = out_of_order = checked = 0
    for sock in bench.sockets:
        for ticket_id, team in team_of_ticket.items():
            if team != sock.team:
                continue
            got = sock.seqs.get(ticket_id, [])
            want = set(range(1, last_seq[ticket_id] + 1))
            missed += len(want - set(got))
            doubled += len(got) - len(set(got))
            out_of_order += int(got != sorted(got))
            checked += 1
    return {"socket_tickets": checked, "missed": missed, "doubled": doubled, "out_of_order": out_of_order}


async def redis_reference(url: str, *, rate: float, count: int) -> dict[str, Any]:
    """Raw PUBLISH → subscriber latency on the same Redis, at the benchmark's message rate."""
    client = aioredis.Redis.from_url(url)
    pubsub = client.pubsub()
    channel = f"bench-live-reference-{os.getpid()}"
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1)
    latencies: list[float] = []

    async def listen() -> None:
        while len(latencies) < count:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
            if message is None:
                return
            latencies.append(time.perf_counter() - float(message["data"]))

    listener = asyncio.create_task(listen())
    start = time.perf_counter()
    for index in range(count):
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await client.publish(channel, repr(time.perf_counter()))
    await asyncio.wait_for(listener, 30)
    await pubsub.aclose()
    await client.aclose()
    ms = [value * 1000 for value in latencies]
    return {
        "messages": count,
        "received": len(ms),
        "p50_ms": round(percentile(ms, 0.5), 3),
        "p99_ms": round(percentile(ms, 0.99), 3),
        "max_ms": round(max(ms), 3) if ms else None,
    }


async def drive(args: argparse.Namespace, stack: Stack, data: dict[str, Any]) -> dict[str, Any]:
    bench = Bench(args, stack, data)
    connect_seconds = await bench.connect_all()
    print(f"connected {len(bench.sockets)} agent sockets in {connect_seconds:.1f}s", flush=True)
    readers = [asyncio.create_task(bench.reader(sock)) for sock in bench.sockets]
    await asyncio.sleep(2)  # let the connect-time presence events pass
    warm_up_seconds = None
    if args.warm_up:
        warm_up_seconds = await bench.warm_up(rate=args.warm_up_rate)
        print(
            f"warm-up: {args.customers * args.teams} customers wrote once in {warm_up_seconds:.1f}s",
            flush=True,
        )
    steady = Phase("steady")
    await bench.run_phase(steady, rate=args.rate, count=int(args.rate * args.seconds))
    burst = Phase("burst")
    await bench.run_phase(burst, rate=None, count=args.burst)
    await asyncio.sleep(1)
    reference = await redis_reference(stack.redis_url, rate=args.rate, count=int(args.rate * 4))
    rows = stack.sql("SELECT id, seq, team_id FROM tickets_ticket")
    last_seq = {row[0]: row[1] for row in rows}
    # Teams were created in index order, so their ids sort the same way.
    team_index = {team_id: index for index, team_id in enumerate(stack_team_ids(stack))}
    team_of_ticket = {row[0]: team_index[row[2]] for row in rows if row[2] in team_index}
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*(sock.connection.close() for sock in bench.sockets), return_exceptions=True)
    return {
        "connect_seconds": round(connect_seconds, 1),
        "warm_up_seconds": round(warm_up_seconds, 1) if warm_up_seconds is not None else None,
        "steady": summary(steady, bench.expected_deliveries(steady)),
        "burst": summary(burst, bench.expected_deliveries(burst)),
        "seq_check": seq_check(bench, last_seq, team_of_ticket),
        "redis_publish_to_subscriber": reference,
    }


def stack_team_ids(stack: Stack) -> list[int]:
    return [row[0] for row in stack.sql("SELECT id FROM tickets_team ORDER BY id")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--rate", type=float, default=50.0, help="steady inbound messages per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the steady phase")
    parser.add_argument("--burst", type=int, default=500, help="messages posted at once")
    parser.add_argument("--customers", type=int, default=200, help="distinct senders per channel")
    parser.add_argument(
        "--no-warm-up",
        action="store_false",
        dest="warm_up",
        help="measure first contacts: skip the unmeasured first message of every customer",
    )
    parser.add_argument("--warm-up-rate", type=float, default=200.0, help="warm-up messages per second")
    parser.add_argument("--asgi-workers", type=int, default=2)
    parser.add_argument(
        "--asgi-arg",
        action="append",
        dest="asgi_args",
        help=f"uvicorn option for the websocket processes, instead of {' '.join(ASGI_ARGS)} (repeatable)",
    )
    parser.add_argument("--settle", type=float, default=30.0, help="seconds to wait for late deliveries")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--database", default="sportello_bench_live", help="database to (re)create")
    parser.add_argument("--redis-db", type=int, default=5, help="Redis database number of this run")
    args = parser.parse_args()

    config = StackConfig(
        database=args.database,
        redis_db=args.redis_db,
        asgi_workers=args.asgi_workers,
        asgi_args=tuple(args.asgi_args if args.asgi_args is not None else ASGI_ARGS),
        workers=[
            WorkerSpec("ingest", ("ingest",), concurrency=2),
            WorkerSpec("other", ("routing", "default", "sla", "outbound"), concurrency=1),
        ],
    )
    stack = Stack(config)
    try:
        with stack:
            setup = SETUP.replace("TEAMS", str(args.teams)).replace("SOCKETS", str(args.sockets))
            data = stack.django(setup, timeout=600)
            print(
                f"stack up: web {stack.web_url}, websockets {stack.asgi_url} ({args.asgi_workers} processes)",
                flush=True,
            )
            results = asyncio.run(drive(args, stack, data))
    finally:
        stack.cleanup(drop_database=not args.keep_database)
    results["config"] = {
        "sockets": args.sockets,
        "teams": args.teams,
        "rate_per_s": args.rate,
        "steady_seconds": args.seconds,
        "burst": args.burst,
        "customers_per_channel": args.customers,
        "warm_up": args.warm_up,
        "asgi_workers": args.asgi_workers,
        "asgi_args": list(args.asgi_args if args.asgi_args is not None else ASGI_ARGS),
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
    }
    report(results)
    print(f"results: {write_results('live', results)}")


def report(results: dict[str, Any]) -> None:
    config = results["config"]
    print(
        f"\n{config['sockets']} agent sockets over {config['teams']} teams, "
        f"{config['customers_per_channel']} customers per team's channel "
        f"({'each wrote once before, unmeasured' if config['warm_up'] else 'first contacts included'}), "
        f"{config['asgi_workers']} ASGI processes ({' '.join(config['asgi_args'])}), {config['cpus']} CPUs, "
        f"load average at end {config['load_average_at_end'][0]:.1f}"
    )
    for name in ("steady", "burst"):
        row = results[name]
        label = f"{config['rate_per_s']:g} msg/s" if name == "steady" else f"{config['burst']} at once"
        print(
            f"{name:>6} ({label}): {row['deliveries']}/{row['expected_deliveries']} deliveries, "
            f"{row['deliveries_per_s']} deliveries/s, POST errors {row['post_errors']}"
        )
        print(
            f"{'':>8}POST sent → socket:      p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, "
            f"max {row['max_ms']} ms"
        )
        print(
            f"{'':>8}event recorded → socket: p50 {row['recorded_to_socket_p50_ms']} ms, "
            f"p99 {row['recorded_to_socket_p99_ms']} ms, max {row['recorded_to_socket_max_ms']} ms"
        )
        print(
            f"{'':>8}CPU s: {', '.join(f'{k} {v}' for k, v in row['cpu_seconds'].items())}; "
            f"websocket processes {row['asgi_cpu_us_per_delivery']} µs per delivery"
        )
    check = results["seq_check"]
    print(
        f"seq check over {check['socket_tickets']} (socket, ticket) pairs: missed {check['missed']}, "
        f"doubled {check['doubled']}, out of order {check['out_of_order']}"
    )
    ref = results["redis_publish_to_subscriber"]
    print(
        f"raw Redis PUBLISH→subscriber: p50 {ref['p50_ms']} ms, p99 {ref['p99_ms']} ms, "
        f"max {ref['max_ms']} ms ({ref['received']}/{ref['messages']})"
    )


if __name__ == "__main__":
    main()
