"""Strict settings: a bad value stops start-up with a message naming the variable.

Each case starts a fresh interpreter with only the given environment, as a server would start.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_SETUP = "import django; django.setup(); from django.conf import settings; print(settings.{name})"


def start(tmp_path: Path, print_setting: str = "DEBUG", **variables: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        "SPORTELLO_VAR_DIR": str(tmp_path / "var"),
        **variables,
    }
    return subprocess.run(
        [sys.executable, "-c", _SETUP.format(name=print_setting)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"DATABASE_URL": "garbage"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://sportello@db/sportello"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://127.0.0.1:6379/0"}, "REDIS_URL"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"EMAIL_PORT": "abc"}, "EMAIL_PORT"),
        ({"EMAIL_PORT": "0"}, "EMAIL_PORT"),
        ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE"),
        ({"LANGUAGE_CODE": "fr"}, "LANGUAGE_CODE"),
        ({"STALE_WORK_SECONDS": "soon"}, "STALE_WORK_SECONDS"),
        ({"EMBEDDED_WORKER_THREADS": "0"}, "EMBEDDED_WORKER_THREADS"),
        ({"DEBUG": "false", "REDIS_URL": "redis://127.0.0.1:6379/0"}, "SECRET_KEY"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/0"}, "SECRET_KEY"),
        ({"SECRET_KEY_FILE": "/nonexistent/sportello-secret"}, "SECRET_KEY_FILE"),
        ({"EMAIL_HOST_PASSWORD_FILE": "/nonexistent/smtp-password"}, "EMAIL_HOST_PASSWORD_FILE"),
        ({"EMAIL_USE_TLS": "true", "EMAIL_USE_SSL": "true"}, "EMAIL_USE_TLS"),
        ({"TRUST_PROXY_PROTO": "maybe"}, "TRUST_PROXY_PROTO"),
        ({"INGEST_DRAIN_SLOTS": "0"}, "INGEST_DRAIN_SLOTS"),
        ({"OUTBOUND_ALLOWED_NETWORKS": "10.0.0.0/8,intranet"}, "OUTBOUND_ALLOWED_NETWORKS"),
        ({"OUTBOUND_ALLOWED_PORTS": "8080,http"}, "OUTBOUND_ALLOWED_PORTS"),
        ({"OUTBOUND_ALLOWED_PORTS": "9000-8000"}, "OUTBOUND_ALLOWED_PORTS"),
        ({"OUTBOUND_ALLOWED_PORTS": "70000"}, "OUTBOUND_ALLOWED_PORTS"),
        ({"OUTBOUND_TIMEOUT_SECONDS": "0"}, "OUTBOUND_TIMEOUT_SECONDS"),
        ({"SIGN_IN_FAILURE_LIMIT": "0"}, "SIGN_IN_FAILURE_LIMIT"),
        ({"SIGN_IN_COOL_OFF_MINUTES": "soon"}, "SIGN_IN_COOL_OFF_MINUTES"),
        ({"SIGN_IN_LOCKOUT_BY": "user_agent"}, "SIGN_IN_LOCKOUT_BY"),
        ({"SIGN_IN_THROTTLE": "maybe"}, "SIGN_IN_THROTTLE"),
        ({"TRUSTED_PROXY_COUNT": "-1"}, "TRUSTED_PROXY_COUNT"),
    ],
    ids=lambda value: "-".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else value,
)
def test_a_bad_value_stops_start_up_naming_the_variable(
    tmp_path: Path, variables: dict[str, str], named: str
) -> None:
    result = start(tmp_path, **variables)

    assert result.returncode != 0, result.stdout
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert f"{named}:" in last_line or f"{named} " in last_line


def test_the_defaults_start_in_embedded_mode(tmp_path: Path) -> None:
    result = start(tmp_path, print_setting="DATABASES['default']['ENGINE']")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


@pytest.mark.parametrize(
    "variables",
    [
        {"DATABASE_URL": "mysql://sportello:hunter2-secret@db/sportello"},
        {"REDIS_URL": "http://:hunter2-secret@127.0.0.1:6379/0"},
    ],
)
def test_a_rejected_url_does_not_show_its_password(tmp_path: Path, variables: dict[str, str]) -> None:
    result = start(tmp_path, **variables)

    assert result.returncode != 0
    assert "***" in result.stderr
    assert "hunter2-secret" not in result.stderr


def test_embedded_mode_runs_with_debug_off_unless_asked(tmp_path: Path) -> None:
    assert start(tmp_path).stdout.strip() == "False"
    assert start(tmp_path, DEBUG="true").stdout.strip() == "True"


def test_embedded_mode_makes_a_secret_key_once_and_keeps_it_private(tmp_path: Path) -> None:
    first = start(tmp_path, print_setting="SECRET_KEY")
    again = start(tmp_path, print_setting="SECRET_KEY")

    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) >= 50 and "insecure" not in key
    assert again.stdout.strip() == key
    kept = tmp_path / "var" / "secret_key"
    assert kept.read_text().strip() == key
    assert kept.stat().st_mode & 0o777 == 0o600
    assert start(tmp_path / "elsewhere", print_setting="SECRET_KEY").stdout.strip() != key


def test_a_var_dir_that_cannot_keep_the_key_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "var").write_text("a file where the directory should be")

    result = start(tmp_path, print_setting="SECRET_KEY")

    assert result.returncode != 0
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("django.core.exceptions.ImproperlyConfigured: SECRET_KEY:")
    )


def test_secret_key_can_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret_key"
    secret.write_text("a-long-random-secret-from-a-file\n")

    result = start(tmp_path, print_setting="SECRET_KEY", DEBUG="false", SECRET_KEY_FILE=str(secret))

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "a-long-random-secret-from-a-file"


def test_the_file_wins_over_the_plain_variable(tmp_path: Path) -> None:
    secret = tmp_path / "secret_key"
    secret.write_text("from-the-file")

    result = start(
        tmp_path,
        print_setting="SECRET_KEY",
        DEBUG="false",
        SECRET_KEY="from-env",
        SECRET_KEY_FILE=str(secret),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "from-the-file"


@pytest.mark.parametrize(("trust", "header"), [("", "None"), ("true", "('HTTP_X_FORWARDED_PROTO', 'https')")])
def test_the_proxy_scheme_is_trusted_only_when_asked(tmp_path: Path, trust: str, header: str) -> None:
    result = start(tmp_path, print_setting="SECURE_PROXY_SSL_HEADER", TRUST_PROXY_PROTO=trust)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == header


def test_scaled_mode_follows_redis_url(tmp_path: Path) -> None:
    result = start(
        tmp_path,
        print_setting=(
            "CHANNEL_LAYERS['default']['BACKEND'], settings.CELERY_TASK_ALWAYS_EAGER, settings.DEBUG"
        ),
        REDIS_URL="redis://127.0.0.1:6379/0",
        SECRET_KEY="scaled-secret",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["channels_redis.pubsub.RedisPubSubChannelLayer", "False", "False"]


# A production-like environment: https address, a real secret, DEBUG off, a named host, TLS ended by a
# proxy that says so, and email webhooks (if any) authenticated.
PRODUCTION = {
    "PUBLIC_URL": "https://helpdesk.example.com",
    "SECRET_KEY": "k3v9-Qx7rT2pLm8Zs4Wd6Yh1Nc5Bf0Gj-Ua3Ei7Ro9Ty2Pw4Sx6Vz8Lq1Mn5Kb0Hc",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "helpdesk.example.com",
    "TRUST_PROXY_PROTO": "true",
    "ANYMAIL_WEBHOOK_SECRET": "sportello:a-long-webhook-secret",
    "EMAIL_INBOUND_ESPS": "postmark",
}
TRANSPORT = (
    "SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
    "settings.SECURE_HSTS_PRELOAD, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE"
)


def test_the_deploy_check_passes_in_a_production_environment(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        "SPORTELLO_VAR_DIR": str(tmp_path / "var"),
        **PRODUCTION,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr


def test_an_https_address_turns_transport_security_on(tmp_path: Path) -> None:
    result = start(tmp_path, print_setting=TRANSPORT, **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "31536000", "True", "True", "True", "True"]


def test_an_http_address_leaves_it_off(tmp_path: Path) -> None:
    result = start(tmp_path, print_setting=TRANSPORT, **{**PRODUCTION, "PUBLIC_URL": "http://10.0.0.5:8000"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "0", "False", "False", "False", "False"]


def test_without_a_trusted_proxy_scheme_there_is_no_redirect_loop(tmp_path: Path) -> None:
    # Sportello's servers do not speak TLS: without the proxy's word every request looks like http.
    result = start(tmp_path, print_setting=TRANSPORT, **{**PRODUCTION, "TRUST_PROXY_PROTO": "false"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "31536000", "True", "True", "True", "True"]


def test_each_transport_setting_can_be_set_on_its_own(tmp_path: Path) -> None:
    result = start(
        tmp_path,
        print_setting=TRANSPORT,
        **PRODUCTION,
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
        SECURE_HSTS_PRELOAD="no",
        SESSION_COOKIE_SECURE="off",
        CSRF_COOKIE_SECURE="0",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "3600", "False", "False", "False", "False"]


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS"),
        ({"SECURE_HSTS_SECONDS": "-1"}, "SECURE_HSTS_SECONDS"),
        ({"SECURE_SSL_REDIRECT": "sometimes"}, "SECURE_SSL_REDIRECT"),
        ({"SESSION_COOKIE_SECURE": "maybe"}, "SESSION_COOKIE_SECURE"),
        ({"PUBLIC_URL": "helpdesk.example.com"}, "PUBLIC_URL"),
    ],
    ids=lambda value: "-".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else value,
)
def test_a_bad_transport_value_stops_start_up(tmp_path: Path, variables: dict[str, str], named: str) -> None:
    result = start(tmp_path, **{**PRODUCTION, **variables})

    assert result.returncode != 0, result.stdout
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert f"{named}:" in last_line
