"""Strict readers for environment settings: a bad value stops start-up naming the variable."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def raw(name: str, default: str | None = None) -> str | None:
    """The variable's value, or the content of the file named by ``<name>_FILE`` (for secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_name!r}: {exc.strerror}") from exc
    return os.environ.get(name, default)


def string(name: str, default: str = "") -> str:
    value = raw(name)
    return default if value is None else value


def boolean(name: str, default: bool) -> bool:
    value = raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: expected a boolean (true/false/1/0), got {value!r}")


def integer(name: str, default: int, *, minimum: int | None = None) -> int:
    value = raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: expected a whole number, got {value!r}") from exc
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}, got {number}")
    return number


def string_list(name: str, default: list[str]) -> list[str]:
    value = raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def choice(name: str, default: str, allowed: set[str]) -> str:
    value = string(name, default)
    if value not in allowed:
        raise ImproperlyConfigured(f"{name}: must be one of {sorted(allowed)}, got {value!r}")
    return value


def network_list(name: str) -> list[str]:
    """Comma-separated IP networks or single addresses (``10.0.0.0/8``, ``192.168.1.20``), checked."""
    items = string_list(name, [])
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an IP address or network") from exc
    return items


def port_list(name: str) -> list[str]:
    """Comma-separated TCP ports or ranges (``8080``, ``8000-8099``), checked."""
    items = string_list(name, [])
    for item in items:
        low, _, high = item.partition("-")
        valid = low.isdigit() and (not high or high.isdigit())
        if not valid or not 1 <= int(low) <= int(high or low) <= 65535:
            raise ImproperlyConfigured(f"{name}: {item!r} is not a port (1-65535) or a range of them")
    return items


def persisted_secret(name: str, path: Path) -> str:
    """A random secret kept in ``path`` (mode 0600), made on first use; the same one on every start."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Written whole under another name, then linked into place: a process starting beside this
            # one never reads a half-written key, and the first link wins.
            draft = path.with_name(f".{path.name}.{os.getpid()}")
            descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(50))
            try:
                os.link(draft, path)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        value = path.read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"{name}: cannot keep a generated one in {str(path)!r}: {exc.strerror}"
        ) from exc
    if len(value) < 32:
        raise ImproperlyConfigured(f"{name}: {str(path)!r} holds no usable key; delete it to make a new one")
    return value
