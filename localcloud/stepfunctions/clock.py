"""The interpreter's clock on localcloud's clock.

Executions read time from localcloud's clock, so that setting or advancing it (the
``/_localcloud/clock`` control) moves Wait states, retry intervals, timeouts and the 14-day
redrive window exactly as it moves the Scheduler. While the clock runs, a sleep lasts the real
seconds left until its due time; while it is frozen, a sleep lasts until the clock is advanced
past its due time (time stands still for everyone). A sleeper wakes early when its ``wake``
event is set: the host calls :meth:`notify` whenever it sets one (a stop, a task token answered,
a child execution ending).
"""

from __future__ import annotations

import datetime as dt
import threading

from localcloud.asl.clock import RealClock
from localcloud.clock import Clock as LocalcloudClock

# A sleeper re-checks its wake event at least this often (a safety net: notify() is the signal).
_POLL_SECONDS = 0.5


class ServerClock(RealClock):
    """``localcloud.asl.Clock`` over ``localcloud.clock.Clock``; like the real clock, it has no
    participants to count (time is never jumped to the next wake-up)."""

    def __init__(self, clock: LocalcloudClock) -> None:
        self._clock = clock
        self._changed = threading.Condition()
        self._unsubscribe = clock.subscribe(self.notify)

    def close(self) -> None:
        self._unsubscribe()
        self.notify()

    def now(self) -> dt.datetime:
        return self._clock.now()

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> bool:
        due = self._clock.now() + dt.timedelta(seconds=max(seconds, 0.0))
        with self._changed:
            while True:
                if wake is not None and wake.is_set():
                    return False
                remaining = self._clock.seconds_until(due)  # None while frozen
                if remaining is not None and remaining <= 0:
                    return True
                if remaining is None and self._clock.now() >= due:
                    return True
                timeout = _POLL_SECONDS if remaining is None else min(remaining, _POLL_SECONDS)
                self._changed.wait(timeout)

    def notify(self) -> None:
        with self._changed:
            self._changed.notify_all()
