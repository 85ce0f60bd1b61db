"""The API answers as its OpenAPI schema says: schemathesis against the real server, in CI.

The scaled mode's HTTP process (``python -m helpdesk.web``: granian, WSGI, the webhook handler) serves
the test database with ``DEBUG`` off, as in production. ``schemathesis run`` reads ``/api/schema/`` from
it, generates requests for every operation (the schema's edge cases, then a few fuzzed ones, always the
same ones) signed in as a supervisor and, for the API channel, with the channel's token, and checks
every answer: no server error, a documented status, content type, headers and body. What it runs is
in ``schemathesis.toml`` beside this file; docs/api.md says how to run it by hand.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.seed import Seeded, seed
from tests.fixtures.http_peer import free_port
from tests.fixtures.services import service_missing
from tests.fixtures.web_process import web_process
from tests.fixtures.worker import BASE_DIR, database_url

pytestmark = [pytest.mark.contract, pytest.mark.django_db(transaction=True)]

CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# Far above what the run takes; only a hang reaches it.
RUN_SECONDS = 600


@pytest.fixture
def seeded(settings, tmp_path: Path) -> Seeded:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return seed()


@pytest.fixture
def server(seeded: Seeded, clean_redis: str, settings, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from django.db import connection

    if connection.vendor != "postgresql":
        service_missing("PostgreSQL (the web process needs a database server it can share)")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(BASE_DIR),
        "DATABASE_URL": database_url(),
        "REDIS_URL": clean_redis,
        "SECRET_KEY": "contract-test-secret-key",
        "DEBUG": "false",
        "SPORTELLO_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "LOG_LEVEL": "WARNING",
        "WEB_WORKERS": "1",
        "WEB_THREADS": "2",
    }
    with web_process(env, port=free_port(), log_path=tmp_path / "web.log", ready_path="/api/schema/") as url:
        yield url


def test_every_answer_is_the_one_the_schema_documents(server: str, seeded: Seeded, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SPORTELLO_API_TOKEN": seeded.token,
        "SPORTELLO_CHANNEL_KEY": seeded.channel.key,
        "SPORTELLO_CHANNEL_TOKEN": seeded.channel.config["token"],
        "NO_COLOR": "1",
    }
    # Run from a scratch directory: nothing the tool writes lands in the repository.
    finished = subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", f"{server}/api/schema/?format=json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
    )

    assert finished.returncode == 0, finished.stdout[-20000:] + finished.stderr[-5000:]
