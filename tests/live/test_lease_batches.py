"""The lease store's batch operations (one Redis round trip per upkeep) agree with the single ones."""

from __future__ import annotations

import time

from realtime import leases
from tickets.tests.test_presence import store  # noqa: F401 - the memory and Redis stores


def test_put_many_renews_only_existing_members(store: leases.LeaseStore) -> None:  # noqa: F811
    now = time.time()
    store.put("agent:1", {"a": now + 1})
    store.put_many(
        [("agent:1", {"a": now + 100}), ("agent:1", {"gone": now + 100}), ("agent:2", {"b": now + 100})],
        only_existing=True,
    )
    assert store.live("agent:1", now + 50) == ["a"]
    assert store.live("agent:2", now) == []


def test_expire_many_drops_the_dead_and_says_who_still_has_a_socket(store: leases.LeaseStore) -> None:  # noqa: F811
    now = time.time()
    store.put_many(
        [("agent:1", {"old": now - 5, "new": now + 30}), ("agent:2", {"old": now - 5}), ("agent:3", {})]
    )
    assert store.expire_many(["agent:1", "agent:2", "agent:3"], now) == [True, False, False]
    assert store.live("agent:1", now - 10) == ["new"]
    assert store.expire("agent:2", now) == 0
