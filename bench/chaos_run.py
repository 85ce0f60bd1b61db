"""One bench/chaos run: the load, the faults, the followers, convergence and the report."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench.chaos_checks import (
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
from bench.chaos_load import Agents, Customers, HttpPool, plan
from bench.chaos_servers import PrivatePostgres, PrivateRedis
from bench.common import PYTHON, ROOT, BenchError, Stack, free_port

FAULT_KINDS = ("worker", "redis", "postgres", "web")


class Faults:
    """Kills and restarts, one at a time; and the restart policy for processes that exit by themselves."""

    def __init__(
        self, stack: Stack, postgres: PrivatePostgres, redis: PrivateRedis, rng: random.Random
    ) -> None:
        self.stack, self.postgres, self.redis, self.rng = stack, postgres, redis, rng
        self.log: list[dict[str, Any]] = []
        self.restarted: list[dict[str, Any]] = []
        self.started = time.time()
        self._workers = 0
        # A fault's kill and restart, and the supervisor's restarts, never interleave.
        self.lock = threading.Lock()

    def supervise(self) -> None:
        """Restart what exited by itself, as ``restart: unless-stopped`` does (docker-compose.yml)."""
        with self.lock:
            for name, status in self.stack.supervise():
                at = round(time.time() - self.started, 2)
                self.restarted.append({"name": name, "status": status, "at": at})
                print(f"  {name} exited by itself ({status}) at +{at} s; restarted", flush=True)

    def inject(self, kind: str) -> None:
        with self.lock:
            began, outage = time.time(), round(0.5 + self.rng.random() * 2.5, 2)
            target = self._down(kind)
            time.sleep(outage)
            self._up(target)
            self.record(kind, target, began)

    def record(self, kind: str, target: str, began: float) -> None:
        recovered = time.time()
        entry = {
            "kind": kind,
            "target": target,
            "at": round(began - self.started, 2),
            "down_seconds": round(recovered - began, 2),
            "recovered": recovered,
        }
        self.log.append(entry)
        print(
            f"  fault {len(self.log)}: {target} at +{entry['at']:.1f} s, back after "
            f"{entry['down_seconds']:.1f} s",
            flush=True,
        )

    def _down(self, kind: str) -> str:
        if kind == "worker":
            target = ("celery-ingest", "celery-other")[self._workers % 2]
            self._workers += 1
            self.stack.kill(target, signal.SIGKILL)
            return target
        if kind == "web":
            self.stack.kill("web", signal.SIGKILL)
        elif kind == "redis":
            self.redis.stop()
        elif kind == "postgres":
            self.postgres.stop("fast")
        return kind

    def _up(self, target: str) -> None:
        if target == "redis":
            self.redis.start()
        elif target == "postgres":
            self.postgres.start()
        else:
            self.stack.respawn(target)


class Callback:
    """The integrator's callback server (bench/chaos_callback.py), a process that can be restarted."""

    def __init__(self, root: Path, failure_rate: float, seed: int) -> None:
        self.port = free_port()
        self.journal = root / "callback.jsonl"
        self.args = [
            PYTHON,
            "-m",
            "bench.chaos_callback",
            str(self.port),
            str(self.journal),
            str(failure_rate),
            str(seed),
        ]
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        # Started as a module from the project root: bench/email.py would hide the standard library's.
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise BenchError("the callback server did not start")

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def entries(self) -> list[dict[str, Any]]:
        if not self.journal.exists():
            return []
        return [json.loads(line) for line in self.journal.read_text().splitlines() if line.endswith("}")]

    def outcome(self, sent: set[str]) -> dict[str, int]:
        """Each reply (by the marker in its text) against the keys the callback recorded as new."""
        new_by_reply: dict[str, set[str]] = {}
        posts = duplicates = new = 0
        for entry in self.entries():
            posts += 1
            marker = entry["text"].rsplit("[", 1)[-1].rstrip("]")
            if entry["new"]:
                new += 1
                new_by_reply.setdefault(marker, set()).add(entry["key"])
            elif entry["recorded"]:
                duplicates += 1
        return {
            "replies_created": len(sent),
            "callback_posts": posts,
            "delivered": sum(1 for marker in sent if new_by_reply.get(marker)),
            "lost": sum(1 for marker in sent if not new_by_reply.get(marker)),
            "doubled": sum(len(keys) - 1 for keys in new_by_reply.values()) + new - len(new_by_reply),
            "redeliveries_deduplicated": duplicates,
        }


class ChaosRun:
    """Drives customers, agents, faults and followers against a started stack; returns the report."""

    def __init__(
        self,
        options: argparse.Namespace,
        stack: Stack,
        servers: tuple[PrivatePostgres, PrivateRedis],
        callback: Callback,
        channel: dict[str, Any],
    ) -> None:
        self.options, self.stack, self.callback, self.channel = options, stack, callback, channel
        self.rng = random.Random(options.seed)
        self.database = Database(stack.database_url)
        self.conversations = plan(
            messages=options.messages,
            customers=options.customers,
            email_share=options.email_share,
            rng=self.rng,
        )
        self.total = sum(len(each) for each in self.conversations)
        self.customers = Customers(
            HttpPool(stack.web_port, options.concurrency), channel, self.rng, options.late_max
        )
        self.agents = Agents(
            HttpPool(stack.web_port, 8),
            token=channel["token"],
            channel_id=channel["api_id"],
            ticket_of=ticket_lookup(self.database, channel["api_id"]),
            reply_exists=reply_lookup(self.database),
            rng=self.rng,
        )
        self.faults = Faults(stack, *servers, self.rng)
        self.stop, self.done = asyncio.Event(), asyncio.Event()
        self.started_at = now_utc()
        self.feed = FeedFollower(HttpPool(stack.web_port, 2), channel["token"], self.started_at)
        self.ws_url = stack.asgi_url.replace("http://", "ws://") + "/ws/agent/"
        self.sockets = [
            SocketFollower(self.ws_url, stack.asgi_url, session)
            for session in channel["sessions"][: options.sockets]
        ]
        self.times: dict[str, float] = {}

    def progress(self) -> float:
        return sum(self.customers.progress.values()) / self.total

    async def _inject_faults(self) -> None:
        kinds = [kind for kind in FAULT_KINDS for _ in range(self.options.faults_each)] + ["callback"]
        self.rng.shuffle(kinds)
        for moment, kind in zip(sorted(0.05 + self.rng.random() * 0.8 for _ in kinds), kinds, strict=True):
            while self.progress() < moment and not self.done.is_set():
                await asyncio.sleep(0.1)
            if kind != "callback":
                await asyncio.to_thread(self.faults.inject, kind)
                continue
            began = time.time()
            await asyncio.to_thread(self.callback.stop)
            await asyncio.sleep(0.5 + self.rng.random() * 2)
            await asyncio.to_thread(self.callback.start)
            self.faults.record("callback", "callback", began)

    async def _supervise(self) -> None:
        while not self.stop.is_set():
            await asyncio.to_thread(self.faults.supervise)
            await asyncio.sleep(0.5)

    async def _hand_out_tickets(self, queues: list[asyncio.Queue[int]]) -> None:
        """Tickets to follow live, in the order the feed first showed them, round robin over the sockets."""
        wanted = len(queues) * self.options.tickets_per_socket
        handed = 0
        while not self.stop.is_set() and handed < wanted:
            for ticket in self.feed.tickets[handed:wanted]:
                queues[handed % len(queues)].put_nowait(ticket)
                handed += 1
            await asyncio.sleep(0.5)

    def _converged(self) -> bool:
        """Every delivered message filed, every event done, every reply sent and recorded by the callback."""
        try:
            filed, not_done, sent = self.database.query(
                "SELECT (SELECT count(*) FROM tickets_message WHERE direction = 'inbound'),"
                " (SELECT count(*) FROM channels_in_inboundevent WHERE state <> 'done'),"
                " (SELECT count(*) FROM tickets_message WHERE direction = 'outbound' AND status = 'sent')"
            )[0]
        except Exception:
            return False
        replies = len(self.agents.sent)
        recorded = {entry["key"] for entry in self.callback.entries() if entry["new"]}
        delivered = len(self.customers.counters.delivered)
        return filed >= delivered and not_done == 0 and sent >= replies and len(recorded) >= replies

    async def run(self) -> dict[str, Any]:
        queues: list[asyncio.Queue[int]] = [asyncio.Queue() for _ in self.sockets]
        background = [
            asyncio.create_task(self.feed.follow(self.stop, 1.0)),
            asyncio.create_task(self._hand_out_tickets(queues)),
            asyncio.create_task(self._supervise()),
            *(
                asyncio.create_task(sock.run(self.stop, queue))
                for sock, queue in zip(self.sockets, queues, strict=True)
            ),
        ]
        per_customer = self.options.messages // self.options.customers
        replies = [
            asyncio.create_task(
                self.agents.reply(
                    number,
                    number % self.options.customers,
                    self.customers,
                    self.rng.randrange(per_customer),
                    self.done,
                )
            )
            for number in range(self.options.replies)
        ]
        faults = asyncio.create_task(self._inject_faults())
        print(
            f"driving {self.total} messages x3 from {self.options.customers} customers, "
            f"{self.options.replies} replies ...",
            flush=True,
        )
        await self.customers.run(self.conversations)
        self.done.set()
        await asyncio.gather(*replies)
        await faults
        self.times["load_done"] = time.time()
        await self._converge()
        last_seq = await self._settle()
        await asyncio.gather(*background, return_exceptions=True)
        result = self._report(last_seq)
        await self._read_again(result, last_seq)
        self.database.close()
        return result

    async def _converge(self) -> None:
        deadline = time.time() + self.options.time_limit
        while not await asyncio.to_thread(self._converged) and time.time() < deadline:
            await asyncio.sleep(0.25)
        self.times["converged_at"] = time.time()
        self.times["converged"] = float(self.times["converged_at"] < deadline)

    async def _settle(self) -> dict[int, int]:
        """The live followers get a moment to see the last events; then one last feed read."""
        last_seq = dict(self.database.query("SELECT id, seq FROM tickets_ticket"))
        settle = time.monotonic() + 15
        while time.monotonic() < settle and any(
            sock.last(ticket) < last_seq.get(ticket, 0) for sock in self.sockets for ticket in sock.tickets
        ):
            await asyncio.sleep(0.25)
        self.stop.set()
        while not await self.feed.read_once():
            await asyncio.sleep(0.5)
        return last_seq

    async def _read_again(self, result: dict[str, Any], last_seq: dict[int, int]) -> None:
        """From scratch, after the run: the whole feed once, and every ticket over fresh websockets."""
        full = FeedFollower(HttpPool(self.stack.web_port, 1), self.channel["token"], self.started_at)
        while not await full.read_once():
            await asyncio.sleep(0.5)
        events = set(self.database.query("SELECT ticket_id, seq FROM tickets_ticketevent"))
        result["feed"].update(
            full_read_missing=len(events - set(full.seen)),
            full_read_doubled=full.doubled_in_read + sum(count - 1 for count in full.seen.values()),
            full_read_unknown=len(set(full.seen) - events),
        )
        sessions = self.channel["sessions"][self.options.sockets :]
        caught = await catch_up_all(self.ws_url, self.stack.asgi_url, sessions, sorted(last_seq))
        totals = [sequence_faults(caught.get(ticket, []), seq) for ticket, seq in last_seq.items()]
        result["catch_up"] = {
            "tickets": len(caught),
            "missing": sum(each[0] for each in totals),
            "doubled": sum(each[1] for each in totals),
            "out_of_order": sum(each[2] for each in totals),
        }

    def _report(self, last_seq: dict[int, int]) -> dict[str, Any]:
        options, counters = self.options, self.customers.counters
        result: dict[str, Any] = {
            "seed": options.seed,
            "options": {k: str(v) for k, v in vars(options).items()},
        }
        result["inbound"] = {
            "messages": options.messages,
            "customers": options.customers,
            "posts_answered_2xx": counters.deliveries,
            "accepted": counters.accepted,
            "duplicates_absorbed": counters.duplicates,
            "retries": counters.retries,
            "transport_errors": counters.transport_errors,
            "gave_up": counters.gave_up,
            "http_statuses": counters.statuses,
            "delivered": len(counters.delivered),
        }
        result["outcome"] = outcome(self.database, delivered=counters.delivered)
        events = set(self.database.query("SELECT ticket_id, seq FROM tickets_ticketevent"))
        result["feed"] = {
            "events": len(events),
            "reads_during_run": self.feed.reads,
            "missed_by_follower": len(events - set(self.feed.seen)),
            "doubled_within_a_read": self.feed.doubled_in_read,
            "grace_rereads_absorbed": sum(count - 1 for count in self.feed.seen.values()),
        }
        live = [
            sequence_faults(sock.received[ticket], last_seq.get(ticket, 0))
            for sock in self.sockets
            for ticket in sock.tickets
        ]
        result["sockets"] = {
            "tickets_followed": len(live),
            "missing": sum(each[0] for each in live),
            "doubled": sum(each[1] for each in live),
            "out_of_order": sum(each[2] for each in live),
            "reconnects": sum(sock.reconnects for sock in self.sockets),
            "rate_limited": sum(sock.rate_limited for sock in self.sockets),
        }
        result["replies"] = self.callback.outcome(self.agents.sent)
        result["replies"].update(
            gave_up=self.agents.counters.gave_up, api_retries=self.agents.counters.retries
        )
        result["faults"] = [{k: v for k, v in entry.items() if k != "recovered"} for entry in self.faults.log]
        result["exited_and_restarted"] = self.faults.restarted
        last_recovery = max(entry["recovered"] for entry in self.faults.log)
        result["seconds"] = {
            "load": round(self.times["load_done"] - self.faults.started, 1),
            "converge_after_last_fault": round(self.times["converged_at"] - last_recovery, 2),
            "converge_after_last_post": round(self.times["converged_at"] - self.times["load_done"], 2),
            "converged": bool(self.times["converged"]),
        }
        return result
