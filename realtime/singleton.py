"""One object per process, made on first use and made again in a forked child.

A web or Celery pool process forked from a parent inherits the parent's objects but not their threads
or sockets: an object that owns a thread (a publisher, a requester) or a connection must be rebuilt in
the child. ``ProcessSingleton`` does that, under a lock, for any factory.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ProcessSingleton(Generic[T]):
    """``get()`` returns this process's instance, built by ``factory`` when there is none yet.

    ``usable(instance)`` may refuse an inherited or broken one (its loop closed), which is then
    rebuilt too; ``at_exit(instance)``, if given, is registered with ``atexit`` for each instance built.
    """

    def __init__(
        self,
        factory: Callable[[], T],
        *,
        usable: Callable[[T], bool] | None = None,
        at_exit: Callable[[T], object] | None = None,
    ) -> None:
        self._factory = factory
        self._usable = usable
        self._at_exit = at_exit
        self._lock = threading.Lock()
        self._instance: T | None = None
        self._pid = 0

    def get(self) -> T:
        with self._lock:
            instance = self._instance
            if (
                instance is None
                or self._pid != os.getpid()
                or (self._usable is not None and not self._usable(instance))
            ):
                instance = self._factory()
                self._instance, self._pid = instance, os.getpid()
                if self._at_exit is not None:
                    atexit.register(self._at_exit, instance)
            return instance

    def current(self) -> T | None:
        """The instance built so far, if any, without building one."""
        with self._lock:
            return self._instance

    def use(self, instance: T | None) -> T | None:
        """Make ``instance`` this process's one (``None``: build anew on next use); returns the previous.

        For tests that put a store of their choosing in place and restore the previous one after.
        """
        with self._lock:
            previous, self._instance, self._pid = self._instance, instance, os.getpid()
            return previous
