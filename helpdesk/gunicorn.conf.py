"""Gunicorn settings for the scaled mode's HTTP processes (WSGI); websockets go to ASGI processes.

Plain HTTP (agent pages, REST API, inbound webhooks) is served over WSGI because a synchronous
Django view costs far less CPU there than through an ASGI server's sync-to-async bridge. Every value
can be overridden from the environment, so a deployment tunes it without editing this file.

    gunicorn -c helpdesk/gunicorn.conf.py helpdesk.wsgi:application
"""

from __future__ import annotations

import multiprocessing
import os


def _integer(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if not value:
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise SystemExit(f"{name}: expected a whole number, got {value!r}") from exc
    if number < 1:
        raise SystemExit(f"{name}: must be at least 1, got {number}")
    return number


bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
# One process per core keeps the CPU busy without making processes fight for it; threads cover the
# moments a request waits on PostgreSQL or Redis.
workers = _integer("WEB_WORKERS", multiprocessing.cpu_count())
threads = _integer("WEB_THREADS", 4)
worker_class = "gthread"
# Integrations post in bursts over a few kept-alive connections: holding them open saves a TCP
# handshake per message.
keepalive = _integer("WEB_KEEPALIVE_SECONDS", 5)
worker_connections = _integer("WEB_WORKER_CONNECTIONS", 1000)
backlog = _integer("WEB_BACKLOG", 2048)
timeout = _integer("WEB_TIMEOUT_SECONDS", 30)
graceful_timeout = _integer("WEB_GRACEFUL_TIMEOUT_SECONDS", 20)
# Recycling bounds the damage of a slow leak; jitter keeps workers from restarting together.
max_requests = _integer("WEB_MAX_REQUESTS", 100_000)
max_requests_jitter = _integer("WEB_MAX_REQUESTS_JITTER", 10_000)
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "warning")
proxy_allow_ips = os.environ.get("WEB_PROXY_ALLOW_IPS", "127.0.0.1")
forwarded_allow_ips = os.environ.get("WEB_FORWARDED_ALLOW_IPS", "127.0.0.1")
