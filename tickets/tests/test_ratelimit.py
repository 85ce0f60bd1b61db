"""Budgets over a sliding window, shared through the cache: in memory embedded, in Redis scaled."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tickets.ratelimit import Budget, BudgetSpent, TokenBucket, budget_take


@pytest.fixture(params=["memory", "redis"])
def shared_cache(request, settings) -> None:  # type: ignore[no-untyped-def]
    if request.param == "redis":
        redis_url = request.getfixturevalue("clean_redis")
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
        }
    cache.clear()


@pytest.mark.usefixtures("shared_cache")
def test_a_budget_refuses_past_its_limit_says_when_to_retry_and_spends_nothing_on_refusals() -> None:
    budget = Budget("test-sessions", limit=3, window_seconds=60)

    for _ in range(3):
        budget_take(budget, "203.0.113.7")
    for _ in range(5):
        with pytest.raises(BudgetSpent) as spent:
            budget_take(budget, "203.0.113.7")
        assert 1 <= spent.value.retry_after <= 120
    budget_take(budget, "198.51.100.9")


@pytest.mark.usefixtures("shared_cache")
def test_the_previous_window_still_counts_as_it_slides_out(monkeypatch: pytest.MonkeyPatch) -> None:
    budget = Budget("test-slide", limit=4, window_seconds=100)
    clock = [1_000_000.0]  # the start of a window
    monkeypatch.setattr("tickets.ratelimit.time.time", lambda: clock[0])
    for _ in range(4):
        budget_take(budget, "k")

    clock[0] += 110  # 10% into the next window: 90% of the last one still counts
    with pytest.raises(BudgetSpent) as spent:
        budget_take(budget, "k")
    assert spent.value.retry_after == 15  # 4 x (1 - 25%) + 1 = 4: a quarter into the window
    clock[0] += 15
    budget_take(budget, "k")


def test_a_token_bucket_takes_a_burst_then_its_average_rate() -> None:
    clock = [100.0]
    frames = TokenBucket(rate=10, burst=30, clock=lambda: clock[0])

    assert all(frames.take() for _ in range(30))
    assert not frames.take() and not frames.take()  # refusals spend nothing
    clock[0] += 0.35  # three and a half tokens back: three frames
    assert [frames.take() for _ in range(4)] == [True, True, True, False]
    taken = 0
    for _ in range(60):  # then asked twenty a second for six seconds: ten a second pass
        clock[0] += 0.1
        taken += frames.take() + frames.take()
    assert 59 <= taken <= 61
    clock[0] += 10  # a pause refills the burst, never more
    assert sum(frames.take() for _ in range(40)) == 30
