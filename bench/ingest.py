"""Inbound API throughput on the real scaled stack, next to pgbench on the same PostgreSQL server.

Drives N messages from C customers at concurrency K through ``POST /api/v1/inbound/<key>/messages``
(granian + Celery + PostgreSQL + Redis, loopback only), then prints accepted/s, filed/s (first POST
until the last message is in its ticket), POST latency p50/p99, pgbench TPC-B tps and the ratio
filed/s / pgbench tps. Results also go to ``bench/results/ingest-<time>.json``.

    .venv/bin/python bench/ingest.py                 # the standard run (make bench-ingest)
    .venv/bin/python bench/ingest.py --messages 2000 --skip-pgbench   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

# Run as a script, Python puts bench/ first on the path, where a module name like ``email`` would hide
# the standard library's: the project root takes its place.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

from bench.common import (  # noqa: E402
    PYTHON,
    BenchError,
    Stack,
    StackConfig,
    WorkerSpec,
    write_results,
)
from bench.postgres import PgbenchResult, pgbench_tpcb, server_settings  # noqa: E402
from bench.wire import http_response_read  # noqa: E402

GOAL_RATIO = 0.5
_SETUP = """
import json
from channels_in.models import ChannelAccount
from tickets.models import Team
team = Team.objects.create(name="Bench")
account = ChannelAccount.objects.create(
    kind="api", name="Bench API", key="bench-api", default_team=team,
    config={"token": "bench-token", "secret": "bench-secret", "trust_identities": True},
)
print(json.dumps({"key": account.key, "token": "bench-token"}))
"""


# --- the load generator (a separate process, so its CPU is not the measuring process') ------------------
def _body(index: int, customer: int) -> bytes:
    return json.dumps(
        {
            "message_id": f"bench-{index}",
            "sender": {
                "id": f"customer-{customer}",
                "name": f"Customer {customer}",
                "email": f"customer{customer}@example.com",
            },
            "text": f"Message {index}: my order #{100000 + customer} has not arrived yet, can you check?",
        },
        separators=(",", ":"),
    ).encode()


def _requests(*, key: str, token: str, messages: int, customers: int, seed: int) -> list[bytes]:
    # Every customer writes messages/customers times, in a shuffled order, so the same contact now and
    # then has two messages in flight at once, as with a real integration.
    senders = [index % customers for index in range(messages)]
    random.Random(seed).shuffle(senders)
    head = f"POST /api/v1/inbound/{key}/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}"
    result = []
    for index, customer in enumerate(senders):
        body = _body(index, customer)
        result.append(
            f"{head}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        )
    return result


async def _drive(port: int, requests: list[bytes], concurrency: int, deadline: float) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    next_index = iter(range(len(requests)))

    async def connection_loop() -> None:
        nonlocal errors
        reader = writer = None
        for index in next_index:
            for attempt in range(5):
                if time.monotonic() > deadline:
                    raise TimeoutError("load phase over its time limit")
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    started = time.perf_counter()
                    writer.write(requests[index])
                    status, close, _ = await http_response_read(reader)  # type: ignore[arg-type]
                    latencies.append(time.perf_counter() - started)
                    statuses[status] = statuses.get(status, 0) + 1
                    if close:
                        writer.close()
                        writer = None
                    if status < 500:
                        break
                except (OSError, ConnectionError, asyncio.IncompleteReadError):
                    errors += 1
                    if writer is not None:
                        writer.close()
                    writer = None
                    await asyncio.sleep(0.05 * (attempt + 1))
        if writer is not None:
            writer.close()

    first_post = time.time()
    await asyncio.gather(*(connection_loop() for _ in range(concurrency)))
    last_response = time.time()
    latencies.sort()
    return {
        "first_post": first_post,
        "last_response": last_response,
        "statuses": statuses,
        "transport_errors": errors,
        "latency_p50_ms": _percentile(latencies, 0.50) * 1000,
        "latency_p99_ms": _percentile(latencies, 0.99) * 1000,
        "latency_max_ms": (latencies[-1] if latencies else 0.0) * 1000,
    }


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))]


def driver_main(arguments: list[str]) -> None:
    options = json.loads(arguments[0])
    requests = _requests(
        key=options["key"],
        token=options["token"],
        messages=options["messages"],
        customers=options["customers"],
        seed=options["seed"],
    )
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    # Ready, then go when told: building the requests is not part of the measured time.
    print("ready", flush=True)
    sys.stdin.readline()
    deadline = time.monotonic() + options["time_limit"]
    result = asyncio.run(_drive(options["port"], requests, options["concurrency"], deadline))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["driver_cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 2)
    print(json.dumps(result), flush=True)


# --- the measuring process ---------------------------------------------------------------------------
def _filed(stack: Stack) -> int:
    return int(stack.sql("SELECT count(*) FROM tickets_message WHERE direction = 'inbound'")[0][0])


def run(options: argparse.Namespace) -> dict[str, Any]:
    pgbench: PgbenchResult | None = None
    if not options.skip_pgbench:
        print(
            f"pgbench TPC-B: -s {options.pgbench_scale} -c 8 -j 2 -T {options.pgbench_seconds} ...",
            flush=True,
        )
        pgbench = pgbench_tpcb(scale=options.pgbench_scale, seconds=options.pgbench_seconds)
        print(f"  {pgbench.tps:.0f} tps", flush=True)

    config = StackConfig(
        database=options.database,
        redis_db=options.redis_db,
        web_workers=options.web_workers,
        web_threads=options.web_threads,
        workers=[
            *(
                WorkerSpec(
                    f"ingest{number}",
                    ("ingest",),
                    concurrency=options.ingest_concurrency,
                    pool=options.ingest_pool,
                    prefetch_multiplier=options.prefetch,
                )
                for number in range(1, options.ingest_workers + 1)
            ),
            WorkerSpec("other", ("routing", "default", "sla", "outbound"), concurrency=1, pool="solo"),
        ],
    )
    print("starting the stack (fresh database, migrate, granian, Celery) ...", flush=True)
    stack = Stack(config)
    driver: subprocess.Popen[str] | None = None
    try:
        with stack:
            channel = stack.django(_SETUP)
            driver = subprocess.Popen(
                [PYTHON, __file__, "--driver", json.dumps(_driver_options(options, stack, channel))],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            assert driver.stdin is not None and driver.stdout is not None
            if driver.stdout.readline().strip() != "ready":
                raise BenchError("the load generator did not start")
            cpu_before = stack.process_cpu_seconds()
            print(
                f"driving {options.messages} messages from {options.customers} customers "
                f"at concurrency {options.concurrency} ...",
                flush=True,
            )
            driver.stdin.write("go\n")
            driver.stdin.flush()
            filed_at, filed = _wait_filed(stack, driver, options)
            load = json.loads(driver.stdout.readline())
            driver.wait(timeout=30)
            cpu_after = stack.process_cpu_seconds()
            checks = _checks(stack)
            failures = stack.logs("celery-ingest1", tail=2000) if checks["events_failed"] else ""
    finally:
        if driver is not None and driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait(timeout=10)
        stack.cleanup(drop_database=not options.keep_db)

    if filed < options.messages:
        raise BenchError(f"only {filed} of {options.messages} messages were filed in time\n{failures}")
    cpu_used = {name: round(cpu_after.get(name, 0.0) - cpu_before.get(name, 0.0), 2) for name in cpu_after}
    elapsed_accept = load["last_response"] - load["first_post"]
    elapsed_filed = filed_at - load["first_post"]
    filed_per_second = options.messages / elapsed_filed
    return {
        "messages": options.messages,
        "customers": options.customers,
        "concurrency": options.concurrency,
        "accepted_per_second": options.messages / elapsed_accept,
        "filed_per_second": filed_per_second,
        "accept_seconds": elapsed_accept,
        "filed_seconds": elapsed_filed,
        "post_latency_p50_ms": load["latency_p50_ms"],
        "post_latency_p99_ms": load["latency_p99_ms"],
        "post_latency_max_ms": load["latency_max_ms"],
        "http_statuses": load["statuses"],
        "transport_errors": load["transport_errors"],
        "driver_cpu_seconds": load["driver_cpu_seconds"],
        "stack_cpu_seconds": cpu_used,
        "cpu_ms_per_message": round(sum(cpu_used.values()) * 1000 / options.messages, 2),
        "checks": checks,
        "pgbench": asdict(pgbench) if pgbench else None,
        "ratio": filed_per_second / pgbench.tps if pgbench else None,
        "goal_ratio": GOAL_RATIO,
        "stack": {
            "web": f"granian wsgi, {options.web_workers} workers x {options.web_threads} blocking threads",
            "ingest_worker": (
                f"{options.ingest_workers} celery {options.ingest_pool} worker(s), concurrency "
                f"{options.ingest_concurrency} each, prefetch x{options.prefetch}"
            ),
            "other_worker": "celery solo: routing, default, sla, outbound",
        },
        "postgresql": server_settings(),
        "cpus": os.cpu_count(),
        "load_average_after": os.getloadavg(),
    }


def _driver_options(options: argparse.Namespace, stack: Stack, channel: dict[str, str]) -> dict[str, Any]:
    return {
        "port": stack.web_port,
        "key": channel["key"],
        "token": channel["token"],
        "messages": options.messages,
        "customers": options.customers,
        "concurrency": options.concurrency,
        "seed": options.seed,
        "time_limit": options.time_limit,
    }


def _wait_filed(
    stack: Stack, driver: subprocess.Popen[str], options: argparse.Namespace
) -> tuple[float, int]:
    deadline = time.monotonic() + options.time_limit * 2
    filed = 0
    while time.monotonic() < deadline:
        filed = _filed(stack)
        if filed >= options.messages:
            return time.time(), filed
        if driver.poll() not in (None, 0):
            raise BenchError(f"the load generator failed with {driver.returncode}")
        time.sleep(0.1)
    return time.time(), filed


def _checks(stack: Stack) -> dict[str, int]:
    """Exactly once, one open ticket per contact, nothing failed or left pending."""
    row = stack.sql(
        """
        SELECT
          (SELECT count(*) FROM tickets_message WHERE direction = 'inbound'),
          (SELECT count(DISTINCT external_id) FROM tickets_message WHERE direction = 'inbound'),
          (SELECT count(*) FROM tickets_contact),
          (SELECT count(*) FROM tickets_ticket),
          (SELECT count(*) FROM tickets_ticket WHERE status IN ('new', 'open', 'pending', 'on_hold')),
          (SELECT count(*) FROM channels_in_inboundevent),
          (SELECT count(*) FROM channels_in_inboundevent WHERE state = 'failed'),
          (SELECT count(*) FROM channels_in_inboundevent WHERE state = 'pending'),
          (SELECT count(*) FROM tickets_ticketevent)
        """
    )[0]
    names = (
        "messages",
        "distinct_external_ids",
        "contacts",
        "tickets",
        "open_tickets",
        "events",
        "events_failed",
        "events_pending",
        "audit_rows",
    )
    return dict(zip(names, (int(value) for value in row), strict=True))


def _summary(result: dict[str, Any]) -> str:
    pgbench = result["pgbench"]
    lines = [
        "",
        "=== bench/ingest " + "=" * 60,
        f"load         {result['messages']} messages, {result['customers']} customers, "
        f"concurrency {result['concurrency']}",
        f"stack        {result['stack']['web']}; {result['stack']['ingest_worker']}",
        f"accepted/s   {result['accepted_per_second']:8.0f}   ({result['accept_seconds']:.1f} s)",
        f"filed/s      {result['filed_per_second']:8.0f}   ({result['filed_seconds']:.1f} s, first POST "
        "to last message in its ticket)",
        f"POST latency p50 {result['post_latency_p50_ms']:.1f} ms   "
        f"p99 {result['post_latency_p99_ms']:.1f} ms   max {result['post_latency_max_ms']:.1f} ms",
        f"HTTP         {result['http_statuses']}  transport errors {result['transport_errors']}",
        f"checks       {result['checks']}",
        f"CPU seconds  {result['stack_cpu_seconds']}  driver {result['driver_cpu_seconds']}",
        f"CPU/message  {result['cpu_ms_per_message']:.1f} ms (web + workers + PostgreSQL backends)",
    ]
    if pgbench:
        lines += [
            f"pgbench      {pgbench['tps']:8.0f} tps   ({pgbench['command']})",
            f"ratio        {result['ratio']:8.3f}   filed/s / pgbench tps (goal >= {GOAL_RATIO})",
        ]
    lines.append("=" * 77)
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--driver":
        driver_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--time-limit",
        type=float,
        default=600.0,
        help="seconds allowed for the load phase, and again for filing",
    )
    parser.add_argument("--web-workers", type=int, default=2, help="granian worker processes (WEB_WORKERS)")
    parser.add_argument(
        "--web-threads", type=int, default=4, help="granian blocking threads per worker (WEB_THREADS)"
    )
    # Each worker's main process receives, acknowledges and hands out its tasks one at a time (a few
    # Redis round trips each): two workers share that work instead of queueing behind one.
    parser.add_argument("--ingest-workers", type=int, default=2)
    parser.add_argument("--ingest-concurrency", type=int, default=2)
    parser.add_argument("--ingest-pool", default="prefork", choices=["prefork", "threads", "solo"])
    parser.add_argument("--prefetch", type=int, default=4)
    parser.add_argument("--pgbench-scale", type=int, default=10)
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument("--skip-pgbench", action="store_true")
    # Two runs at once (or a run next to other work) need a database and a Redis database each.
    parser.add_argument("--database", default="sportello_bench_run", help="must start with sportello_bench_")
    parser.add_argument("--redis-db", type=int, default=4)
    parser.add_argument("--keep-db", action="store_true", help="leave the run's database for inspection")
    options = parser.parse_args()
    if options.messages % options.customers:
        parser.error("--messages must be a multiple of --customers")
    result = run(options)
    print(_summary(result))
    print(f"results: {write_results('ingest', result)}")


if __name__ == "__main__":
    main()
