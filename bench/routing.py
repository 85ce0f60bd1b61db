"""Routing on the real scaled stack: tickets assigned per second, and how soon a freed slot is filled.

Starts the scaled stack (granian, a websocket process, Celery workers), makes 5 teams of 10 online agents
each (least loaded; skills and languages on every agent, required by part of the tickets), then:

1. **throughput**: files ``--tickets`` waiting tickets (a third needing a skill, a third a language), asks
   routing for them in batches as the inbound path does, and measures tickets assigned per second from
   the first request to the last assignment;
2. **slot freed → next assigned**: with every agent full and tickets waiting, solves one agent's ticket
   at a time over the REST API and times, on a supervisor's socket, the ``ticket.assigned`` that gives a
   waiting ticket to that agent: p50 / p99 / max over ``--frees`` slots.

    .venv/bin/python bench/routing.py                     # 2,000 tickets, 200 freed slots
    .venv/bin/python bench/routing.py --tickets 500 --frees 50       # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import httpx  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from bench.common import Stack, StackConfig, WorkerSpec, write_results  # noqa: E402

SETUP = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from rest_framework.authtoken.models import Token
from channels_in.models import ChannelAccount
from tickets.models import AgentProfile, Contact, Team, Ticket

SKILLS = ["fatturazione", "spedizioni", "tecnico"]
teams = [Team.objects.create(name=f"Team {n}", assignment_strategy="least_loaded")
         for n in range(TEAMS)]
agents = []
for n in range(TEAMS * PER_TEAM):
    user = User.objects.create(username=f"agent{n}", password="!")
    profile = AgentProfile.objects.create(
        user=user, presence="online", capacity=CAPACITY,
        skills=[SKILLS[n % 3], SKILLS[(n + 1) % 3]], languages=["it", "en"] if n % 2 else ["it"],
    )
    profile.teams.set([teams[n % TEAMS]])
    agents.append(user.pk)
supervisor = User.objects.create(username="supervisor", password="!")
AgentProfile.objects.create(user=supervisor, role="supervisor")
session = SessionStore()
session[SESSION_KEY] = str(supervisor.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = supervisor.get_session_auth_hash()
session.create()
token = Token.objects.create(user=supervisor)
account = ChannelAccount.objects.create(kind="api", name="Bench", key="bench-routing", default_team=teams[0],
                                        config={"token": "t", "secret": "s"})
print(json.dumps({"session": session.session_key, "token": token.key, "agents": agents,
                  "teams": [team.pk for team in teams], "channel": account.pk}))
"""

# Waiting tickets, spread over the teams; every third needs a skill, every other third a language.
TICKETS = """
import json
from tickets.models import Contact, Ticket
SKILLS = ["fatturazione", "spedizioni", "tecnico"]
teams, channel, start = TEAM_IDS, CHANNEL, START
contacts = Contact.objects.bulk_create([Contact(name=f"Bench {start + n}") for n in range(COUNT)])
tickets = Ticket.objects.bulk_create([
    Ticket(contact=contact, team_id=teams[n % len(teams)], origin_channel_id=channel, subject=f"Bench {n}",
           triaged_round=1, required_skills=[SKILLS[n % 3]] if n % 3 == 0 else [],
           language="en" if n % 3 == 1 else "")
    for n, contact in enumerate(contacts)
])
print(json.dumps([ticket.pk for ticket in tickets]))
"""

ROUTE = """
import json
from tickets.tasks import route_tickets
ids = IDS
for start in range(0, len(ids), 100):
    route_tickets.delay(ids[start:start + 100])
print(json.dumps(len(ids)))
"""


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def assigned_count(stack: Stack, ids: list[int]) -> int:
    rows = stack.sql(
        "SELECT count(*) FROM tickets_ticket WHERE id = ANY(%s) AND assignee_id IS NOT NULL", (ids,)
    )
    return int(rows[0][0])


def throughput(stack: Stack, data: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    code = TICKETS.replace("TEAM_IDS", repr(data["teams"])).replace("CHANNEL", str(data["channel"]))
    ids = stack.django(code.replace("START", "0").replace("COUNT", str(args.tickets)), timeout=600)
    started = time.perf_counter()
    stack.django(ROUTE.replace("IDS", repr(ids)), timeout=600)
    last, last_change, done = -1, time.perf_counter(), 0
    while time.perf_counter() - last_change < 3 and time.perf_counter() - started < args.time_limit:
        done = assigned_count(stack, ids)
        if done != last:
            last, last_change = done, time.perf_counter()
        if done == len(ids):
            break
        time.sleep(0.1)
    finished = last_change if done != len(ids) else time.perf_counter()
    over = stack.sql(
        "SELECT count(*) FROM (SELECT assignee_id, count(*) n FROM tickets_ticket WHERE status IN "
        "('new','open','pending','on_hold') AND assignee_id IS NOT NULL GROUP BY 1) l "
        "JOIN tickets_agentprofile p ON p.user_id = l.assignee_id WHERE l.n > p.capacity"
    )[0][0]
    return {
        "tickets": len(ids),
        "assigned": done,
        "seconds": round(finished - started, 2),
        "routed_per_s": round(done / max(finished - started, 1e-9), 1),
        "agents_over_capacity": int(over),
    }


async def slots_freed(
    stack: Stack, data: dict[str, Any], args: argparse.Namespace, *, spare: int
) -> dict[str, Any]:
    """Fill every agent, keep tickets waiting, then free one slot at a time and time its refill."""
    code = TICKETS.replace("TEAM_IDS", repr(data["teams"])).replace("CHANNEL", str(data["channel"]))
    count = spare + args.frees * 2
    extra = stack.django(code.replace("START", "1000000").replace("COUNT", str(count)), timeout=600)
    stack.django(ROUTE.replace("IDS", repr(extra)), timeout=600)
    # Until every slot is taken: the assignments stop changing.
    last, last_change = -1, time.perf_counter()
    while time.perf_counter() - last_change < 3:
        done = assigned_count(stack, extra)
        if done != last:
            last, last_change = done, time.perf_counter()
        time.sleep(0.2)
    url = stack.asgi_url.replace("http://", "ws://") + "/ws/agent/"
    lags: list[float] = []
    missed = 0
    headers = {"Authorization": f"Token {data['token']}"}
    async with (
        connect(
            url,
            additional_headers={"Cookie": f"sessionid={data['session']}"},
            origin=stack.asgi_url,
            max_queue=None,
        ) as socket,  # type: ignore[arg-type]
        httpx.AsyncClient(timeout=30) as client,
    ):
        assert json.loads(await socket.recv()).get("type") == "hello"
        for _ in range(args.frees):
            row = stack.sql(
                "SELECT id, assignee_id FROM tickets_ticket WHERE status = 'new' AND assignee_id IS NOT NULL "
                "ORDER BY random() LIMIT 1"
            )
            if not row:
                break
            ticket_id, agent_id = row[0]
            sent = time.perf_counter()
            response = await client.patch(
                f"{stack.web_url}/api/v1/tickets/{ticket_id}", json={"status": "solved"}, headers=headers
            )
            assert response.status_code == 200, response.text
            deadline = sent + 10
            while True:
                try:
                    raw = await asyncio.wait_for(socket.recv(), max(0.05, deadline - time.perf_counter()))
                except TimeoutError:
                    missed += 1
                    break
                if '"ticket.assigned"' not in raw:
                    continue
                frame = json.loads(raw)
                if frame["data"].get("to") == agent_id and frame["ticket_id"] != ticket_id:
                    lags.append(time.perf_counter() - sent)
                    break
    ms = [lag * 1000 for lag in lags]
    return {
        "frees": args.frees,
        "refilled": len(ms),
        "missed": missed,
        "p50_ms": round(percentile(ms, 0.5), 1),
        "p99_ms": round(percentile(ms, 0.99), 1),
        "max_ms": round(max(ms), 1) if ms else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--teams", type=int, default=5)
    parser.add_argument("--per-team", type=int, default=10)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--frees", type=int, default=200)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--database", default="sportello_bench_routing")
    parser.add_argument("--redis-db", type=int, default=7)
    args = parser.parse_args()
    # Room for every ticket of the first phase and a quarter more, so it measures routing, not tickets
    # waiting for the one agent with their skill; the second phase fills the rest before freeing slots.
    agents = args.teams * args.per_team
    capacity = -(-args.tickets * 5 // (4 * agents))
    spare = capacity * agents - args.tickets
    config = StackConfig(
        database=args.database,
        redis_db=args.redis_db,
        asgi_workers=1,
        asgi_args=("--lifespan=off", "--ws-per-message-deflate=false"),
        workers=[
            WorkerSpec("routing", ("routing",), concurrency=2),
            WorkerSpec("other", ("ingest", "default", "sla", "outbound"), concurrency=1),
        ],
    )
    stack = Stack(config)
    try:
        with stack:
            setup = (
                SETUP.replace("TEAMS", str(args.teams))
                .replace("PER_TEAM", str(args.per_team))
                .replace("CAPACITY", str(capacity))
            )
            data = stack.django(setup)
            first = throughput(stack, data, args)
            print(json.dumps(first), flush=True)
            second = asyncio.run(slots_freed(stack, data, args, spare=spare))
            print(json.dumps(second), flush=True)
    finally:
        stack.cleanup(drop_database=not args.keep_database)
    results = {
        "throughput": first,
        "slot_freed_to_assigned": second,
        "config": {
            "teams": args.teams,
            "agents": args.teams * args.per_team,
            "capacity": capacity,
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
        },
    }
    print(
        f"\n{args.teams * args.per_team} agents in {args.teams} teams (skills, languages): "
        f"{first['routed_per_s']} tickets routed/s ({first['assigned']}/{first['tickets']}, "
        f"{first['agents_over_capacity']} agents over capacity); slot freed -> next assigned "
        f"p50 {second['p50_ms']} ms, p99 {second['p99_ms']} ms, max {second['max_ms']} ms "
        f"({second['refilled']}/{second['frees']})"
    )
    print(f"results: {write_results('routing', results)}")


if __name__ == "__main__":
    main()
