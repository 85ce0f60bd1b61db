"""Leases: sets of members that each expire unless renewed, shared by every web process.

A socket holds a lease (its agent is present, it views a ticket) that its web process renews every few
seconds; a lease whose process died stops being renewed and expires. Leases live in Redis in scaled
mode (sorted sets scored by expiry, shared by every web process) and in process memory in embedded mode.
What a key or a member means is the caller's business.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, Protocol, cast

from django.conf import settings

from realtime.singleton import ProcessSingleton


class LeaseStore(Protocol):
    """Sets of members with an expiry each: ``key -> {member: expires_at}``."""

    def put(self, key: str, members: dict[str, float], *, only_existing: bool = False) -> None: ...
    def put_many(self, entries: list[tuple[str, dict[str, float]]], *, only_existing: bool = False) -> None:
        """``put`` for many keys at once."""
        ...

    def drop(self, key: str, members: Iterable[str]) -> None: ...
    def live(self, key: str, now: float) -> list[str]: ...
    def expire(self, key: str, now: float) -> int: ...
    def expire_many(self, keys: list[str], now: float) -> list[bool]:
        """Expire each key's dead members; for each key, whether a live member remains."""
        ...

    def index_add(self, index: str, key: str) -> None: ...
    def index_drop(self, index: str, key: str) -> None: ...
    def index(self, index: str) -> list[str]: ...


class MemoryLeaseStore:
    """Embedded mode: one process holds every socket, so its memory is the whole truth."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[str, dict[str, float]] = {}
        self._indexes: dict[str, set[str]] = {}

    def put(self, key: str, members: dict[str, float], *, only_existing: bool = False) -> None:
        with self._lock:
            entries = self._sets.setdefault(key, {})
            for member, expires in members.items():
                if member in entries or not only_existing:
                    entries[member] = expires

    def put_many(self, entries: list[tuple[str, dict[str, float]]], *, only_existing: bool = False) -> None:
        for key, members in entries:
            self.put(key, members, only_existing=only_existing)

    def drop(self, key: str, members: Iterable[str]) -> None:
        with self._lock:
            entries = self._sets.get(key, {})
            for member in members:
                entries.pop(member, None)

    def live(self, key: str, now: float) -> list[str]:
        with self._lock:
            return [member for member, expires in self._sets.get(key, {}).items() if expires > now]

    def expire(self, key: str, now: float) -> int:
        with self._lock:
            entries = self._sets.get(key, {})
            dead = [member for member, expires in entries.items() if expires <= now]
            for member in dead:
                del entries[member]
            return len(dead)

    def expire_many(self, keys: list[str], now: float) -> list[bool]:
        result = []
        for key in keys:
            self.expire(key, now)
            result.append(bool(self.live(key, now)))
        return result

    def index_add(self, index: str, key: str) -> None:
        with self._lock:
            self._indexes.setdefault(index, set()).add(key)

    def index_drop(self, index: str, key: str) -> None:
        with self._lock:
            self._indexes.get(index, set()).discard(key)

    def index(self, index: str) -> list[str]:
        with self._lock:
            return list(self._indexes.get(index, set()))


class RedisLeaseStore:
    """Scaled mode: sorted sets scored by expiry, shared by every web process."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=5, decode_responses=True)
        self._prefix = prefix

    def _k(self, key: str) -> str:
        return f"{self._prefix}:live:{key}"

    def put(self, key: str, members: dict[str, float], *, only_existing: bool = False) -> None:
        if members:
            self._redis.zadd(self._k(key), members, xx=only_existing)

    def put_many(self, entries: list[tuple[str, dict[str, float]]], *, only_existing: bool = False) -> None:
        # One round trip for a whole process's sockets, not one per socket: the renewal runs on the
        # thread the sockets' own database work uses.
        pipe = self._redis.pipeline(transaction=False)
        for key, members in entries:
            if members:
                pipe.zadd(self._k(key), members, xx=only_existing)
        pipe.execute()

    def drop(self, key: str, members: Iterable[str]) -> None:
        names = list(members)
        if names:
            self._redis.zrem(self._k(key), *names)

    def live(self, key: str, now: float) -> list[str]:
        # The client decodes replies (``decode_responses``): members come back as text.
        return cast(list[str], self._redis.zrangebyscore(self._k(key), f"({now}", "+inf"))

    def expire(self, key: str, now: float) -> int:
        return int(self._redis.zremrangebyscore(self._k(key), "-inf", now))

    def expire_many(self, keys: list[str], now: float) -> list[bool]:
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            pipe.zremrangebyscore(self._k(key), "-inf", now)
            pipe.zcount(self._k(key), f"({now}", "+inf")
        replies = pipe.execute()
        return [int(count) > 0 for count in replies[1::2]]

    def index_add(self, index: str, key: str) -> None:
        self._redis.sadd(self._k(index), key)

    def index_drop(self, index: str, key: str) -> None:
        self._redis.srem(self._k(index), key)

    def index(self, index: str) -> list[str]:
        return list(cast(set[str], self._redis.smembers(self._k(index))))


def _store_for_settings() -> LeaseStore:
    if settings.EMBEDDED:
        return MemoryLeaseStore()
    layer: dict[str, Any] = settings.CHANNEL_LAYERS["default"]
    prefix = str(layer.get("CONFIG", {}).get("prefix", "sportello"))
    return RedisLeaseStore(settings.REDIS_URL, prefix)


stores: ProcessSingleton[LeaseStore] = ProcessSingleton(_store_for_settings)


def lease_store() -> LeaseStore:
    """This process's store, as the settings choose it."""
    return stores.get()
