"""``python -m helpdesk.web`` for real: granian serving the WSGI app on the test database and Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from channels_in.api.tests.wire import inbound_url, payload
from channels_in.models import ChannelAccount, InboundEvent
from tests.fixtures.http_peer import free_port
from tests.fixtures.personas import make_api_channel
from tests.fixtures.services import service_missing
from tests.fixtures.web_process import web_process
from tests.fixtures.worker import BASE_DIR, database_url

pytestmark = pytest.mark.django_db(transaction=True)


def web_env(redis_url: str, work_dir: Path, **web: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(BASE_DIR),
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url(),
        "SECRET_KEY": "web-test-secret-key",
        "DEBUG": "true",
        "SPORTELLO_VAR_DIR": str(work_dir / "var"),
        "INBOUND_MAX_BYTES": "2048",
        "WEB_WORKERS": "1",
        "WEB_THREADS": "2",
        **web,
    }


@contextmanager
def serving(redis_url: str, tmp_path: Path, **web: str) -> Iterator[str]:
    from django.db import connection

    if connection.vendor != "postgresql":
        service_missing("PostgreSQL (the web process needs a database server it can share)")
    with web_process(
        web_env(redis_url, tmp_path, **web),
        port=free_port(),
        log_path=tmp_path / "web.log",
        ready_path="/admin/login/",
        seconds=20,
    ) as url:
        yield url


@pytest.fixture
def web_url(clean_redis: str, tmp_path: Path) -> Iterator[str]:
    with serving(clean_redis, tmp_path) as url:
        yield url


# Production-like: an https public address, TLS ended by a proxy that says so in X-Forwarded-Proto.
BEHIND_TLS_PROXY = {
    "PUBLIC_URL": "https://helpdesk.example.com",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "helpdesk.example.com,127.0.0.1",
    "TRUST_PROXY_PROTO": "true",
}


def post(url: str, account: ChannelAccount, body: dict[str, object]) -> httpx.Response:
    return httpx.post(
        url + inbound_url(account),
        content=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {account.config['token']}", "Content-Type": "application/json"},
        timeout=10,
    )


def test_serves_the_inbound_api_and_the_agent_pages(web_url: str) -> None:
    account = make_api_channel()

    accepted = post(web_url, account, payload("web-1"))
    too_large = post(web_url, account, payload("web-2", text="x" * 3000))
    login = httpx.get(f"{web_url}/admin/login/", timeout=10)

    assert accepted.status_code == 202, accepted.text
    event = InboundEvent.objects.get(pk=accepted.json()["event_id"])
    assert (event.channel_account, event.provider_event_id) == (account, "web-1")
    assert too_large.status_code == 413
    assert "limit is 2048" in too_large.json()["error"]
    assert InboundEvent.objects.count() == 1
    assert login.status_code == 200


@pytest.mark.parametrize("workers", ["abc", "0"])
def test_a_bad_setting_stops_it_naming_the_variable(workers: str, redis_url: str, tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "helpdesk.web"],
        cwd=BASE_DIR,
        env=web_env(redis_url, tmp_path, WEB_WORKERS=workers, WEB_BIND=f"127.0.0.1:{free_port()}"),
        capture_output=True,
        timeout=30,
    )

    assert finished.returncode != 0
    assert b"WEB_WORKERS" in finished.stderr


def test_behind_a_tls_proxy_webhooks_and_pages_are_served_and_plain_http_is_redirected(
    clean_redis: str, tmp_path: Path
) -> None:
    account = make_api_channel()
    proxied = {"X-Forwarded-Proto": "https"}

    with serving(clean_redis, tmp_path, **BEHIND_TLS_PROXY) as url:
        webhook = httpx.post(
            url + inbound_url(account),
            content=json.dumps(payload("tls-1")).encode(),
            headers={"Authorization": f"Bearer {account.config['token']}", **proxied},
            timeout=10,
        )
        page = httpx.get(f"{url}/admin/login/", headers=proxied, timeout=10)
        plain_webhook = post(url, account, payload("tls-2"))
        plain_page = httpx.get(f"{url}/admin/login/", timeout=10)

    assert webhook.status_code == 202, webhook.text
    assert page.status_code == 200
    for answer in (webhook, page):
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert plain_webhook.status_code == plain_page.status_code == 301
    assert plain_page.headers["Location"] == url.replace("http://", "https://") + "/admin/login/"
    assert list(InboundEvent.objects.values_list("provider_event_id", flat=True)) == ["tls-1"]


def test_the_compose_health_probe_passes_behind_a_tls_proxy(clean_redis: str, tmp_path: Path) -> None:
    """The probe talks plain http to the container, where an https site redirects everyone else."""
    import yaml

    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    kind, python, flag, code = compose["services"]["web"]["healthcheck"]["test"]
    assert (kind, python, flag) == ("CMD", "python", "-c")

    with serving(clean_redis, tmp_path, **BEHIND_TLS_PROXY) as url:
        probe = subprocess.run(
            [sys.executable, "-c", code.replace("http://127.0.0.1:8000", url)],
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert probe.returncode == 0, probe.stderr
