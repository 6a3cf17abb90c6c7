"""StopExecution while a task's call is in flight, then RedriveExecution (docs/checks.md, Gaps 5).

A call that cannot be cancelled outlasts the stop's grace: StopExecution closes the execution
itself and the thread stays blocked in the call. When the call returns, after the execution was
redriven, that stale thread must leave the record alone: AWS drops a stopped execution's late
results, and the redrive "continues the failed execution from the unsuccessful step" (RedriveExecution,
Step Functions API Reference), here through a later Distributed Map whose Map Run must be the
redriven execution's. In-process, on both stores the host runs on: the interpreter's in-memory
one (the redrive reuses the record object) and localcloud's SQLite one after a checkpoint (the
redrive reads the record back as a new object: what ``sfn:describeMapRun`` failed on).
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from localcloud.asl import ExecutionHost, RealClock
from localcloud.asl import host as host_module
from localcloud.asl.store import ExecutionStore, InMemoryExecutionStore
from localcloud.state import Store
from localcloud.stepfunctions.executions import SqliteExecutionStore

SM_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Held"
FN = "arn:aws:lambda:us-east-1:123456789012:function:"
# A Task held mid-call, then a Distributed Map (as daily_rollup's queries, then its write branch).
DEFINITION = {
    "StartAt": "Hold",
    "States": {
        "Hold": {"Type": "Task", "Resource": FN + "hold", "ResultPath": None, "Next": "Write"},
        "Write": {
            "Type": "Map",
            "Label": "rows",
            "ItemsPath": "$.xs",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Double",
                "States": {
                    "Double": {
                        "Type": "Pass",
                        "Parameters": {"doubled.$": "States.MathAdd($, $)"},
                        "End": True,
                    }
                },
            },
            "End": True,
        },
    },
}
TIMEOUT = 10.0


class HeldLambda:
    """A Lambda client whose n-th call blocks until ``release(n)``."""

    def __init__(self) -> None:
        self.gates: list[threading.Event] = []
        self.entered: list[threading.Event] = [threading.Event() for _ in range(4)]
        self.returned: list[threading.Event] = [threading.Event() for _ in range(4)]
        self._lock = threading.Lock()

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            n = len(self.gates)
            self.gates.append(threading.Event())
        self.entered[n].set()
        assert self.gates[n].wait(TIMEOUT), f"call {n} was never released"
        self.returned[n].set()
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps("held").encode())}

    def release(self, n: int) -> None:
        while len(self.gates) <= n:
            time.sleep(0.01)
        self.gates[n].set()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.mark.parametrize("persistent", [False, True], ids=["in-memory", "sqlite"])
def test_a_redrive_after_a_stop_mid_call_runs_the_later_distributed_map_and_succeeds(
    persistent: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(host_module, "STOP_GRACE_SECONDS", 0.05)  # the call outlasts the grace
    lam = HeldLambda()
    sqlite = SqliteExecutionStore(Store(None)) if persistent else None
    store: ExecutionStore = sqlite if sqlite is not None else InMemoryExecutionStore()
    host = ExecutionHost(clock=RealClock(), client_factory=lambda service: lam, store=store)
    started = host.start_execution(DEFINITION, state_machine_arn=SM_ARN, input={"xs": [1, 2, 3]})
    arn = started.execution_arn
    assert lam.entered[0].wait(TIMEOUT)

    stopped = host.stop(arn, error="Held", cause="stopped mid-call")
    assert stopped.status == "ABORTED"
    assert host.wait(arn, TIMEOUT).status == "ABORTED"  # ended now, not when the call returns
    stale = [t for t in threading.enumerate() if t.name == f"execution-{started.name}"]
    if sqlite is not None:
        sqlite.checkpoint()  # the ended record is written and leaves the cache

    host.redrive(arn)
    assert lam.entered[1].wait(TIMEOUT)  # the redrive calls the unsuccessful Task again
    lam.release(0)  # the stopped run's call returns late, while the redriven run is in its Task
    for thread in stale:
        thread.join(TIMEOUT)
        assert not thread.is_alive()
    lam.release(1)

    wait_for(lambda: host.describe(arn).status != "RUNNING", "the redriven execution to end")
    ended = host.describe(arn)
    assert ended.status == "SUCCEEDED", (ended.error, ended.cause)
    assert ended.output == [{"doubled": 2}, {"doubled": 4}, {"doubled": 6}]
    types = [event["type"] for event in ended.history]
    aborted = types.index("ExecutionAborted")
    # Nothing of the stale run after the stop: the redrive follows the abort directly.
    assert types[aborted + 1] == "ExecutionRedriven"
    assert (types.count("ExecutionAborted"), types[-1]) == (1, "ExecutionSucceeded")
    assert [e["id"] for e in ended.history] == list(range(1, len(types) + 1))
    # The redriven execution's Map Run is found where DescribeMapRun looks for it.
    (map_run,) = host.list_map_runs(arn)
    assert host.describe_map_run(map_run.map_run_arn).status == "SUCCEEDED"
    assert map_run.execution_counts["succeeded"] == 3
    if sqlite is not None:
        summary = sqlite.summary(arn)
        assert summary is not None
        assert (summary["status"], summary["mapRuns"]) == ("SUCCEEDED", [map_run.map_run_arn])
