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
import json
import math
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Run as a script, Python puts bench/ first on the path, where a module name like ``email`` would hide
# the standard library's: the project root takes its place.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

from bench.chaos_run import Callback, ChaosRun  # noqa: E402
from bench.chaos_servers import PrivatePostgres, PrivateRedis, missing_binaries  # noqa: E402
from bench.common import BenchError, Stack, StackConfig, WorkerSpec, write_results  # noqa: E402

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
        problems.append(
            f"open tickets for {result['outcome']['contacts_with_open_tickets']} contacts, "
            f"not {result['inbound']['customers']}"
        )
    if not result["seconds"]["converged"]:
        problems.append("did not converge within the time limit")
    return problems


def summary(result: dict[str, Any]) -> str:
    inbound, out, replies = result["inbound"], result["outcome"], result["replies"]
    rows = [
        ("seed", result["seed"]),
        (
            "messages sent",
            f"{inbound['delivered']} of {inbound['messages']}, from {inbound['customers']} customers, "
            f"{inbound['posts_answered_2xx']} POSTs answered 2xx",
        ),
        ("accepted (new events)", inbound["accepted"]),
        (
            "duplicates absorbed",
            f"{inbound['duplicates_absorbed']} at the door; sender retries "
            f"{inbound['retries']}, transport errors {inbound['transport_errors']}",
        ),
        ("HTTP statuses", inbound["http_statuses"]),
        ("filed", out["filed"]),
        ("lost / doubled", f"{out['lost']} / {out['doubled']}  (sender gave up: {inbound['gave_up']})"),
        (
            "order",
            f"timeline {out['timeline_out_of_order']} out of order; filing order "
            f"{out['filed_out_of_order']} out of order",
        ),
        (
            "tickets",
            f"open for {out['contacts_with_open_tickets']} contacts, several open: "
            f"{out['contacts_with_several_open_tickets']}; seq gaps {out['tickets_with_seq_gaps']}",
        ),
        ("inbound events", out["events_by_state"]),
        ("live feed", result["feed"]),
        ("websocket catch-up", result["catch_up"]),
        ("live sockets", result["sockets"]),
        ("replies", replies),
        ("seconds", result["seconds"]),
    ]
    lines = ["", "=== bench/chaos " + "=" * 61]
    lines += [f"{name:<22} {value}" for name, value in rows]
    lines.append("faults")
    lines += [
        f"  +{entry['at']:>7.1f} s  {entry['target']:<14} back after {entry['down_seconds']:.1f} s"
        for entry in result["faults"]
    ]
    for entry in result["exited_and_restarted"]:
        lines.append(
            f"  +{entry['at']:>7.1f} s  {entry['name']:<14} exited by itself ({entry['status']}), restarted"
        )
    problems = failures(result)
    lines.append("result                 " + ("0 lost, 0 doubled" if not problems else "; ".join(problems)))
    lines.append("=" * 77)
    return "\n".join(lines)


def run(options: argparse.Namespace) -> dict[str, Any]:
    missing = missing_binaries()
    if missing:
        raise BenchError(f"bench/chaos needs {', '.join(missing)}")
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
        began = time.monotonic()
        with stack:
            startup = round(time.monotonic() - began, 1)
            catch_up_sockets = min(40, max(1, math.ceil(options.customers / 25)))
            setup = _SETUP.replace("CALLBACK", f"http://127.0.0.1:{callback.port}/replies")
            channel = stack.django(setup.replace("SESSIONS", str(options.sockets + catch_up_sockets)))
            result = asyncio.run(ChaosRun(options, stack, (postgres, redis_server), callback, channel).run())
            result["seconds"]["startup"] = startup
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
        extra_env={
            "STALE_WORK_SECONDS": str(options.stale_seconds),
            "REQUEUE_INTERVAL_SECONDS": "2",
            # The integrator's callback is the bench's own server on loopback, which the guarded
            # outbound client refuses unless told otherwise.
            "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32",
            "OUTBOUND_ALLOWED_PORTS": "1024-65535",
        },
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
    if options.json_out is not None:
        options.json_out.write_text(json.dumps(result, indent=2, default=str))
    print(f"results: {write_results('chaos', result)}")
    print(summary(result))
    sys.exit(1 if failures(result) else 0)


if __name__ == "__main__":
    main()
