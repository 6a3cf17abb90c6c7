"""Waiting between retries: exponential backoff with full jitter, bounded by the Lambda's time budget."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class RemainingTime(Protocol):
    """The part of a Lambda context the budget reads (any object with this method will do)."""

    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class TimeBudget:
    """How long the handler may still work: the Lambda's remaining time minus a reserve.

    The reserve is kept for the call in flight and the error's way back, so that a slow batch ends
    with a TimeBudgetExhaustedError the state machine retries, not with a Lambda timeout.
    """

    remaining_ms: Callable[[], int]
    reserve_ms: int = 0

    @classmethod
    def from_context(cls, context: RemainingTime, reserve_ms: int) -> TimeBudget:
        return cls(remaining_ms=context.get_remaining_time_in_millis, reserve_ms=reserve_ms)

    @classmethod
    def from_deadline(
        cls, seconds: float, reserve_ms: int = 0, clock: Callable[[], float] = time.monotonic
    ) -> TimeBudget:
        """A budget of ``seconds`` from now, outside Lambda (benchmarks, scripts)."""
        deadline = clock() + seconds
        return cls(remaining_ms=lambda: int((deadline - clock()) * 1000), reserve_ms=reserve_ms)

    def spendable_ms(self) -> int:
        """Milliseconds that may still be spent; 0 or less means stop now."""
        return self.remaining_ms() - self.reserve_ms


@dataclass(frozen=True)
class FullJitterBackoff:
    """Delay before retry ``attempt`` (0-based): uniform in [0, min(cap, base * 2**attempt)].

    Full jitter spreads the retries of the many writers a Distributed Map runs at once, which is
    what relieves a throttled table (AWS Architecture Blog, "Exponential Backoff And Jitter").
    """

    base_s: float = 0.05
    cap_s: float = 5.0
    uniform: Callable[[], float] = field(default=random.random, compare=False)

    def delay_s(self, attempt: int) -> float:
        ceiling = min(self.cap_s, self.base_s * 2.0 ** min(attempt, 32))
        return self.uniform() * ceiling
