"""Running child frames (Parallel branches, Map iterations) on threads that take part in the
execution's clock, with first-failure cancellation of the siblings."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from localcloud.asl.engine import run_graph
from localcloud.asl.errors import ExecutionStopped, StatesFailure
from localcloud.asl.runtime import CancelToken, ExecutionTimedOut, Frame

if TYPE_CHECKING:
    from localcloud.asl.machine import StateGraph

SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
ABORTED = "ABORTED"


class ChildOutcome:
    """How a group of children ended: the first failure (or stop/timeout signal) wins."""

    def __init__(self, parent: Frame) -> None:
        self.parent = parent
        self.failure: StatesFailure | None = None
        self.signal: BaseException | None = None
        self._lock = threading.Lock()

    def fail(self, exc: BaseException) -> None:
        with self._lock:
            first = self.failure is None and self.signal is None
            if isinstance(exc, StatesFailure):
                if first:
                    self.failure = exc
            elif self.signal is None and self.failure is None:
                self.signal = exc
        if first:
            # Stop the siblings: the state fails as a whole (the guide's Parallel and Map sections).
            self.parent.ctx.clock.notify()

    @property
    def failed(self) -> bool:
        return self.failure is not None or self.signal is not None

    def raise_if_failed(self) -> None:
        if self.signal is not None:
            raise self.signal
        if self.failure is not None:
            raise self.failure


def run_child(
    graph: StateGraph, child: Frame, data: Any, outcome: ChildOutcome, cancel_siblings: Callable[[], None]
) -> tuple[str, Any]:
    """Run one child frame to its end; record its status in ``child.record``."""
    record = child.record
    try:
        output = run_graph(graph, child, data)
    except StatesFailure as failure:
        record["status"] = FAILED
        record["error"] = failure.error
        cancel_siblings()
        outcome.fail(failure)
        return FAILED, failure
    except (ExecutionStopped, ExecutionTimedOut) as signal:
        record["status"] = ABORTED
        if not child.parent_cancelled():
            outcome.fail(signal)
        return ABORTED, signal
    finally:
        child.token.release()
    record.clear()
    record["status"] = SUCCEEDED
    record["output"] = output
    return SUCCEEDED, output


def finish_group(frame: Frame, group: CancelToken, outcome: ChildOutcome, kind: str) -> None:
    """After the children of a Parallel or Map ran: its Succeeded/Failed event, or the failure."""
    group.release()
    frame.last_event = frame.ctx.history.last_id
    frame.check()
    if outcome.failed:
        frame.event(f"{kind}StateFailed")
        outcome.raise_if_failed()
    frame.event(f"{kind}StateSucceeded")


# Sleeping "until woken" on the clock: far beyond any deadline an execution can have.
UNTIL_WOKEN = 10 * 365 * 24 * 3600.0


def spawn(frame: Frame, work: Sequence[Callable[[], None]]) -> None:
    """Run ``work`` items on threads that take part in the clock; wait for all of them.

    The wait is a sleep on the clock that the last item's thread wakes *before* it stops being a
    participant. Joining while marked "blocked" would let a virtual clock jump ahead in the instant
    between the last thread leaving and the joiner running again, whenever some other execution
    on the same clock is asleep (a parent waiting for this one, say)."""
    clock = frame.ctx.clock
    all_done = threading.Event()
    remaining = [len(work)]
    lock = threading.Lock()

    def counted(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            finally:
                with lock:
                    remaining[0] -= 1
                    last = remaining[0] == 0
                if last:
                    all_done.set()
                    clock.notify()

        return run

    threads = [threading.Thread(target=clock.bind_participant(counted(fn)), daemon=True) for fn in work]
    if not threads:
        return
    for thread in threads:
        thread.start()
    while not all_done.is_set():
        clock.sleep(UNTIL_WOKEN, all_done)
    for thread in threads:  # they are past their work, only leaving: no need for the clock to move
        thread.join()
