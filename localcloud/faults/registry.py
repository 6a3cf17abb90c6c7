"""The faults set in a running localcloud, and the decision for each call.

Faults live in memory only: a restart clears them (rehearsals never leak into the next session).
Each HTTP request is one call, as each attempt is one call to AWS: an SDK retrying a throttled
request meets the fault again, as it would meet the throttling again. The one exception is
localcloud's own clients (its Step Functions integrations, Athena's reads): they retry transient
errors as part of the endpoint's plumbing, which AWS's Step Functions does not do with a
service's answer, so a retried attempt of a call a fault answered (same ``amz-sdk-invocation-id``)
gets the same answer without counting again, and the state machine sees the error as it would
on AWS (its Retry decides).
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from localcloud.faults.model import Fault, UnknownFault, parse

_STICKY_CALLS = 4096  # internal calls remembered for their retried attempts


@dataclass(frozen=True)
class Decision:
    delay: float = 0.0
    error: Fault | None = None
    unprocessed: Fault | None = None
    fired: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.delay and self.error is None and self.unprocessed is None


NOTHING = Decision()


class Faults:
    def __init__(self, *, rng: random.Random | None = None) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = rng or random.Random()
        self._sticky: OrderedDict[str, Decision] = OrderedDict()

    def add(self, spec: Any) -> Fault:
        fault = parse(spec)
        with self._lock:
            self._faults.append(fault)
        return fault

    def all(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self, fault_id: str | None = None) -> list[Fault]:
        """Remove one fault, or all of them; returns what was removed."""
        with self._lock:
            if fault_id is None:
                removed, self._faults = self._faults, []
                self._sticky.clear()
                return removed
            for fault in self._faults:
                if fault.id == fault_id:
                    self._faults.remove(fault)
                    return [fault]
        raise UnknownFault(fault_id)

    def __bool__(self) -> bool:
        return bool(self._faults)

    def targets(self, service: str, operation: str) -> bool:
        """Whether a fault not yet spent is set on ``service``'s ``operation`` (a call made now may
        meet it)."""
        with self._lock:
            return any(fault.awaits(service, operation) for fault in self._faults)

    def decide(
        self, service: str, operation: str | None, *, call_id: str | None = None, retry: bool = False
    ) -> Decision:
        """What the call gets. ``call_id``/``retry``: an internal client's invocation id, and whether
        this attempt is a retry of it (see the module's docstring)."""
        if operation is None or not self._faults:
            return NOTHING
        with self._lock:
            if retry and call_id is not None and call_id in self._sticky:
                return self._sticky[call_id]
            delay = 0.0
            error = unprocessed = None
            fired = []
            for fault in self._faults:
                if not fault.awaits(service, operation):
                    continue
                if fault.probability is not None and self._rng.random() >= fault.probability:
                    continue
                fault.hits += 1
                if fault.count is not None:
                    fault.count -= 1
                fired.append(fault.id)
                delay += fault.delay
                if fault.unprocessed is not None and unprocessed is None:
                    unprocessed = fault
                if fault.error is not None:
                    error = fault
                    break  # the call ends here: later faults never see it
            decision = Decision(delay=delay, error=error, unprocessed=unprocessed, fired=tuple(fired))
            if call_id is not None and error is not None:
                self._sticky[call_id] = decision
                while len(self._sticky) > _STICKY_CALLS:
                    self._sticky.popitem(last=False)
            return decision

    def in_process(self, service: str, operation: str) -> Fault | None:
        """For a call that never crosses the endpoint (Step Functions starting a child execution
        for a ``states:startExecution`` task): wait out the faults' delay, then return the fault
        whose error answers the call, if any (the caller raises it as its service would)."""
        decision = self.decide(service, operation)
        if decision.delay:
            time.sleep(decision.delay)
        return decision.error
