"""One object per process: built once, built again in a forked child or when it can no longer serve."""

from __future__ import annotations

import os

import pytest

from realtime.singleton import ProcessSingleton


class _Thing:
    def __init__(self) -> None:
        self.broken = False


def test_one_instance_per_process_until_it_breaks() -> None:
    made: list[_Thing] = []

    def make() -> _Thing:
        made.append(_Thing())
        return made[-1]

    single = ProcessSingleton(make, usable=lambda thing: not thing.broken)
    assert single.current() is None
    first = single.get()
    assert single.get() is first and single.current() is first and len(made) == 1
    first.broken = True
    assert single.get() is not first and len(made) == 2


def test_a_forked_child_builds_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    single = ProcessSingleton(_Thing)
    parent = single.get()
    monkeypatch.setattr(os, "getpid", lambda: -1)
    child = single.get()
    assert child is not parent and single.get() is child


def test_a_test_may_put_its_own_in_place_and_restore() -> None:
    single = ProcessSingleton(_Thing)
    built = single.get()
    mine = _Thing()
    previous = single.use(mine)
    assert previous is built and single.get() is mine
    single.use(previous)
    assert single.get() is built
