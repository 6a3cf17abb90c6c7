"""Clocks: the real one, and a virtual one under which nothing ever sleeps.

The interpreter only ever reads time through :meth:`Clock.now` and waits through
:meth:`Clock.sleep`. Threads that run parts of an execution (Parallel branches, Map iterations)
register with the clock as *participants*; a thread waiting for other participants (a Parallel state
joining its branches) marks itself *blocked*. The virtual clock advances only when every participant
is asleep or blocked, and then jumps straight to the earliest wake-up time: so Wait states, retry
back-off and timeouts complete at once, deterministically, also under concurrency.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware (UTC)."""

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> bool:
        """Wait ``seconds``; return early (False) if ``wake`` is set. True when the full time passed."""

    def participant(self) -> contextlib.AbstractContextManager[None]:
        """Register the calling thread as running part of an execution for the duration."""

    def blocked(self) -> contextlib.AbstractContextManager[None]:
        """Mark the calling participant as waiting on other participants for the duration."""

    def notify(self) -> None:
        """Something a sleeper may wait for happened (for example a stop request)."""

    def bind_participant(self, fn: Callable[[], None]) -> Callable[[], None]:
        """Call in the spawning thread: ``fn``, run in a new thread, is a participant from now on."""


class RealClock:
    """Wall-clock time; sleeping really sleeps (interruptible through ``wake``)."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> bool:
        if seconds <= 0:
            return not (wake is not None and wake.is_set())
        if wake is None:
            time.sleep(seconds)
            return True
        return not wake.wait(seconds)

    @contextlib.contextmanager
    def participant(self) -> Iterator[None]:
        yield

    @contextlib.contextmanager
    def blocked(self) -> Iterator[None]:
        yield

    def notify(self) -> None:
        return None

    def bind_participant(self, fn: Callable[[], None]) -> Callable[[], None]:
        return fn


class VirtualClock:
    """Discrete-event time. ``now()`` moves only when every participant sleeps or is blocked.

    A thread that sleeps without having registered as a participant counts as one for that sleep,
    so single-threaded use needs no ceremony.
    """

    def __init__(self, start: dt.datetime | None = None) -> None:
        start = start or dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
        self._now = start
        self._cond = threading.Condition()
        self._running = 0  # participants neither sleeping nor blocked
        self._sleepers: list[tuple[dt.datetime, int]] = []
        self._wakes: dict[int, threading.Event] = {}
        self._seq = itertools.count()
        self._local = threading.local()

    def now(self) -> dt.datetime:
        with self._cond:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by hand (tests of timeouts driven from outside)."""
        with self._cond:
            self._now += dt.timedelta(seconds=seconds)
            self._cond.notify_all()

    def _is_participant(self) -> bool:
        return getattr(self._local, "depth", 0) > 0

    @contextlib.contextmanager
    def participant(self) -> Iterator[None]:
        with self._cond:
            self._local.depth = getattr(self._local, "depth", 0) + 1
            if self._local.depth == 1:
                self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._local.depth -= 1
                if self._local.depth == 0:
                    self._running -= 1
                    self._maybe_advance()

    @contextlib.contextmanager
    def blocked(self) -> Iterator[None]:
        if not self._is_participant():
            yield
            return
        with self._cond:
            self._running -= 1
            self._maybe_advance()
        try:
            yield
        finally:
            with self._cond:
                self._running += 1

    def notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def bind_participant(self, fn: Callable[[], None]) -> Callable[[], None]:
        # Counted as running before the thread starts, so that the spawner blocking right after
        # cannot let time jump before the new thread got going.
        with self._cond:
            self._running += 1

        def run() -> None:
            self._local.depth = 1
            try:
                fn()
            finally:
                with self._cond:
                    self._local.depth = 0
                    self._running -= 1
                    self._maybe_advance()

        return run

    def _maybe_advance(self) -> None:
        # Called with the lock held: when nobody can make progress, jump to the earliest wake-up.
        if self._running <= 0 and self._sleepers:
            if any(event.is_set() for event in self._wakes.values()):
                # A sleeper was woken (stopped, cancelled): it runs before time may move.
                self._cond.notify_all()
                return
            due = self._sleepers[0][0]
            self._now = max(self._now, due)
            self._cond.notify_all()

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> bool:
        registered = self._is_participant()
        with self._cond:
            if wake is not None and wake.is_set():
                return False
            due = self._now + dt.timedelta(seconds=max(seconds, 0.0))
            entry = (due, next(self._seq))
            heapq.heappush(self._sleepers, entry)
            if wake is not None:
                self._wakes[entry[1]] = wake
            if registered:
                self._running -= 1
            try:
                self._maybe_advance()
                while self._now < due:
                    if wake is not None and wake.is_set():
                        return False
                    self._cond.wait()
                    self._maybe_advance()
                return True
            finally:
                self._sleepers.remove(entry)
                heapq.heapify(self._sleepers)
                self._wakes.pop(entry[1], None)
                if registered:
                    self._running += 1
