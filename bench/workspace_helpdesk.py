"""django-helpdesk's ticket list on a dataset the size of ``bench/workspace.py``'s, measured the same way.

Runs in a virtualenv that has django-helpdesk (and psycopg2), not Sportello's; ``bench/workspace.py
--helpdesk-python /tmp/dh-venv/bin/python`` starts it and reads the last line it prints (JSON).

    python3 -m venv /tmp/dh-venv && /tmp/dh-venv/bin/pip install django-helpdesk psycopg2-binary

Its ticket list is two requests: the page (filters, saved searches) and the table's rows as JSON from
``datatables_ticket_list``, 50 rows here like Sportello's page. Both are measured with Django's test
client: warm-up, one request counted for queries, then N timed. The database
``sportello_bench_helpdesk`` is seeded once in bulk SQL and reused while its size matches.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on the path, and its email.py would hide the standard one.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import psycopg2  # noqa: E402

DATABASE = "sportello_bench_helpdesk"
HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
USER = os.environ.get("BENCH_PG_USER", "postgres")

urlpatterns: list[Any] = []


def configure() -> None:
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only-secret-key-not-for-production-0123456789",
        ALLOWED_HOSTS=["testserver"],
        USE_TZ=True,
        SITE_ID=1,
        ROOT_URLCONF=__name__,
        STATIC_URL="/static/",
        LOGIN_URL="/login/",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        HELPDESK_TEAMS_MODE_ENABLED=False,
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": DATABASE,
                "HOST": HOST,
                "PORT": PORT,
                "USER": USER,
                "CONN_MAX_AGE": 600,
            }
        },
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "django.contrib.sites",
            "django.contrib.humanize",
            "rest_framework",
            "helpdesk",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
    )
    import django

    django.setup()
    from django.urls import include, path

    urlpatterns.append(path("helpdesk/", include("helpdesk.urls")))


def admin_connection() -> Any:
    connection = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname="postgres")
    connection.autocommit = True
    return connection


def seeded_size() -> dict[str, int] | None:
    admin = admin_connection()
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            exists = cursor.fetchone() is not None
    finally:
        admin.close()
    if not exists:
        return None
    connection = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname=DATABASE)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('bench_seed')")
            if cursor.fetchone()[0] is None:
                return None
            cursor.execute("SELECT size FROM bench_seed")
            row = cursor.fetchone()
            return dict(row[0]) if row else None
    finally:
        connection.close()


def recreate() -> None:
    admin = admin_connection()
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        admin.close()


def seed(tickets: int, messages: int) -> None:
    """Two queues, six staff, tickets ~30 % open, ten follow-ups per ticket: Sportello's shapes."""
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from helpdesk.models import Queue

    queues = [Queue.objects.create(title=title, slug=title.lower()) for title in ("Assistenza", "Billing")]
    staff = [
        User.objects.create_user(username=f"staff{n}", is_staff=True, email=f"staff{n}@example.com")
        for n in range(1, 7)
    ]
    staff_ids = "ARRAY[" + ",".join(str(user.pk) for user in staff) + "]"
    first_open = tickets - int(tickets * 0.3) + 1
    created = f"(now() - (({tickets} - i) * interval '6 minutes'))"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO helpdesk_ticket (id, title, queue_id, created, modified, submitter_email,
                assigned_to_id, status, on_hold, description, resolution, priority, secret_key)
            SELECT i, 'Ticket ' || i, CASE WHEN i % 2 = 0 THEN {queues[0].pk} ELSE {queues[1].pk} END,
                   {created}, {created} + interval '9 hours', 'customer' || (i % 30000) || '@example.com',
                   CASE WHEN i >= {first_open} AND (i * 13) % 10 < 4 THEN NULL
                        ELSE ({staff_ids})[1 + (i % 2) * 3 + (i / 2) % 3] END,
                   CASE WHEN i >= {first_open} THEN 1 + i % 2 ELSE 3 + i % 2 END, false,
                   'Il mio ordine non è ancora arrivato.', '', 1 + (i * 37 % 101) % 5, md5(i::text)
            FROM generate_series(1, {tickets}) AS i
            """
        )
        cursor.execute(
            f"""
            INSERT INTO helpdesk_followup (ticket_id, date, title, comment, public, user_id)
            SELECT ((j - 1) % {tickets}) + 1,
                   now() - (({tickets} - ((j - 1) % {tickets})) * interval '6 minutes')
                       + ((j - 1) / {tickets}) * interval '1 hour',
                   'Comment', 'Buongiorno, il mio ordine non è ancora arrivato. Ordine ' || j, true,
                   CASE WHEN ((j - 1) / {tickets}) % 2 = 1 THEN ({staff_ids})[1 + j % 6] END
            FROM generate_series(1::bigint, {messages}) AS j
            """
        )
        cursor.execute("SELECT setval(pg_get_serial_sequence('helpdesk_ticket', 'id'), %s)", (tickets,))
        cursor.execute("CREATE TABLE bench_seed (size jsonb NOT NULL)")
        cursor.execute(
            "INSERT INTO bench_seed VALUES (%s)", (json.dumps({"tickets": tickets, "messages": messages}),)
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def measure(get: Any, requests: int, budget: float = 60) -> dict[str, Any]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        assert get().status_code == 200
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        assert get().status_code == 200
    queries = len(captured)
    samples = []
    deadline = time.monotonic() + budget
    for _ in range(requests):
        started = time.perf_counter()
        assert get().status_code == 200
        samples.append((time.perf_counter() - started) * 1000)
        if time.monotonic() > deadline:
            break
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(percentile(samples, 0.95), 1),
        "max_ms": round(max(samples), 1),
        "requests": len(samples),
        "queries": queries,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    wanted = {"tickets": args.tickets, "messages": args.messages}
    fresh = seeded_size() != wanted
    if fresh:
        recreate()
    configure()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from helpdesk.query import query_to_base64

    if fresh:
        call_command("migrate", verbosity=0, interactive=False)
        started = time.monotonic()
        seed(args.tickets, args.messages)
        print(f"seeded in {time.monotonic() - started:.0f} s", file=sys.stderr)
    setup_test_environment()
    client = Client()
    client.force_login(User.objects.get(username="staff1"))
    # The list's default: open and reopened tickets, oldest first; the table asks for 50 rows.
    query = query_to_base64(
        {"filtering": {"status__in": [1, 2]}, "sorting": "created", "search_string": "", "sortreverse": False}
    )
    rows_url = f"/helpdesk/datatables_ticket_list/{query}"
    rows_params = {"draw": "1", "start": "0", "length": "50"}
    pages = {
        "ticket list page": measure(lambda: client.get("/helpdesk/tickets/"), args.requests),
        "ticket list rows (50)": measure(lambda: client.get(rows_url, rows_params), args.requests),
    }
    from importlib.metadata import version

    print(json.dumps({"version": version("django-helpdesk"), "pages": pages}))


if __name__ == "__main__":
    main()
