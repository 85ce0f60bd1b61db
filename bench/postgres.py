"""The PostgreSQL side of a benchmark: scratch databases, server settings, pgbench's reference figure."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

import psycopg2

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
_SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class BenchError(RuntimeError):
    pass


def database_url(name: str, *, host: str = PG_HOST, port: int = PG_PORT) -> str:
    return f"postgres://{PG_USER}@{host}:{port}/{name}"


def admin_connection(*, host: str = PG_HOST, port: int = PG_PORT) -> Any:
    connection = psycopg2.connect(host=host, port=port, user=PG_USER, dbname="postgres")
    connection.autocommit = True
    return connection


def database_recreate(name: str, *, host: str = PG_HOST, port: int = PG_PORT) -> None:
    """Drop and create a scratch database; the name must be one of the benchmark's own."""
    _scratch_run(
        name, host, port, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )


def database_drop(name: str, *, host: str = PG_HOST, port: int = PG_PORT) -> None:
    _scratch_run(name, host, port, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _scratch_run(name: str, host: str, port: int, *statements: str) -> None:
    """Run ``statements`` about the scratch database ``name``, refusing any other database."""
    if not _SAFE_NAME.match(name) or not name.startswith(("sportello_bench_", "pgbench_bench")):
        raise BenchError(f"refusing to touch database {name!r}: not a benchmark database")
    connection = admin_connection(host=host, port=port)
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


def server_settings() -> dict[str, str]:
    """The PostgreSQL settings that shape commit-heavy figures, reported next to them."""
    connection = admin_connection()
    try:
        with connection.cursor() as cursor:
            names = ("server_version", "synchronous_commit", "fsync", "shared_buffers", "max_connections")
            result = {}
            for name in names:
                cursor.execute(f"SHOW {name}")
                result[name] = str(cursor.fetchone()[0])
            return result
    finally:
        connection.close()


@dataclass(frozen=True)
class PgbenchResult:
    tps: float
    scale: int
    clients: int
    threads: int
    seconds: int
    transactions: int
    command: str


def pgbench_tpcb(*, scale: int = 10, clients: int = 8, threads: int = 2, seconds: int = 15) -> PgbenchResult:
    """TPC-B-like pgbench on a scratch database of the same server; dropped afterwards."""
    if shutil.which("pgbench") is None:
        raise BenchError("pgbench is not installed (apt-get install postgresql-client)")
    name = "pgbench_bench_scratch"
    base = ["pgbench", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER]
    database_recreate(name)
    try:
        subprocess.run(
            [*base, "-i", "-q", "-s", str(scale), name], check=True, capture_output=True, timeout=300
        )
        run = [*base, "-c", str(clients), "-j", str(threads), "-T", str(seconds), name]
        completed = subprocess.run(run, check=True, capture_output=True, text=True, timeout=seconds + 120)
    finally:
        database_drop(name)
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", completed.stdout)
    done = re.search(r"number of transactions actually processed: (\d+)", completed.stdout)
    if tps is None or done is None:
        raise BenchError(f"could not read pgbench output:\n{completed.stdout}\n{completed.stderr}")
    return PgbenchResult(
        tps=float(tps.group(1)),
        scale=scale,
        clients=clients,
        threads=threads,
        seconds=seconds,
        transactions=int(done.group(1)),
        command=f"pgbench -i -s {scale}; pgbench -c {clients} -j {threads} -T {seconds}",
    )
