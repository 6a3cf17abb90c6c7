"""localcloud's clock: real time by default, settable and advanceable so time-driven behaviour
(schedules firing, and later Wait states) can be made to happen deterministically.

The clock is an offset from real time, optionally frozen. Whoever waits on it (the scheduler's
firing loop) subscribes to changes, so setting or advancing the clock wakes them at once. It also
counts the times it was set back (``set_backs``): what was computed ahead of the old time (the
scheduler's next due times) must then be computed again from the new one.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Listener = Callable[[], None]


@dataclass(frozen=True)
class ClockState:
    """What is persisted: the offset from real time, and the frozen instant if the clock stands still."""

    offset_seconds: float = 0.0
    frozen_at: float | None = None  # epoch seconds while frozen

    def to_json(self) -> dict[str, float | None]:
        return {"offset_seconds": self.offset_seconds, "frozen_at": self.frozen_at}

    @classmethod
    def from_json(cls, data: dict[str, float | None]) -> ClockState:
        offset = data.get("offset_seconds") or 0.0
        return cls(offset_seconds=float(offset), frozen_at=data.get("frozen_at"))


class Clock:
    """Thread-safe. ``now()`` is always timezone-aware UTC."""

    def __init__(
        self, state: ClockState | None = None, *, real_time: Callable[[], float] = time.time
    ) -> None:
        self._lock = threading.Lock()
        self._state = state or ClockState()
        self._real_time = real_time
        self._listeners: list[Listener] = []
        self._set_backs = 0

    # -- reading -------------------------------------------------------------------------------
    def timestamp(self) -> float:
        with self._lock:
            return self._timestamp_locked()

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.timestamp(), dt.UTC)

    @property
    def state(self) -> ClockState:
        with self._lock:
            return self._state

    @property
    def set_backs(self) -> int:
        """How many times ``set`` or ``reset`` moved the clock back since it was made."""
        with self._lock:
            return self._set_backs

    @property
    def is_real(self) -> bool:
        state = self.state
        return state.offset_seconds == 0 and state.frozen_at is None

    # -- controlling ---------------------------------------------------------------------------
    def set(self, when: dt.datetime, *, frozen: bool | None = None) -> dt.datetime:
        """Jump to ``when`` (aware). ``frozen`` None keeps the current mode."""
        if when.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware time (for example 2024-01-01T00:00:00Z)")
        target = when.timestamp()
        with self._lock:
            freeze = self._state.frozen_at is not None if frozen is None else frozen
            self._moved_to(target)
            real = self._real_time()
            self._state = ClockState(offset_seconds=target - real, frozen_at=target if freeze else None)
        self._notify()
        return self.now()

    def advance(self, seconds: float) -> dt.datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward: advance by a positive number of seconds")
        with self._lock:
            state = self._state
            frozen = None if state.frozen_at is None else state.frozen_at + seconds
            self._state = ClockState(offset_seconds=state.offset_seconds + seconds, frozen_at=frozen)
        self._notify()
        return self.now()

    def freeze(self) -> dt.datetime:
        with self._lock:
            now = self._timestamp_locked()
            self._state = ClockState(offset_seconds=now - self._real_time(), frozen_at=now)
        self._notify()
        return self.now()

    def unfreeze(self) -> dt.datetime:
        """Let time run again from where it stands."""
        with self._lock:
            now = self._timestamp_locked()
            self._state = ClockState(offset_seconds=now - self._real_time(), frozen_at=None)
        self._notify()
        return self.now()

    def reset(self) -> dt.datetime:
        """Back to real time."""
        with self._lock:
            self._moved_to(self._real_time())
            self._state = ClockState()
        self._notify()
        return self.now()

    # -- waiting -------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` (from any thread) whenever the clock is set or advanced."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def seconds_until(self, when: dt.datetime) -> float | None:
        """Real seconds to wait until ``when``; None while frozen (only a control moves it)."""
        with self._lock:
            if self._state.frozen_at is not None:
                return None
            return max(0.0, when.timestamp() - self._timestamp_locked())

    def _moved_to(self, target: float) -> None:
        if target < self._timestamp_locked():
            self._set_backs += 1

    def _timestamp_locked(self) -> float:
        if self._state.frozen_at is not None:
            return self._state.frozen_at
        return self._real_time() + self._state.offset_seconds

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
