"""How fast the agent workspace renders at scale: inbox views, a ticket, search, the API's reads.

    make bench-workspace                         # 100,000 tickets, 1,000,000 messages; reuses a seeded db
    .venv/bin/python bench/workspace.py --before  # also measures without the indexes and full-text search
    .venv/bin/python bench/workspace.py --help

Seeds (once) the database ``sportello_bench_workspace`` in bulk SQL (``bench/workspace_seed.py``), then
renders each page in this process with Django's test client against the real views: a few warm-up
requests, one counted for its SQL queries, then N timed ones. Prints p50/p95 per page and writes JSON
to ``bench/results/``. With ``--helpdesk-python`` it also measures django-helpdesk's ticket list on a
dataset of the same size (``bench/workspace_helpdesk.py``, run in that interpreter's virtualenv).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

_HERE = Path(__file__).resolve().parent
# Run as a script, this folder comes first on the path, and its email.py would shadow the standard one.
sys.path[:] = [str(_HERE.parent)] + [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

from bench.common import (  # noqa: E402
    PYTHON,
    ROOT,
    BenchError,
    write_results,
)
from bench.postgres import admin_connection, database_recreate, database_url  # noqa: E402
from bench.workspace_seed import Directory, SeedSize, seed  # noqa: E402

DATABASE = "sportello_bench_workspace"
MARKER = "bench_workspace_seed"
# Before this migration there are no queue or full-text indexes: the "before" state.
BASE_MIGRATION = "0001_initial"


def log(text: str) -> None:
    print(text, flush=True)


# Production-like settings: DEBUG would log every query and render debug-aware templates.
SETTINGS_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
    "LOG_LEVEL": "WARNING",
}


def manage(*args: str, timeout: float = 1800) -> None:
    env = {**os.environ, **SETTINGS_ENV, "DATABASE_URL": database_url(DATABASE)}
    env.pop("REDIS_URL", None)
    completed = subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), *args, "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if completed.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{completed.stderr[-4000:]}")


def seeded_size() -> dict[str, Any] | None:
    """The size the database was seeded at, or None when it is missing or was never fully seeded."""
    admin = admin_connection()
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if cursor.fetchone() is None:
                return None
    finally:
        admin.close()
    import psycopg2

    connection = psycopg2.connect(database_url(DATABASE))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", (MARKER,))
            if cursor.fetchone()[0] is None:
                return None
            cursor.execute(f"SELECT size FROM {MARKER}")
            row = cursor.fetchone()
            return dict(row[0]) if row else None
    finally:
        connection.close()


def make_directory() -> Directory:
    """Two teams, three agents in each, a supervisor, three channels: through Django, they are few."""
    from channels_in.models import ChannelAccount
    from tickets.models import AgentProfile, Team

    teams = [Team.objects.create(name=name) for name in ("Assistenza", "Billing")]
    agent_ids = []
    for team in teams:
        for number in range(1, 4):
            user = _user(f"bench_{team.name.lower()}_{number}")
            AgentProfile.objects.create(user=user).teams.set([team])
            agent_ids.append(user.pk)
    supervisor = _user("bench_supervisor")
    AgentProfile.objects.create(user=supervisor, role=AgentProfile.Role.SUPERVISOR).teams.set(teams)
    channels = [
        ChannelAccount.objects.create(kind=kind, name=name, key=f"bench-{kind}", default_team=teams[0])
        for kind, name in (("email", "Mailbox"), ("webchat", "Web chat"), ("whatsapp", "WhatsApp"))
    ]
    return Directory(
        team_ids=(teams[0].pk, teams[1].pk),
        agent_ids=tuple(agent_ids),
        channel_ids=(channels[0].pk, channels[1].pk, channels[2].pk),
    )


def _user(username: str) -> Any:
    from django.contrib.auth.models import User

    first, _, last = username.partition("_")
    return User.objects.create_user(username=username, first_name=first.title(), last_name=last.title())


def vacuum_analyze() -> None:
    from django.db import connection

    # Index-only scans need the visibility map a VACUUM writes; the planner needs fresh statistics,
    # including those of the expression indexes.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def prepare(size: SeedSize, *, before: bool) -> bool:
    """A database seeded at ``size``; with ``before``, left without this release's indexes.

    True when the indexes are missing (a fresh seed, or ``before``).
    """
    wanted = {"tickets": size.tickets, "messages": size.messages, "contacts": size.contacts}
    wanted["open_tickets"] = size.open_tickets
    if seeded_size() == wanted:
        log(f"Reusing {DATABASE} ({size.tickets:,} tickets, {size.messages:,} messages).")
        manage("migrate", "tickets", BASE_MIGRATION) if before else manage("migrate")
        _django_setup()
        return before
    log(f"Seeding {DATABASE}: {size.tickets:,} tickets, {size.messages:,} messages…")
    database_recreate(DATABASE)
    manage("migrate")
    # Indexes are cheaper built once over the data than kept up row by row while it is inserted.
    manage("migrate", "tickets", BASE_MIGRATION)
    _django_setup()
    from django.db import connection, transaction

    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        seed(cursor, size, make_directory(), log)
        cursor.execute(f"CREATE TABLE {MARKER} (size jsonb NOT NULL)")
        cursor.execute(f"INSERT INTO {MARKER} (size) VALUES (%s)", (json.dumps(wanted),))
    vacuum_analyze()
    log(f"Seeded in {time.monotonic() - started:.0f} s.")
    return True


def _django_setup() -> None:
    os.environ.update(SETTINGS_ENV, DATABASE_URL=database_url(DATABASE))
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    import django

    django.setup()
    from django.template import Template
    from django.test.utils import setup_test_environment

    render = Template._render
    setup_test_environment()
    # The test environment wraps every template render to copy its context for assertions: a cost
    # per included partial that production does not pay. The test client works without it.
    Template._render = render  # type: ignore[method-assign]


def migrate_forward() -> None:
    from django.db import connections

    connections.close_all()
    started = time.monotonic()
    manage("migrate")
    vacuum_analyze()
    log(f"Indexes in place ({time.monotonic() - started:.0f} s).")


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def measure(get: Callable[[int], Any], *, requests: int, budget: float) -> dict[str, Any]:
    """Warm up, count one request's queries, then time ``requests`` of them (fewer past ``budget`` s)."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    for n in range(3):
        _ok(get(n))
    # The query log is cleared when a request starts; from an empty log the count is the request's.
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        _ok(get(3))
    # Read now: the capture is a view of the log, which the next request clears.
    queries = len(captured)
    samples: list[float] = []
    # This process's CPU time per request: the Python share, which load on a shared machine hardly moves
    # (the wall clock also counts waiting for PostgreSQL and for a turn on a busy CPU).
    cpu: list[float] = []
    deadline = time.monotonic() + budget
    for n in range(requests):
        started, started_cpu = time.perf_counter(), time.process_time()
        _ok(get(n))
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        if time.monotonic() > deadline:
            break
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(percentile(samples, 0.95), 1),
        "max_ms": round(max(samples), 1),
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "requests": len(samples),
        "queries": queries,
    }


def _ok(response: Any) -> None:
    if response.status_code != 200:
        raise BenchError(f"{response.request['PATH_INFO']} answered {response.status_code}")


def search_terms() -> dict[str, str]:
    """A rare word (an order number), a fragment of an email address, and a common word."""
    from tickets.models import ContactIdentity, Message

    messages = Message.objects.order_by("id").values_list("text", flat=True)
    order = messages[Message.objects.count() // 8].rsplit(" ", 1)[-1]
    emails = ContactIdentity.objects.filter(kind="email").order_by("id").values_list("value", flat=True)
    email = emails[ContactIdentity.objects.filter(kind="email").count() // 7]
    return {
        "order number": order.rstrip("."),
        "email fragment": email.split("@")[0] + "@",
        "common word": "rimborso",
    }


def uncached(client: Any, path: str) -> Any:
    from django.core.cache import cache

    cache.clear()
    return client.get(path)


def scenarios() -> Iterator[tuple[str, str, Callable[[int], Any]]]:
    """(name, what, request maker) for every page measured; ``n`` picks a ticket where it varies."""
    from django.contrib.auth.models import User
    from django.test import Client
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from tickets.models import Ticket

    agent = User.objects.get(username="bench_assistenza_1")
    supervisor = User.objects.get(username="bench_supervisor")
    team_id = agent.agent.teams.get().pk
    as_agent, as_supervisor = Client(), Client()
    as_agent.force_login(agent)
    as_supervisor.force_login(supervisor)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=agent)[0].key}")
    tickets = list(
        Ticket.objects.filter(team_id=team_id, status__in=Ticket.OPEN_STATUSES)
        .order_by("id")
        .values_list("pk", flat=True)[:60]
    )

    def ticket_of(n: int) -> int:
        return tickets[n % len(tickets)]

    yield "Mine", "inbox list", lambda n: as_agent.get("/inbox/mine/")
    yield "Unassigned", "inbox list", lambda n: as_agent.get("/inbox/unassigned/")
    # Every row rendered afresh: what a page costs when none of its tickets is in the row cache.
    yield "Unassigned, rows uncached", "inbox list", lambda n: uncached(as_agent, "/inbox/unassigned/")
    yield "Team queue", "inbox list", lambda n: as_agent.get(f"/inbox/team/{team_id}/")
    yield "All (supervisor)", "inbox list", lambda n: as_supervisor.get("/inbox/all/")
    yield "Solved", "inbox list", lambda n: as_agent.get("/inbox/solved/")
    yield "Ticket", "ticket page", lambda n: as_agent.get(f"/tickets/{ticket_of(n)}/")
    yield "API messages", "API", lambda n: api.get(f"/api/v1/tickets/{ticket_of(n)}/messages")
    terms = search_terms()
    for label, term in terms.items():
        yield f"Search: {label}", "search", lambda n, term=term: as_agent.get("/inbox/search/", {"q": term})
    yield "API q: order number", "API", lambda n: api.get("/api/v1/tickets", {"q": terms["order number"]})


def measure_all(*, requests: int, budget: float, pages: list[str]) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for name, kind, get in scenarios():
        if pages and not any(page.lower() in name.lower() for page in pages):
            continue
        results[name] = {"kind": kind, **measure(get, requests=requests, budget=budget)}
        row = results[name]
        log(f"  {name:<28} {_figures(row)}")
    return results


@contextmanager
def without_full_text() -> Iterator[None]:
    """The substring search this release replaces on PostgreSQL."""
    with mock.patch("tickets.search.full_text_available", return_value=False):
        yield


def helpdesk_compare(python: str, size: SeedSize, requests: int) -> dict[str, Any]:
    script = ROOT / "bench" / "workspace_helpdesk.py"
    command = [
        python,
        str(script),
        f"--tickets={size.tickets}",
        f"--messages={size.messages}",
        f"--requests={requests}",
    ]
    try:
        completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as error:
        return {"error": str(error)}
    if completed.returncode != 0:
        return {"error": completed.stderr[-2000:]}
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def _figures(row: dict[str, Any]) -> str:
    cpu = row.get("cpu_p50_ms")
    cpu_text = f"{cpu:>8.1f}" if cpu is not None else f"{'':>8}"
    return f"{row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} {cpu_text} {row['queries']:>8} {row['requests']:>4}"


def print_table(results: dict[str, Any]) -> None:
    log("")
    log(f"{'page':<28} {'state':<7} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms':>8} {'queries':>8} {'n':>4}")
    for state in ("before", "after"):
        for name, row in results.get(state, {}).items():
            log(f"{name:<28} {state:<7} {_figures(row)}")
    for name, row in (results.get("django_helpdesk") or {}).get("pages", {}).items():
        log(f"{'helpdesk: ' + name:<28} {'':<7} {_figures(row)}")


def main() -> None:
    global DATABASE
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    # Open tickets are capped at one per contact (a constraint): 30 % open needs 30,000 contacts.
    parser.add_argument("--contacts", type=int, default=30_000)
    parser.add_argument("--open-share", type=float, default=0.3)
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    parser.add_argument("--budget", type=float, default=60, help="seconds at most per page's timed requests")
    parser.add_argument("--before", action="store_true", help="measure without the indexes first")
    parser.add_argument("--helpdesk-python", default="", help="python of a virtualenv with django-helpdesk")
    parser.add_argument(
        "--page",
        action="append",
        default=[],
        help="measure only pages whose name contains this (repeatable): --page Mine --page Ticket",
    )
    parser.add_argument(
        "--database",
        default=DATABASE,
        help="benchmark database to seed or reuse (a name starting with sportello_bench_)",
    )
    args = parser.parse_args()
    DATABASE = args.database
    size = SeedSize(args.tickets, args.messages, args.contacts, args.open_share)

    missing_indexes = prepare(size, before=args.before)
    results: dict[str, Any] = {"size": size.__dict__ | {"open_tickets": size.open_tickets}}
    if args.before:
        log("Without the queue and full-text indexes (substring search):")
        with without_full_text():
            results["before"] = measure_all(requests=args.requests, budget=args.budget, pages=args.page)
    if missing_indexes:
        migrate_forward()
    log("With the indexes:")
    results["after"] = measure_all(requests=args.requests, budget=args.budget, pages=args.page)
    if args.helpdesk_python:
        log("django-helpdesk on a dataset of the same size…")
        results["django_helpdesk"] = helpdesk_compare(args.helpdesk_python, size, args.requests)
    print_table(results)
    log(f"\nWritten to {write_results('workspace', results)}")


if __name__ == "__main__":
    main()
