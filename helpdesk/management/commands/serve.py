"""``manage.py serve``: HTTP and websockets through uvicorn; in embedded mode, tasks and timers too."""

from __future__ import annotations

import socket
import sys
from typing import Any

import uvicorn
from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from helpdesk import embedded


class Command(BaseCommand):
    help = (
        "Serve Sportello (HTTP and websockets) with uvicorn. In embedded mode (no REDIS_URL) the "
        "Celery worker and beat run inside this process, and static files are served too."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="port to listen on; 0 picks a free one")
        parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info"])

    def handle(self, *args: Any, host: str, port: int, log_level: str, **options: Any) -> None:
        # Like runserver: say so if the schema is behind, instead of failing on the first request.
        self.check_migrations()
        listener = _listen(host, port)
        from helpdesk.asgi import application

        app: Any = application
        if settings.EMBEDDED or settings.DEBUG:
            app = ASGIStaticFilesHandler(application)
        running = embedded.start() if settings.EMBEDDED else None
        try:
            self._banner(listener)
            # The socket is ours, so --port 0 works and the banner shows the real port; lifespan is off
            # because the ASGI router has no lifespan handler and nothing needs one.
            config = uvicorn.Config(app, lifespan="off", log_level=log_level, proxy_headers=False)
            uvicorn.Server(config).run(sockets=[listener])
        except KeyboardInterrupt:
            pass  # Ctrl-C: uvicorn has already shut down cleanly and said so
        finally:
            if running is not None:
                embedded.stop(running)
            listener.close()

    def _banner(self, listener: socket.socket) -> None:
        from channels_in import demo as channel_demo
        from channels_in.api import demo as api_demo
        from tickets import demo

        address, port = listener.getsockname()[:2]
        host = f"[{address}]" if ":" in address else address
        base = f"http://{host}:{port}"
        mode = (
            f"embedded mode: {connection.vendor}, in-process tasks and timers"
            if settings.EMBEDDED
            else "scaled mode: tasks go to the Celery workers"
        )
        lines = [
            f"Sportello is running at {base}/ ({mode})",
            f"  Agent workspace  {base}/",
            f"  Administration   {base}/admin/",
            f"  API docs         {base}/api/docs/",
        ]
        lines += [f"  {label:<16} {base}{path}" for label, path in channel_demo.demo_links()]
        try:
            context = channel_demo.demo_context()
        except DatabaseError:
            context = None  # no tables yet: check_migrations has already said what to run
        if context is not None:
            agents = ", ".join(sorted(context.agents))
            lines += [
                f"Demo sign-in: {context.supervisor.username} (supervisor, also /admin/) or {agents}"
                f" (agents), password {demo.DEMO_PASSWORD}",
                f"Demo REST API token: {demo.SUPERVISOR_API_TOKEN}",
                f"Demo API channel: POST {base}/api/v1/inbound/{api_demo.API_CHANNEL_KEY}/messages"
                f" with 'Authorization: Bearer {api_demo.API_CHANNEL_TOKEN}'",
            ]
        self.stdout.write("\n".join(lines))
        sys.stdout.flush()


def _listen(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
    except OSError as error:
        raise CommandError(f"cannot listen on {host}:{port}: {error.strerror or error}") from error
    listener.listen(2048)
    listener.set_inheritable(True)
    return listener
