"""Private servers for bench/chaos: a PostgreSQL cluster and a Redis server of the run's own.

The chaos benchmark stops and restarts its database and its broker; doing that to the machine's
shared servers would break everyone else's work. Each run therefore creates, in a temporary
directory, a PostgreSQL 15 cluster (``initdb``, ``pg_ctl``) and a Redis server, on free loopback
ports, and removes both afterwards. Run as root, PostgreSQL runs as the ``postgres`` user, which
owns the cluster's directory (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psycopg2
import redis

from bench.common import BenchError, free_port

PG_BIN = Path(os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = os.environ.get("BENCH_REDIS_SERVER", "redis-server")


def missing_binaries() -> list[str]:
    """What a chaos run needs and this machine lacks (empty when it can run)."""
    missing = [str(PG_BIN / name) for name in ("initdb", "pg_ctl") if not (PG_BIN / name).exists()]
    if shutil.which(REDIS_SERVER) is None:
        missing.append(REDIS_SERVER)
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing.append("runuser")
    return missing


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on 127.0.0.1:<free port>, trust authentication."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.root = root / "postgres"
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_root = os.geteuid() == 0
        self.started = False

    def _run(self, *command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        full = list(command)
        if self._as_root:
            full = ["runuser", "-u", "postgres", "--", *full]
        completed = subprocess.run(full, capture_output=True, text=True, timeout=timeout, check=False)
        if completed.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise BenchError(f"{' '.join(command)} failed:\n{completed.stdout}{completed.stderr}{tail}")
        return completed

    def create(self) -> None:
        self.root.mkdir(parents=True)
        if self._as_root:
            owner = pwd.getpwnam("postgres")
            os.chmod(self.root.parent, 0o755)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        self.start()

    def start(self) -> None:
        # Durability across a crash is not what is measured (the restarts are clean, fast shutdowns):
        # no fsync keeps a loaded machine's disk out of the figures.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB"
        )
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "120",
            "start",
        )
        self.started = True
        self.wait_ready()

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "120", "stop")
        self.started = False

    def restart(self) -> None:
        """A fast shutdown (every session is ended, open transactions roll back), then a start."""
        self.stop("fast")
        self.start()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres").close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def destroy(self) -> None:
        if self.started or (self.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A Redis server on 127.0.0.1:<free port> that keeps nothing on disk: a restart empties it."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.root = root / "redis"
        self.root.mkdir(parents=True)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.root / "server.log").open("ab")
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
                "--protected-mode",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        while True:
            try:
                client.ping()
                return
            except redis.RedisError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        self.process = None

    def restart(self) -> None:
        """Stopped and started again on the same port, empty: queued tasks and flags are gone."""
        self.stop()
        self.start()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
