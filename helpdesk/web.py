"""The scaled mode's HTTP processes: granian serving ``helpdesk.wsgi`` (websockets go to ASGI processes).

    python -m helpdesk.web

Plain HTTP (agent pages, REST API, inbound webhooks) is served over WSGI because a synchronous Django
view costs far less CPU there than through an ASGI server's sync-to-async bridge. Granian parses HTTP
natively (Rust, hyper) where gunicorn's gthread workers do it in Python: an inbound webhook costs less
server CPU, so the same cores accept more messages (docs/performance.md has the measurements).

Every value comes from a ``WEB_*`` variable (docs/settings.md); a bad one stops the server before any
worker starts, naming the variable.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ImproperlyConfigured
from granian import Granian
from granian.constants import Interfaces
from granian.http import HTTP1Settings
from granian.log import LOGGING_CONFIG, LogLevels

if TYPE_CHECKING:
    from granian.server.common import AbstractServer

TARGET = "helpdesk.wsgi:application"
LOG_LEVELS = {"critical", "error", "warning", "info", "debug"}


@dataclass(frozen=True)
class Bind:
    host: str = "127.0.0.1"
    port: int = 8000
    socket_path: Path | None = None


def parse_bind(value: str) -> Bind:
    """``host:port``, ``[ipv6]:port`` or ``unix:/path``."""
    if value.startswith("unix:"):
        return Bind(socket_path=Path(value.removeprefix("unix:")))
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ImproperlyConfigured(f"WEB_BIND: expected host:port or unix:/path, got {value!r}")
    return Bind(host=host.removeprefix("[").removesuffix("]"), port=int(port))


def access_log_config(target: str) -> dict[str, Any] | None:
    """Granian writes its access log to stdout; a file path swaps that handler for a file."""
    if target in {"", "-"}:
        return None
    handlers = copy.deepcopy(cast("dict[str, Any]", LOGGING_CONFIG["handlers"]))
    handlers["access"] = {"class": "logging.FileHandler", "filename": target, "formatter": "access"}
    return {"handlers": handlers}


def build_server() -> AbstractServer[Any]:
    # The readers come with the settings package, so every setting is checked here, once, before any
    # worker starts.
    from helpdesk.settings import env

    bind = parse_bind(env.string("WEB_BIND", "127.0.0.1:8000"))
    lifetime = env.integer("WEB_WORKER_LIFETIME_SECONDS", 0, minimum=0)
    if 0 < lifetime < 60:
        raise ImproperlyConfigured(f"WEB_WORKER_LIFETIME_SECONDS: 0 (off) or at least 60, got {lifetime}")
    max_rss = env.integer("WEB_WORKER_MAX_RSS_MB", 0, minimum=0)
    access_log = env.string("WEB_ACCESS_LOG")
    return Granian(
        TARGET,
        address=bind.host,
        port=bind.port,
        uds=bind.socket_path,
        interface=Interfaces.WSGI,
        websockets=False,
        # One process per core keeps the CPU busy without making processes fight for it; the Python
        # threads cover the moments a request waits on PostgreSQL or Redis. One Rust thread per
        # process is enough for the HTTP I/O.
        workers=env.integer("WEB_WORKERS", os.cpu_count() or 1, minimum=1),
        blocking_threads=env.integer("WEB_THREADS", 4, minimum=1),
        runtime_threads=1,
        backlog=env.integer("WEB_BACKLOG", 2048, minimum=128),
        # Integrations post in bursts over a few kept-alive connections: holding them open saves a TCP
        # handshake per message.
        http1_settings=HTTP1Settings(keep_alive=env.boolean("WEB_KEEPALIVE", default=True)),
        log_level=LogLevels(env.choice("WEB_LOG_LEVEL", "warning", LOG_LEVELS)),
        log_access=bool(access_log),
        log_dictconfig=access_log_config(access_log),
        respawn_failed_workers=True,
        workers_kill_timeout=env.integer("WEB_GRACEFUL_TIMEOUT_SECONDS", 20, minimum=1),
        # Recycling bounds the damage of a slow leak; both are off unless set.
        workers_lifetime=lifetime or None,
        workers_max_rss=max_rss or None,
    )


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    try:
        server = build_server()
    except ImproperlyConfigured as exc:
        raise SystemExit(str(exc)) from exc
    server.serve()


if __name__ == "__main__":
    main()
