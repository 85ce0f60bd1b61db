"""The widget against real servers: ``manage.py serve`` (embedded mode: uvicorn, in-process worker and
channel layer) on the test database, and a separate customer site on another origin that embeds it.

The help desk runs as a subprocess so a test can kill it (SIGKILL, mid-conversation) and start it again on
the same port, exactly as an operator restarting it would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings

from tests.fixtures.http_peer import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
STARTUP_SECONDS = 60.0


class HelpDesk:
    """One ``manage.py serve`` process, restartable on the same port."""

    def __init__(self, log_dir: Path) -> None:
        from django.db import connection

        self.port = free_port()
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
            "SECRET_KEY": settings.SECRET_KEY,
            "DEBUG": "true",
            "LOG_LEVEL": "WARNING",
            "DB_CONN_MAX_AGE": "0",
            "PUBLIC_URL": f"http://127.0.0.1:{self.port}",
            "MEDIA_ROOT": str(log_dir / "media"),
            "REQUEUE_INTERVAL_SECONDS": "2",
            "STALE_WORK_SECONDS": "3",
            # Every visitor of these tests comes from 127.0.0.1, which a real site would never see.
            "WEBCHAT_SESSIONS_PER_ADDRESS": "100000",
            "WEBCHAT_FIRST_MESSAGES_PER_ADDRESS": "100000",
        }
        self.env.pop("REDIS_URL", None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HelpDesk:
        self.starts += 1
        log = self.log_dir / f"serve-{self.starts}.log"
        command = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [*command, "--log-level", "warning"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"manage.py serve exited at start-up:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/static/widget/widget.js", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"manage.py serve did not answer within {STARTUP_SECONDS}s:\n{self.log_tail()}")
            time.sleep(0.2)

    def kill(self) -> None:
        """Die at once, as on a crash or power loss: no graceful shutdown, no goodbye to the sockets."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log_tail(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")[-3000:] for path in sorted(self.log_dir.glob("serve-*.log"))
        )


class CustomerSite:
    """A customer's website on its own origin; each page embeds the widget with the one script tag."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0])
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def page(self, path: str, *, script_src: str, key: str, extra: str = "") -> str:
        self.pages[path] = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Negozio</title>
<style>iframe {{ display: block; border: 9px solid red; width: 10px; }} button {{ color: red; }}</style>
</head><body>
<h1>Negozio di prova</h1>
<p id="host-status">loading</p>
<button id="host-button" type="button">Host button</button>
<script>
  window.hostEvents = [];
  document.getElementById("host-button").addEventListener("click", function () {{
    document.getElementById("host-status").textContent = "host page works";
  }});
</script>
{extra}
<script async src="{script_src}" data-channel="{key}"></script>
</body></html>"""
        return self.origin + path

    def start(self) -> CustomerSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def helpdesk(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HelpDesk]:
    server = HelpDesk(tmp_path_factory.mktemp("helpdesk")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def customer_site() -> Iterator[CustomerSite]:
    site = CustomerSite().start()
    yield site
    site.stop()


@pytest.fixture
def running(helpdesk: HelpDesk) -> Iterator[HelpDesk]:
    """The help desk, started again if an earlier test left it down."""
    if helpdesk.process is None or helpdesk.process.poll() is not None:
        helpdesk.start()
    yield helpdesk


# Browser contexts a test opened; closed before the database is emptied.
OPEN_CONTEXTS: list[Any] = []


@pytest.fixture(autouse=True)
def _settled(request: pytest.FixtureRequest) -> Iterator[None]:
    """Close the test's browsers and let the server finish with their sockets before the tables are
    emptied: an agent socket closing writes presence, and truncating under that write deadlocks.
    """
    yield
    while OPEN_CONTEXTS:
        OPEN_CONTEXTS.pop().close()
    if "running" not in request.fixturenames:
        return
    from tickets.models import AgentProfile

    wait_for(
        lambda: not AgentProfile.objects.exclude(presence=AgentProfile.Presence.OFFLINE).exists(),
        what="agents offline after their sockets closed",
    )


def wait_for(check: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)
