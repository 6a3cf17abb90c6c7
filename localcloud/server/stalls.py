"""How long the event loop could not answer: every request waits out a stall, so the longest ones
are what a client sees as its slowest requests. ``/_localcloud/health`` shows them
(``event_loop``), with the cyclic GC's long collections beside them to tell the two apart.

A task sleeps ``TICK`` seconds at a time and records any wake-up later than ``RECORDED`` past
its due time, with the wall time it ended; the last ``KEEP`` of each are kept.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import time
from typing import Any

TICK = 0.02
RECORDED = 0.1
KEEP = 200


class StallWatch:
    def __init__(self) -> None:
        self.stalls: collections.deque[tuple[float, float]] = collections.deque(maxlen=KEEP)
        self.collections: collections.deque[tuple[float, float, int]] = collections.deque(maxlen=KEEP)
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None
        self._gc_began = 0.0

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="event-loop-stalls")
        gc.callbacks.append(self._on_gc)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    async def _watch(self) -> None:
        while True:
            due = time.perf_counter() + TICK
            await asyncio.sleep(TICK)
            late = time.perf_counter() - due
            if late > RECORDED:
                self.stalls.append((time.time(), late))
                self.longest = max(self.longest, late)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_began = time.perf_counter()
            return
        took = time.perf_counter() - self._gc_began
        if took > RECORDED:
            self.collections.append((time.time(), took, int(info.get("generation", -1))))

    def report(self) -> dict[str, Any]:
        return {
            "longest_stall_seconds": round(self.longest, 3),
            "stalls": [{"ended": round(at, 3), "seconds": round(took, 3)} for at, took in self.stalls],
            "gc_collections": [
                {"ended": round(at, 3), "seconds": round(took, 3), "generation": generation}
                for at, took, generation in self.collections
            ],
        }
