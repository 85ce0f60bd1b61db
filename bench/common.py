"""Start the real scaled stack for a benchmark, and the reference measurements around it.

``Stack`` creates a fresh PostgreSQL database, migrates it, and runs the processes of the scaled mode:
granian (WSGI, ``python -m helpdesk.web``) for HTTP, optionally uvicorn (ASGI) for websockets, and
Celery workers. Every process lives in its own process group and is stopped on exit, error or Ctrl-C.
Only 127.0.0.1 is used.

    with Stack(StackConfig(database="sportello_bench_run")) as stack:
        stack.post(...)  # drive load against stack.web_url
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import redis

from bench.postgres import PG_HOST, PG_PORT, BenchError, database_drop, database_recreate, database_url

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
BIN = Path(PYTHON).parent
RESULTS = ROOT / "bench" / "results"
REDIS_HOST_PORT = os.environ.get("BENCH_REDIS", "127.0.0.1:6379")
_REDIS_LOCK = "sportello-bench:stack"
# Longer than any run; a crashed run's lock expires by itself (or: redis-cli -n <db> del <key>).
_REDIS_LOCK_SECONDS = 3 * 3600


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@dataclass(frozen=True)
class WorkerSpec:
    """One Celery worker process: its queues, pool and concurrency."""

    name: str
    queues: tuple[str, ...]
    concurrency: int = 2
    pool: str = "prefork"
    prefetch_multiplier: int = 4


@dataclass
class StackConfig:
    # Each benchmark names its own database and Redis database: two stacks sharing either would drop,
    # flush or consume each other's work. A Redis lock makes a second stack on the same one fail fast.
    database: str = field(default_factory=lambda: f"sportello_bench_{os.getpid()}")
    redis_db: int = 4
    web_workers: int = 2
    web_threads: int = 4
    asgi_workers: int = 0
    # Extra uvicorn options for the websocket processes (e.g. ``--ws-per-message-deflate=false``).
    asgi_args: tuple[str, ...] = ()
    workers: list[WorkerSpec] = field(
        default_factory=lambda: [
            WorkerSpec("ingest", ("ingest",), concurrency=2),
            WorkerSpec("other", ("routing", "default", "sla", "outbound"), concurrency=1),
        ]
    )
    conn_max_age: int = 600
    extra_env: dict[str, str] = field(default_factory=dict)
    startup_timeout: float = 90.0
    # Celery beat, for benchmarks that count on the periodic jobs (the stale-work sweep).
    beat: bool = False
    # Another PostgreSQL server and Redis server than the machine's (e.g. private ones a benchmark
    # starts, stops and restarts itself); the defaults come from BENCH_PG_HOST/PORT and BENCH_REDIS.
    pg_host: str = PG_HOST
    pg_port: int = PG_PORT
    redis_server: str = REDIS_HOST_PORT


class Stack:
    """The scaled stack on loopback; use as a context manager so every process is stopped."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.web_port = free_port()
        self.asgi_port = free_port() if config.asgi_workers else 0
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        self.asgi_url = f"http://127.0.0.1:{self.asgi_port}" if self.asgi_port else ""
        self.redis_url = f"redis://{config.redis_server}/{config.redis_db}"
        self.database_url = database_url(config.database, host=config.pg_host, port=config.pg_port)
        self.var_dir = Path(tempfile.mkdtemp(prefix="sportello-bench-"))
        self.log_dir = self.var_dir / "logs"
        self.log_dir.mkdir()
        self._processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        # name -> (command, environment): what ``respawn`` starts again.
        self._commands: dict[str, tuple[list[str], dict[str, str]]] = {}
        self._redis_locked = False

    # --- environment ---------------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "CELERY_", "WEB_", "DB_"))
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
                "DEBUG": "false",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SPORTELLO_VAR_DIR": str(self.var_dir),
                "DB_CONN_MAX_AGE": str(self.config.conn_max_age),
                # Pub/sub channels are not per Redis database: a prefix of its own keeps this run's
                # live events away from anything else listening on the same server.
                "CHANNEL_LAYER_PREFIX": f"sportello-bench-{os.getpid()}",
                "LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.config.extra_env)
        return env

    # --- lifecycle -----------------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        # A benchmark stopped with SIGTERM (a timeout, kill) must still stop the stack it started.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._lock_redis()
        database_recreate(self.config.database, host=self.config.pg_host, port=self.config.pg_port)
        self.manage("migrate", "--noinput", timeout=300)
        self._spawn(
            "web",
            [PYTHON, "-m", "helpdesk.web"],
            {
                "WEB_BIND": f"127.0.0.1:{self.web_port}",
                "WEB_WORKERS": str(self.config.web_workers),
                "WEB_THREADS": str(self.config.web_threads),
            },
        )
        if self.config.asgi_workers:
            self._spawn(
                "uvicorn",
                [
                    str(BIN / "uvicorn"),
                    "helpdesk.asgi:application",
                    "--host=127.0.0.1",
                    f"--port={self.asgi_port}",
                    f"--workers={self.config.asgi_workers}",
                    "--log-level=warning",
                    "--no-access-log",
                    *self.config.asgi_args,
                ],
                {},
            )
        for spec in self.config.workers:
            self._spawn(
                f"celery-{spec.name}",
                [
                    PYTHON,
                    "-m",
                    "celery",
                    "-A",
                    "helpdesk",
                    "worker",
                    f"--hostname={spec.name}@bench",
                    f"--queues={','.join(spec.queues)}",
                    f"--pool={spec.pool}",
                    f"--concurrency={spec.concurrency}",
                    f"--prefetch-multiplier={spec.prefetch_multiplier}",
                    "--without-gossip",
                    "--without-mingle",
                    "--loglevel=WARNING",
                ],
                {},
            )
        if self.config.beat:
            schedule = str(self.var_dir / "celerybeat-schedule")
            command = [PYTHON, "-m", "celery", "-A", "helpdesk", "beat", f"--schedule={schedule}"]
            self._spawn("beat", [*command, "--loglevel=WARNING"], {})
        deadline = time.monotonic() + self.config.startup_timeout
        self._wait_http(self.web_url, deadline)
        if self.asgi_url:
            self._wait_http(self.asgi_url, deadline)
        self._wait_workers(deadline)

    def stop(self) -> None:
        for _, process in self._processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, process in self._processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        # Children a killed leader left behind (prefork pool processes) share its group.
        for _, process in self._processes:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        self._processes.clear()

    def cleanup(self, *, drop_database: bool = True) -> None:
        if drop_database:
            with contextlib.suppress(Exception):
                database_drop(self.config.database, host=self.config.pg_host, port=self.config.pg_port)
        if self._redis_locked:
            with contextlib.suppress(Exception):
                redis.Redis.from_url(self.redis_url).flushdb()
        shutil.rmtree(self.var_dir, ignore_errors=True)

    def _lock_redis(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        holder = f"pid {os.getpid()}, database {self.config.database}"
        if not client.set(_REDIS_LOCK, holder, nx=True, ex=_REDIS_LOCK_SECONDS):
            other = (client.get(_REDIS_LOCK) or b"?").decode()
            raise BenchError(f"Redis database {self.config.redis_db} is in use by another stack ({other})")
        client.flushdb()
        client.set(_REDIS_LOCK, holder, ex=_REDIS_LOCK_SECONDS)
        self._redis_locked = True

    # --- helpers -------------------------------------------------------------------------------------
    def manage(self, *args: str, timeout: float = 120) -> str:
        completed = subprocess.run(
            [PYTHON, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if completed.returncode != 0:
            raise BenchError(f"manage.py {' '.join(args)} failed:\n{completed.stderr[-4000:]}")
        return completed.stdout

    def django(self, code: str, timeout: float = 120) -> Any:
        """Run ``code`` in a Django shell of this stack; it must print one JSON document."""
        return json.loads(self.manage("shell", "--no-imports", "-c", code, timeout=timeout).strip())

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        connection = psycopg2.connect(self.database_url)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(query, params)
                return list(cursor.fetchall())
        finally:
            connection.close()

    def logs(self, name: str, tail: int = 3000) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def process_cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by each started process group, and by this database's backends.

        Backends are counted while connected: persistent connections keep them for the whole run.
        """
        ticks = os.sysconf("SC_CLK_TCK")
        result: dict[str, float] = {}
        for name, process in self._processes:
            total = sum(_cpu_seconds(pid, ticks) for pid in _group_pids(process.pid))
            result[name] = round(total, 2)
        result["postgres"] = round(sum(_cpu_seconds(pid, ticks) for pid in self._backend_pids()), 2)
        return result

    def _backend_pids(self) -> list[int]:
        rows = self.sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.config.database,),
        )
        return [int(row[0]) for row in rows]

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the process group ``name`` (children included) and wait for its leader."""
        for index, (each, process) in enumerate(self._processes):
            if each == name:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, sig)
                process.wait(timeout=30)
                # Children a killed leader left behind (prefork pool processes) share its group.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                del self._processes[index]
                return
        raise BenchError(f"no running process {name!r}")

    def respawn(self, name: str) -> None:
        """Start ``name`` again as it was first started, and wait until it answers."""
        command, env = self._commands[name]
        self._spawn(name, command, env)
        deadline = time.monotonic() + self.config.startup_timeout
        if name == "web":
            self._wait_http(self.web_url, deadline, only=name)
        elif name == "uvicorn":
            self._wait_http(self.asgi_url, deadline, only=name)

    def supervise(self) -> list[tuple[str, int]]:
        """Start again every process that exited, as a deployment's restart policy does.

        Returns the name and exit status of each one restarted.
        """
        exited = [(name, process) for name, process in self._processes if process.poll() is not None]
        for name, process in exited:
            self._processes.remove((name, process))
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            self.respawn(name)
        return [(name, int(process.returncode)) for name, process in exited]

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self._commands[name] = (command, env)
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**self.env(), **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._processes.append((name, process))

    def _check_alive(self, only: str | None = None) -> None:
        for name, process in self._processes:
            if only is not None and name != only:
                continue
            if process.poll() is not None:
                raise BenchError(f"{name} exited with {process.returncode}:\n{self.logs(name)}")

    def _wait_http(self, url: str, deadline: float, only: str | None = None) -> None:
        host, port = url.removeprefix("http://").split(":")
        while time.monotonic() < deadline:
            self._check_alive(only)
            address = (host, int(port))
            with contextlib.suppress(OSError), socket.create_connection(address, timeout=1) as probe:
                probe.sendall(b"GET /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if probe.recv(16).startswith(b"HTTP/1."):
                    return
            time.sleep(0.2)
        raise BenchError(f"{url} did not answer in time")

    def _wait_workers(self, deadline: float) -> None:
        from celery import Celery

        app = Celery(broker=self.redis_url)
        expected = {f"{spec.name}@bench" for spec in self.config.workers}
        try:
            while time.monotonic() < deadline:
                self._check_alive()
                replies = app.control.ping(timeout=1.0) or []
                answered = {name for reply in replies for name in reply}
                if expected <= answered:
                    return
            raise BenchError(f"Celery workers did not start in time: {sorted(expected)}")
        finally:
            app.close()


def _cpu_seconds(pid: int, ticks: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks
    except (OSError, IndexError, ValueError):
        return 0.0


def _group_pids(leader: int) -> Iterator[int]:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == leader:
                yield int(entry.name)


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path
