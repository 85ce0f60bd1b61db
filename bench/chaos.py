"""Nothing lost, nothing doubled, while processes die: the scaled stack under faults.

Starts a private PostgreSQL cluster and Redis server (bench/chaos_servers.py) and the scaled stack on
them (granian, uvicorn, Celery workers and beat), then: customers send messages through the API
channel and as raw mail, each delivered three times; agents reply through the API to a callback that
fails often and is restarted once; meanwhile Celery workers are SIGKILLed, Redis and PostgreSQL are
restarted and the web process is killed and started again, at random moments (a seeded RNG). Then it
checks every message filed exactly once and in order, one open ticket per customer, every inbound
event done, no audit ``seq`` gap, the live feed and the websocket catch-up giving each ticket's
events exactly once, and every reply delivered once, and prints the time to converge after the last
fault. Results also go to ``bench/results/chaos-<time>.json``; the exit status is 1 if anything was
lost or doubled.

    .venv/bin/python bench/chaos.py                                  # 10,000 messages, 1,000 customers
    .venv/bin/python bench/chaos.py --messages 1000 --customers 100 --replies 100 --faults-each 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# Run as a script, Python puts bench/ first on the path, where a module name like ``email`` would hide
# the standard library's: the project root takes its place.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

from bench.chaos_checks import (  # noqa: E402
    Database,
    FeedFollower,
    SocketFollower,
    catch_up_all,
    now_utc,
    outcome,
    reply_lookup,
    sequence_faults,
    ticket_lookup,
)
from bench.chaos_load import Agents, Customers, HttpPool, plan  # noqa: E402
from bench.chaos_servers import PrivatePostgres, PrivateRedis, missing_binaries  # noqa: E402
from bench.common import PYTHON, BenchError, Stack, StackConfig, WorkerSpec, free_port, write_results  # noqa: E402

FAULT_KINDS = ("worker", "redis", "postgres", "web")
_SETUP = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from rest_framework.authtoken.models import Token
from channels_in.models import ChannelAccount
from tickets.models import AgentProfile, Team
team = Team.objects.create(name="Chaos")
api = ChannelAccount.objects.create(kind="api", name="Chaos API", key="chaos-api", default_team=team,
    config={"token": "chaos-token", "secret": "chaos-secret", "trust_identities": True,
            "callback_url": "CALLBACK", "callback_timeout": 5})
mail = ChannelAccount.objects.create(kind="email", name="Chaos mail", key="chaos-mail", default_team=team,
    config={"address": "support@example.com", "inbound_token": "chaos-mail-token"})
user = User.objects.create_user("chaos", password=None, first_name="Chaos")
AgentProfile.objects.create(user=user, role="supervisor").teams.add(team)
sessions = []
for _ in range(SESSIONS):
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    sessions.append(session.session_key)
print(json.dumps({"api_key": api.key, "api_token": "chaos-token", "api_id": api.pk, "email_key": mail.key,
    "email_token": "chaos-mail-token", "token": Token.objects.create(user=user).key, "sessions": sessions}))
"""


class Faults:
    """Kills and restarts, one at a time, when the load reaches each fault's (seeded) moment."""

    def __init__(
        self, stack: Stack, postgres: PrivatePostgres, redis: PrivateRedis, rng: random.Random
    ) -> None:
        self.stack, self.postgres, self.redis, self.rng = stack, postgres, redis, rng
        self.log: list[dict[str, Any]] = []
        self.started = time.time()
        self._workers = 0
        # A fault's kill and restart, and the supervisor's restarts, never interleave.
        self.lock = threading.Lock()
        self.restarted: list[dict[str, Any]] = []

    def supervise(self) -> None:
        """Restart what exited by itself (restart: unless-stopped, docker-compose.yml)."""
        with self.lock:
            for name, status in self.stack.supervise():
                at = round(time.time() - self.started, 2)
                self.restarted.append({"name": name, "status": status, "at": at})
                print(f"  {name} exited with {status} at +{at} s; restarted", flush=True)

    def _outage(self) -> float:
        return round(0.5 + self.rng.random() * 2.5, 2)

    def inject(self, kind: str) -> None:
        with self.lock:
            self._inject(kind)

    def _inject(self, kind: str) -> None:
        began, outage = time.time(), self._outage()
        target = kind
        if kind == "worker":
            target = ("celery-ingest", "celery-other")[self._workers % 2]
            self._workers += 1
            self.stack.kill(target, signal.SIGKILL)
            time.sleep(outage)
            self.stack.respawn(target)
        elif kind == "web":
            self.stack.kill("web", signal.SIGKILL)
            time.sleep(outage)
            self.stack.respawn("web")
        elif kind == "redis":
            self.redis.stop()
            time.sleep(outage)
            self.redis.start()
        elif kind == "postgres":
            self.postgres.stop("fast")
            time.sleep(outage)
            self.postgres.start()
        recovered = time.time()
        self.log.append(
            {"kind": kind, "target": target, "at": round(began - self.started, 2),
             "down_seconds": round(recovered - began, 2), "recovered": recovered}
        )  # fmt: skip
        print(f"  fault {len(self.log)}: {target} at +{began - self.started:.1f} s, back after "
              f"{recovered - began:.1f} s", flush=True)  # fmt: skip


class Callback:
    """The integrator's callback server (bench/chaos_callback.py), a process that can be restarted."""

    def __init__(self, root: Path, failure_rate: float, seed: int) -> None:
        self.port = free_port()
        self.journal = root / "callback.jsonl"
        self.args = [PYTHON, "-m", "bench.chaos_callback", str(self.port), str(self.journal),
                     str(failure_rate), str(seed)]  # fmt: skip
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.args, cwd=_HERE.parent, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise BenchError("the callback server did not start")

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                import os

                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def entries(self) -> list[dict[str, Any]]:
        if not self.journal.exists():
            return []
        return [json.loads(line) for line in self.journal.read_text().splitlines() if line.endswith("}")]


def _replies_outcome(callback: Callback, sent: set[str]) -> dict[str, int]:
    new_by_reply: dict[str, set[str]] = {}
    deliveries = duplicates = new = 0
    for entry in callback.entries():
        deliveries += 1
        marker = entry["text"].rsplit("[", 1)[-1].rstrip("]")
        if entry["new"]:
            new += 1
            new_by_reply.setdefault(marker, set()).add(entry["key"])
        elif entry["recorded"]:
            duplicates += 1
    return {
        "replies_created": len(sent),
        "callback_posts": deliveries,
        "delivered": sum(1 for marker in sent if new_by_reply.get(marker)),
        "lost": sum(1 for marker in sent if not new_by_reply.get(marker)),
        "doubled": sum(len(keys) - 1 for keys in new_by_reply.values()) + max(0, new - len(new_by_reply)),
        "redeliveries_deduplicated": duplicates,
    }


def _converged(database: Database, delivered: int, replies: int, callback: Callback) -> bool:
    try:
        row = database.query(
            "SELECT (SELECT count(*) FROM tickets_message WHERE direction = 'inbound'),"
            " (SELECT count(*) FROM channels_in_inboundevent WHERE state <> 'done'),"
            " (SELECT count(*) FROM tickets_message WHERE direction = 'outbound' AND status = 'sent')"
        )[0]
    except Exception:  # noqa: BLE001 - not yet: the server is still coming back
        return False
    new_keys = {entry["key"] for entry in callback.entries() if entry["new"]}
    return row[0] >= delivered and row[1] == 0 and row[2] >= replies and len(new_keys) >= replies


async def _drive(options: argparse.Namespace, stack: Stack, servers: tuple[PrivatePostgres, PrivateRedis],
                 callback: Callback, channel: dict[str, Any], rng: random.Random) -> dict[str, Any]:  # fmt: skip
    started_at = now_utc()
    database = Database(stack.database_url)
    pool = HttpPool(stack.web_port, options.concurrency)
    conversations = plan(messages=options.messages, customers=options.customers,
                         email_share=options.email_share, rng=rng)  # fmt: skip
    total = sum(len(each) for each in conversations)
    customers = Customers(pool, channel, rng, options.late_max)
    agents = Agents(HttpPool(stack.web_port, 8), token=channel["token"], channel_id=channel["api_id"],
                    ticket_of=ticket_lookup(database, channel["api_id"]), reply_exists=reply_lookup(database),
                    rng=rng)  # fmt: skip
    faults = Faults(stack, *servers, rng)
    kinds = [kind for kind in FAULT_KINDS for _ in range(options.faults_each)]
    rng.shuffle(kinds)
    moments = sorted(0.05 + rng.random() * 0.8 for _ in kinds)
    callback_moment = 0.2 + rng.random() * 0.6
    stop, done = asyncio.Event(), asyncio.Event()
    feed = FeedFollower(HttpPool(stack.web_port, 2), channel["token"], started_at)
    origin = stack.asgi_url
    ws_url = origin.replace("http://", "ws://") + "/ws/agent/"
    sockets = [SocketFollower(ws_url, origin, session) for session in channel["sessions"][: options.sockets]]
    queues: list[asyncio.Queue[int]] = [asyncio.Queue() for _ in sockets]

    def progress() -> float:
        return sum(customers.progress.values()) / total

    async def inject_faults() -> None:
        pending = list(zip(moments, kinds, strict=True)) + [(callback_moment, "callback")]
        pending.sort()
        for moment, kind in pending:
            while progress() < moment and not done.is_set():
                await asyncio.sleep(0.1)
            if kind == "callback":
                began = time.time()
                await asyncio.to_thread(callback.stop)
                await asyncio.sleep(0.5 + rng.random() * 2)
                await asyncio.to_thread(callback.start)
                faults.log.append({"kind": "callback", "target": "callback", "at": round(began - faults.started, 2),
                                   "down_seconds": round(time.time() - began, 2), "recovered": time.time()})  # fmt: skip
                continue
            await asyncio.to_thread(faults.inject, kind)

    async def supervise() -> None:
        while not stop.is_set():
            await asyncio.to_thread(faults.supervise)
            await asyncio.sleep(0.5)

    async def hand_out_tickets() -> None:
        handed = 0
        while not stop.is_set() and handed < len(sockets) * options.tickets_per_socket:
            for ticket in feed.tickets[handed : len(sockets) * options.tickets_per_socket]:
                queues[handed % len(sockets)].put_nowait(ticket)
                handed += 1
            await asyncio.sleep(0.5)

    background = [asyncio.create_task(feed.follow(stop, 1.0)), asyncio.create_task(hand_out_tickets())]
    background.append(asyncio.create_task(supervise()))
    background += [
        asyncio.create_task(sock.run(stop, queue)) for sock, queue in zip(sockets, queues, strict=True)
    ]
    per_customer = options.messages // options.customers
    reply_tasks = [
        asyncio.create_task(
            agents.reply(number, number % options.customers, customers, rng.randrange(per_customer), done)
        )  # fmt: skip
        for number in range(options.replies)
    ]
    fault_task = asyncio.create_task(inject_faults())
    print(
        f"driving {total} messages x3 from {options.customers} customers, {options.replies} replies ...",
        flush=True,
    )
    await customers.run(conversations)
    done.set()
    await asyncio.gather(*reply_tasks)
    await fault_task
    load_done = time.time()
    last_recovery = max(entry["recovered"] for entry in faults.log)
    deadline = time.monotonic() + options.time_limit
    deadline_wall = time.time() + options.time_limit
    while not await asyncio.to_thread(
        _converged, database, len(customers.counters.delivered), len(agents.sent), callback
    ):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.25)
    converged_at = time.time()
    # The followers get a moment to see the last events, then one more feed read.
    last_seq = dict(database.query("SELECT id, seq FROM tickets_ticket"))
    settle = time.monotonic() + 15
    while time.monotonic() < settle and any(
        sock.last(ticket) < last_seq.get(ticket, 0) for sock in sockets for ticket in sock.tickets
    ):
        await asyncio.sleep(0.25)
    stop.set()
    while not await feed.read_once():
        await asyncio.sleep(0.5)
    await asyncio.gather(*background, return_exceptions=True)
    # Read from scratch, after the run: the whole feed once, and every ticket over the websockets.
    full = FeedFollower(HttpPool(stack.web_port, 1), channel["token"], started_at)
    while not await full.read_once():
        await asyncio.sleep(0.5)
    caught = await catch_up_all(ws_url, origin, channel["sessions"][options.sockets :], sorted(last_seq))
    result = _report(options, database, customers, agents, faults, callback, feed, sockets, last_seq)
    events = set(database.query("SELECT ticket_id, seq FROM tickets_ticketevent"))
    result["feed"].update(
        full_read_missing=len(events - set(full.seen)),
        full_read_doubled=full.doubled_in_read + sum(count - 1 for count in full.seen.values()),
        full_read_unknown=len(set(full.seen) - events),
    )
    totals = [sequence_faults(caught.get(ticket, []), seq) for ticket, seq in last_seq.items()]
    result["catch_up"] = {
        "tickets": len(caught),
        "missing": sum(each[0] for each in totals),
        "doubled": sum(each[1] for each in totals),
        "out_of_order": sum(each[2] for each in totals),
    }
    result["seconds"] = {
        "load": round(load_done - faults.started, 1),
        "converge_after_last_fault": round(converged_at - last_recovery, 2),
        "converge_after_last_post": round(converged_at - load_done, 2),
        "converged": converged_at < deadline_wall,
    }
    database.close()
    return result


def _report(options: argparse.Namespace, database: Database, customers: Customers, agents: Agents,
            faults: Faults, callback: Callback, feed: FeedFollower, sockets: list[SocketFollower],
            last_seq: dict[int, int]) -> dict[str, Any]:  # fmt: skip
    result: dict[str, Any] = {"seed": options.seed, "options": vars(options).copy()}
    counters = customers.counters
    result["inbound"] = {
        "messages": options.messages, "customers": options.customers,
        "posts_answered_2xx": counters.deliveries, "accepted": counters.accepted,
        "duplicates_absorbed": counters.duplicates, "retries": counters.retries,
        "transport_errors": counters.transport_errors, "gave_up": counters.gave_up,
        "http_statuses": counters.statuses, "delivered": len(counters.delivered),
    }  # fmt: skip
    result["outcome"] = outcome(database, delivered=counters.delivered)
    events = set(database.query("SELECT ticket_id, seq FROM tickets_ticketevent"))
    result["feed"] = {
        "reads_during_run": feed.reads,
        "missed_by_follower": len(events - set(feed.seen)),
        "doubled_within_a_read": feed.doubled_in_read,
        "regrace_rereads_absorbed": sum(count - 1 for count in feed.seen.values()),
        "events": len(events),
    }
    live = [0, 0, 0, 0]
    for sock in sockets:
        for ticket in sock.tickets:
            missing, doubled, disorder = sequence_faults(sock.received[ticket], last_seq.get(ticket, 0))
            live = [live[0] + 1, live[1] + missing, live[2] + doubled, live[3] + disorder]
    result["sockets"] = {
        "tickets_followed": live[0], "missing": live[1], "doubled": live[2], "out_of_order": live[3],
        "reconnects": sum(sock.reconnects for sock in sockets),
        "rate_limited": sum(sock.rate_limited for sock in sockets),
    }  # fmt: skip
    result["replies"] = _replies_outcome(callback, agents.sent)
    result["replies"].update(gave_up=agents.counters.gave_up, api_retries=agents.counters.retries)
    result["faults"] = [
        {key: value for key, value in entry.items() if key != "recovered"} for entry in faults.log
    ]
    result["exited_and_restarted"] = faults.restarted
    return result


def failures(result: dict[str, Any]) -> list[str]:
    """Everything that is not "0 lost, 0 doubled", in words; empty on a good run."""
    checks = {
        "messages never accepted (sender gave up)": result["inbound"]["gave_up"],
        "messages lost": result["outcome"]["lost"],
        "messages doubled": result["outcome"]["doubled"],
        "messages not sent by the bench": result["outcome"]["unexpected"],
        "timeline out of the customer's order": result["outcome"]["timeline_out_of_order"],
        "contacts with several open tickets": result["outcome"]["contacts_with_several_open_tickets"],
        "tickets with audit seq gaps": result["outcome"]["tickets_with_seq_gaps"],
        "inbound events not done": sum(
            count for state, count in result["outcome"]["events_by_state"].items() if state != "done"
        ),
        "feed events missed by the follower": result["feed"]["missed_by_follower"],
        "feed events doubled within a read": result["feed"]["doubled_within_a_read"],
        "feed full read: missing": result["feed"]["full_read_missing"],
        "feed full read: doubled": result["feed"]["full_read_doubled"],
        "websocket catch-up: missing": result["catch_up"]["missing"],
        "websocket catch-up: doubled": result["catch_up"]["doubled"],
        "websocket catch-up: out of order": result["catch_up"]["out_of_order"],
        "live sockets: doubled": result["sockets"]["doubled"],
        "live sockets: out of order": result["sockets"]["out_of_order"],
        "replies lost": result["replies"]["lost"],
        "replies doubled": result["replies"]["doubled"],
        "replies the agent could not create": result["replies"]["gave_up"],
    }
    problems = [f"{name}: {value}" for name, value in checks.items() if value]
    if result["outcome"]["contacts_with_open_tickets"] != result["inbound"]["customers"]:
        problems.append(f"open tickets for {result['outcome']['contacts_with_open_tickets']} contacts, "
                        f"not {result['inbound']['customers']}")  # fmt: skip
    if not result["seconds"]["converged"]:
        problems.append("did not converge within the time limit")
    return problems


def summary(result: dict[str, Any]) -> str:
    inbound, out, replies = result["inbound"], result["outcome"], result["replies"]
    rows = [
        ("seed", result["seed"]),
        ("messages sent", f"{inbound['delivered']} of {inbound['messages']}, from {inbound['customers']} customers, "
                          f"{inbound['posts_answered_2xx']} POSTs answered 2xx"),
        ("accepted (new events)", inbound["accepted"]),
        ("duplicates absorbed", f"{inbound['duplicates_absorbed']} at the door; sender retries "
                                f"{inbound['retries']}, transport errors {inbound['transport_errors']}"),
        ("HTTP statuses", inbound["http_statuses"]),
        ("filed", out["filed"]),
        ("lost / doubled", f"{out['lost']} / {out['doubled']}  (sender gave up: {inbound['gave_up']})"),
        ("order", f"timeline {out['timeline_out_of_order']} out of order; filing order "
                  f"{out['filed_out_of_order']} out of order"),
        ("tickets", f"open for {out['contacts_with_open_tickets']} contacts, several open: "
                    f"{out['contacts_with_several_open_tickets']}; seq gaps {out['tickets_with_seq_gaps']}"),
        ("inbound events", out["events_by_state"]),
        ("live feed", result["feed"]),
        ("websocket catch-up", result["catch_up"]),
        ("live sockets", result["sockets"]),
        ("replies", replies),
        ("seconds", result["seconds"]),
    ]  # fmt: skip
    lines = ["", "=== bench/chaos " + "=" * 61]
    lines += [f"{name:<22} {value}" for name, value in rows]
    lines.append("faults")
    lines += [f"  +{entry['at']:>7.1f} s  {entry['target']:<14} back after {entry['down_seconds']:.1f} s"
              for entry in result["faults"]]  # fmt: skip
    for entry in result["exited_and_restarted"]:
        lines.append(f"  +{entry['at']:>7.1f} s  {entry['name']:<14} exited by itself ({entry['status']}), restarted")
    problems = failures(result)
    lines.append("result                 " + ("0 lost, 0 doubled" if not problems else "; ".join(problems)))
    lines.append("=" * 77)
    return "\n".join(lines)


def run(options: argparse.Namespace) -> dict[str, Any]:
    missing = missing_binaries()
    if missing:
        raise BenchError(f"bench/chaos needs {', '.join(missing)}")
    rng = random.Random(options.seed)
    root = Path(tempfile.mkdtemp(prefix="sportello-chaos-"))
    postgres, redis_server = PrivatePostgres(root), PrivateRedis(root)
    callback = Callback(root, options.callback_failure, options.seed)
    stack: Stack | None = None
    try:
        print(f"seed {options.seed}; private PostgreSQL and Redis in {root} ...", flush=True)
        postgres.create()
        redis_server.start()
        callback.start()
        stack = Stack(_config(options, postgres, redis_server))
        print("starting the stack (migrate, granian, uvicorn, Celery workers and beat) ...", flush=True)
        with stack:
            catch_up_sockets = min(40, max(1, math.ceil(options.customers / 25)))
            setup = _SETUP.replace("CALLBACK", f"http://127.0.0.1:{callback.port}/replies")
            channel = stack.django(setup.replace("SESSIONS", str(options.sockets + catch_up_sockets)))
            result = asyncio.run(_drive(options, stack, (postgres, redis_server), callback, channel, rng))
            result["load_average_after"] = [round(value, 2) for value in __import__("os").getloadavg()]
            if failures(result):
                result["logs"] = {
                    name: stack.logs(name, tail=3000) for name in ("celery-ingest", "celery-other", "web")
                }
    finally:
        if stack is not None:
            stack.stop()
            if options.keep_logs is not None:
                shutil.copytree(stack.log_dir, options.keep_logs, dirs_exist_ok=True)
            stack.cleanup(drop_database=False)
        callback.stop()
        redis_server.destroy()
        postgres.destroy()
        shutil.rmtree(root, ignore_errors=True)
    return result


def _config(
    options: argparse.Namespace, postgres: PrivatePostgres, redis_server: PrivateRedis
) -> StackConfig:
    return StackConfig(
        database="sportello_bench_chaos",
        redis_db=0,
        pg_host="127.0.0.1",
        pg_port=postgres.port,
        redis_server=redis_server.address,
        web_workers=2,
        asgi_workers=1,
        asgi_args=("--lifespan=off", "--ws-per-message-deflate=false"),
        beat=True,
        workers=[
            WorkerSpec("ingest", ("ingest",), concurrency=2),
            WorkerSpec("other", ("routing", "default", "sla", "outbound"), concurrency=2),
        ],
        # A dead worker's work is picked up by the stale-work sweep; short periods keep a run short.
        extra_env={"STALE_WORK_SECONDS": str(options.stale_seconds), "REQUEUE_INTERVAL_SECONDS": "2"},
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--replies", type=int, default=1_000)
    parser.add_argument("--faults-each", type=int, default=2, help="how many times each kind of fault")
    parser.add_argument("--seed", type=int, default=None, help="random by default; printed")
    parser.add_argument("--email-share", type=float, default=0.2, help="share of messages sent as raw mail")
    parser.add_argument("--callback-failure", type=float, default=0.3, help="share of callback calls failed")
    parser.add_argument(
        "--late-max", type=float, default=20.0, help="latest third copy, seconds after the first"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="connections of the senders")
    parser.add_argument("--sockets", type=int, default=4, help="agent sockets following tickets live")
    parser.add_argument("--tickets-per-socket", type=int, default=25)
    parser.add_argument("--stale-seconds", type=int, default=5, help="STALE_WORK_SECONDS of the stack")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds allowed to converge")
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy the processes' logs here")
    parser.add_argument("--json-out", type=Path, default=None, help="also write the result here")
    options = parser.parse_args()
    if options.messages % options.customers:
        parser.error("--messages must be a multiple of --customers")
    if options.seed is None:
        options.seed = random.SystemRandom().randrange(1, 10**6)
    result = run(options)
    result["options"] = {key: str(value) for key, value in result["options"].items()}
    if options.json_out is not None:
        options.json_out.write_text(json.dumps(result, indent=2, default=str))
    print(f"results: {write_results('chaos', result)}")
    print(summary(result))
    sys.exit(1 if failures(result) else 0)


if __name__ == "__main__":
    main()
