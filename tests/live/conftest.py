"""Real ASGI servers for live tests: uvicorn running ``helpdesk.asgi:application`` on the test database.

``embedded``: one process with the in-memory channel layer, so every change is made through HTTP
requests to that process. ``scaled``: two processes sharing Redis (channels_redis), so an event published
by one reaches sockets held by the other.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent.parent
STARTUP_SECONDS = 30.0
Match = Callable[[dict[str, Any]], bool]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveStack:
    mode: str
    ports: list[int]
    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]
    env: dict[str, str] = field(default_factory=dict)

    def http(self, index: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[index % len(self.ports)]}"

    def ws(self, index: int = 0) -> str:
        return f"ws://127.0.0.1:{self.ports[index % len(self.ports)]}/ws/agent/"

    def log_tail(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-3000:] for path in self.logs if path.exists())

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def start_stack(mode: str, *, redis_url: str | None, log_dir: Path, lease_seconds: int = 45) -> LiveStack:
    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
        "LOG_LEVEL": os.environ.get("LIVE_TEST_LOG_LEVEL", "WARNING"),
        "LIVE_LEASE_SECONDS": str(lease_seconds),
        "DB_CONN_MAX_AGE": "0",
    }
    env.pop("REDIS_URL", None)
    count = 1
    if mode == "scaled":
        assert redis_url is not None
        env["REDIS_URL"] = redis_url
        # Pub/sub channels are shared by every database of a Redis server: keep this run's to itself.
        env["CHANNEL_LAYER_PREFIX"] = f"test-live-{uuid.uuid4().hex[:10]}"
        count = 2
    ports, processes, logs = [], [], []
    for index in range(count):
        port = _free_port()
        log = log_dir / f"uvicorn-{mode}-{index}.log"
        command = [
            sys.executable, "-m", "uvicorn", "helpdesk.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off", "--log-level", "warning",
            "--ws", os.environ.get("LIVE_TEST_WS", "auto"),
        ]  # fmt: skip
        with log.open("wb") as out:
            processes.append(
                subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
            )
        ports.append(port)
        logs.append(log)
    stack = LiveStack(mode=mode, ports=ports, processes=processes, logs=logs, env=env)
    deadline = time.monotonic() + STARTUP_SECONDS
    for index in range(count):
        while True:
            if processes[index].poll() is not None:
                stack.stop()
                pytest.fail(f"uvicorn exited at start-up:\n{stack.log_tail()}")
            try:
                httpx.get(stack.http(index) + "/api/v1/live/feed", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    stack.stop()
                    pytest.fail(f"uvicorn did not answer within {STARTUP_SECONDS}s:\n{stack.log_tail()}")
                time.sleep(0.2)
    return stack


@pytest.fixture(scope="module", params=["embedded", "scaled"])
def live_stack(
    request: pytest.FixtureRequest, django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveStack]:
    redis_url = request.getfixturevalue("redis_url") if request.param == "scaled" else None
    stack = start_stack(request.param, redis_url=redis_url, log_dir=tmp_path_factory.mktemp("live"))
    yield stack
    stack.stop()


# --- clients ---------------------------------------------------------------------------------------------


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


class Socket:
    """A real websocket client with a small frame inbox for assertions."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.frames: list[dict[str, Any]] = []
        # Every frame ever received, in order, for "exactly once" assertions.
        self.seen: list[dict[str, Any]] = []

    async def _recv(self, timeout: float) -> dict[str, Any]:
        frame = json.loads(await asyncio.wait_for(self.connection.recv(), timeout))
        self.seen.append(frame)
        return frame

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.connection.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def until(self, predicate: Match, timeout: float = 10.0) -> dict[str, Any]:
        """The first frame (already received or arriving within ``timeout``) matching ``predicate``."""
        for frame in self.frames:
            if predicate(frame):
                self.frames.remove(frame)
                return frame
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no matching frame within {timeout}s; got {self.frames}")
            try:
                frame = await self._recv(remaining)
            except TimeoutError:
                continue
            if predicate(frame):
                return frame
            self.frames.append(frame)

    async def drain(self, seconds: float) -> list[dict[str, Any]]:
        """Everything that arrives within ``seconds`` (plus what was already waiting)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                self.frames.append(await self._recv(remaining))
            except TimeoutError:
                break
        frames, self.frames = self.frames, []
        return frames

    async def close(self) -> None:
        await self.connection.close()


async def open_socket(
    stack: LiveStack, cookie: str | None, *, index: int = 0, origin: str | None = None, hello: bool = True
) -> Socket:
    """Connect as the holder of ``cookie`` (from ``session_cookie``, made before the event loop runs)."""
    headers = {"Cookie": cookie} if cookie else {}
    connection = await connect(
        stack.ws(index),
        additional_headers=headers,
        origin=origin or stack.http(index),  # type: ignore[arg-type]
        open_timeout=10,
        max_size=2**20,
    )
    sock = Socket(connection)
    if hello:
        await sock.until(lambda frame: frame["type"] == "hello")
    return sock


def run(coroutine: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 60))  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _servers_settled(request: pytest.FixtureRequest) -> Iterator[None]:
    """Let the servers finish handling closed sockets before the test database is emptied.

    A disconnect writes presence; truncating tables under it would deadlock with that write.
    """
    yield
    if "live_stack" not in request.fixturenames:
        return
    from tickets.models import AgentProfile

    deadline = time.monotonic() + 15
    while AgentProfile.objects.exclude(presence=AgentProfile.Presence.OFFLINE).exists():
        if time.monotonic() > deadline:
            pytest.fail("agents still online 15 s after every socket closed")
        time.sleep(0.1)
