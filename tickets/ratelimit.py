"""Budgets: how often something may happen per key, over a sliding window, for every process at once.

The counts live in the cache (Redis in the scaled mode, so every web process spends from the same
budget; process memory in the embedded mode, which is one process). Each key has a counter per window;
the previous window's count still weighs in proportion to how much of it lies inside the sliding
window, so a burst at the edge of two windows is not let through twice. Counters are increased
atomically, and a refused attempt gives its unit back: refusals spend nothing.

``TokenBucket`` limits one holder in this process alone, in memory: a socket's frames, which are its
own and arrive many a second.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Budget:
    name: str
    limit: int
    window_seconds: int


class BudgetSpent(Exception):
    def __init__(self, budget: Budget, retry_after: int) -> None:
        super().__init__(f"{budget.name}: more than {budget.limit} in {budget.window_seconds} s")
        self.budget = budget
        self.retry_after = retry_after


def budget_take(budget: Budget, key: str) -> str:
    """Spend one unit of ``budget`` for ``key``, or raise ``BudgetSpent`` saying when to try again.

    Returns the counter that was spent from, for ``budgets_take`` to give it back.
    """
    window = budget.window_seconds
    now = time.time()
    slot = int(now // window)
    elapsed = now - slot * window
    base = f"budget:{budget.name}:{key}"
    current_key = f"{base}:{slot}"
    # Kept through the next window, where it is the previous one.
    cache.add(current_key, 0, timeout=2 * window + 1)
    try:
        count = cache.incr(current_key)
    except ValueError:  # expired between the two calls
        cache.set(current_key, 1, timeout=2 * window + 1)
        count = 1
    previous = int(cache.get(f"{base}:{slot - 1}") or 0)
    if previous * (1 - elapsed / window) + count <= budget.limit:
        return current_key
    cache.decr(current_key)
    raise BudgetSpent(budget, _retry_after(budget, previous, count - 1, elapsed))


def _retry_after(budget: Budget, previous: int, current: int, elapsed: float) -> int:
    """Seconds until one more would fit, if nothing else is spent meanwhile."""
    window, room = budget.window_seconds, budget.limit - 1
    if current > room:
        # This window alone is full: wait for the next one, and for this one's weight to fall enough.
        wait = (window - elapsed) + window * max(0.0, 1 - room / current)
    else:
        wait = window * (1 - (room - current) / previous) - elapsed
    return max(1, math.ceil(wait - 1e-9))


def budgets_take(*spends: tuple[Budget, str]) -> None:
    """Spend from several budgets, all or none: a refusal gives back what was already taken."""
    taken: list[str] = []
    try:
        for budget, key in spends:
            taken.append(budget_take(budget, key))
    except BudgetSpent:
        for counter in taken:
            with contextlib.suppress(ValueError):  # gone with its window: nothing to give back
                cache.decr(counter)
        raise


class TokenBucket:
    """``rate`` a second on average, ``burst`` at once, for one holder in this process (a socket's frames).

    Counted in memory, with no round trip. Unlike a budget it refills continuously, so a burst is
    followed at once by the average rate: what a socket's frames need, where a budget's window would
    hold back a client that has just connected and typed quickly.
    """

    def __init__(self, *, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst = rate, burst
        self._clock = clock
        self.tokens = burst
        self.stamp = clock()

    def take(self) -> bool:
        """Spend one token if there is one; a refusal spends nothing."""
        now = self._clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
