"""Distributed Map: child executions, Map Runs (describe, list, update while running), concurrency
on the virtual clock, thresholds, stop, timeout and redrive."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from conftest import SM_ARN, START, Harness, machine

from localcloud.asl import ExecutionHost, RealClock, VirtualClock, validate_definition
from localcloud.asl.distributed.map_run import MapRun, MapRunNotFound
from localcloud.asl.store import ExecutionRecord, InMemoryExecutionStore

CHILD_ARN = "arn:aws:states:us-east-1:123456789012:execution:Test/rows:"


def distributed(
    states: dict[str, Any], *, execution_type: str = "STANDARD", start: str | None = None, **fields: Any
) -> dict[str, Any]:
    """A machine whose only state is a Distributed Map over ``$.xs`` labelled ``rows``."""
    return machine(
        {
            "M": {
                "Type": "Map",
                "Label": "rows",
                "ItemsPath": "$.xs",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
                    "StartAt": start or next(iter(states)),
                    "States": states,
                },
                "End": True,
                **fields,
            }
        }
    )


PASS = {"P": {"Type": "Pass", "End": True}}
WAIT_10 = {"W": {"Type": "Wait", "Seconds": 10, "End": True}}


def seconds(record: ExecutionRecord) -> float:
    assert record.stop_date is not None
    return (record.stop_date - record.start_date).total_seconds()


def only_map_run(host: ExecutionHost, record: ExecutionRecord) -> MapRun:
    runs = host.list_map_runs(record.execution_arn)
    assert len(runs) == 1
    return runs[0]


def test_each_item_runs_as_a_child_execution_with_a_labelled_arn_and_its_own_history(
    harness: Harness,
) -> None:
    record = harness.run(distributed(PASS), {"xs": [1, 2]})
    assert record.status == "SUCCEEDED"
    assert record.output == [1, 2]
    assert harness.types(record) == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    run = only_map_run(harness.host, record)
    started = next(e for e in record.history if e["type"] == "MapRunStarted")
    assert started["mapRunStartedEventDetails"] == {"mapRunArn": run.map_run_arn}
    assert run.map_run_arn.startswith("arn:aws:states:us-east-1:123456789012:mapRun:Test/rows:")
    children = harness.host.list_executions(map_run_arn=run.map_run_arn)
    assert len(children) == 2
    for child in children:
        assert child.execution_arn == CHILD_ARN + child.name
        assert child.state_machine_arn == SM_ARN + "/rows"
        assert child.execution_type == "STANDARD"
        assert child.extra["map_run_arn"] == run.map_run_arn
        assert child.extra["item_count"] == 1
        assert harness.types(child) == [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded",
        ]
    assert sorted(child.input for child in children) == [1, 2]


def test_express_children_get_express_arns(harness: Harness) -> None:
    record = harness.run(distributed(PASS, execution_type="EXPRESS"), {"xs": ["a"]})
    run = only_map_run(harness.host, record)
    (child,) = harness.host.list_executions(map_run_arn=run.map_run_arn)
    assert child.execution_type == "EXPRESS"
    prefix = "arn:aws:states:us-east-1:123456789012:express:Test/rows:"
    assert child.execution_arn.startswith(prefix + child.name + ":")


def test_describe_map_run_reports_item_and_execution_counts(harness: Harness) -> None:
    record = harness.run(distributed(PASS, ToleratedFailurePercentage=10), {"xs": [1, 2, 3]})
    run = only_map_run(harness.host, record)
    described = harness.host.describe_map_run(run.map_run_arn).describe()
    assert described["status"] == "SUCCEEDED"
    assert described["executionArn"] == record.execution_arn
    assert described["startDate"] == START
    assert described["stopDate"] == START
    assert described["toleratedFailurePercentage"] == 10.0
    assert described["toleratedFailureCount"] == 0
    assert described["maxConcurrency"] == 0
    for counts in (described["itemCounts"], described["executionCounts"]):
        assert counts["succeeded"] == 3
        assert counts["total"] == 3
        assert counts["failed"] == counts["pending"] == counts["running"] == 0
    listed = run.list_item()
    assert listed["stateMachineArn"] == SM_ARN + "/rows"
    assert listed["mapRunArn"] == run.map_run_arn


def test_unknown_map_run_is_not_found(harness: Harness) -> None:
    with pytest.raises(MapRunNotFound):
        harness.host.describe_map_run("arn:aws:states:us-east-1:123456789012:mapRun:Test/rows:nope")


def test_max_concurrency_limits_children_running_at_once() -> None:
    limited, unlimited = Harness(), Harness()
    xs = {"xs": [1, 2, 3, 4, 5]}
    # Five 10-second children, two at a time: three rounds.
    assert seconds(limited.run(distributed(WAIT_10, MaxConcurrency=2), xs)) == 30
    assert seconds(unlimited.run(distributed(WAIT_10), xs)) == 10


def test_update_map_run_raises_concurrency_while_it_runs(harness: Harness) -> None:
    """The first child raises MaxConcurrency from 1 to 4: the other three start at once."""
    updates: list[str] = []

    def first(payload: Any) -> Any:
        if not updates:
            (run,) = [r for r in harness.host.store.list() for r in r.map_runs.values()]
            harness.host.update_map_run(run.map_run_arn, max_concurrency=4)
            updates.append(run.map_run_arn)
        return payload

    harness.functions["f"] = first
    states = {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 10, "End": True},
    }
    record = harness.run(distributed(states, MaxConcurrency=1), {"xs": [1, 2, 3, 4]})
    assert record.status == "SUCCEEDED"
    assert seconds(record) == 10  # not 40: all four ran together after the update
    assert harness.host.describe_map_run(updates[0]).max_concurrency == 4


def test_update_map_run_can_tolerate_a_failure_while_it_runs(harness: Harness) -> None:
    def tolerate(payload: Any) -> Any:
        (run,) = [r for r in harness.host.store.list() for r in r.map_runs.values()]
        harness.host.update_map_run(run.map_run_arn, tolerated_failure_count=1)
        raise ValueError("bad row")

    harness.functions["f"] = tolerate
    states = {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "End": True}
    }
    record = harness.run(distributed(states), {"xs": [1]})
    assert record.status == "SUCCEEDED"
    (entry,) = record.output
    assert entry["Status"] == "FAILED"
    assert entry["Error"] == "ValueError"


def test_update_map_run_rejects_values_out_of_range(harness: Harness) -> None:
    record = harness.run(distributed(PASS), {"xs": [1]})
    run = only_map_run(harness.host, record)
    with pytest.raises(ValueError, match="toleratedFailurePercentage"):
        harness.host.update_map_run(run.map_run_arn, tolerated_failure_percentage=101)
    with pytest.raises(ValueError, match="maxConcurrency"):
        harness.host.update_map_run(run.map_run_arn, max_concurrency=-1)


@pytest.mark.parametrize(
    ("count", "percentage", "failed", "total", "exceeded"),
    [
        (None, None, 0, 10, False),
        (None, None, 1, 10, True),  # by default no failure is tolerated
        (2, None, 2, 10, False),
        (2, None, 3, 10, True),
        (None, 20.0, 2, 10, False),
        (None, 20.0, 3, 10, True),
        (5, 10.0, 2, 10, True),  # either threshold fails the Map Run
        (None, 100.0, 10, 10, False),
    ],
)
def test_tolerated_failure_thresholds(
    count: int | None, percentage: float | None, failed: int, total: int, exceeded: bool
) -> None:
    run = MapRun(
        "arn",
        "exec",
        "sm",
        "label",
        START,
        tolerated_failure_count=count,
        tolerated_failure_percentage=percentage,
    )
    run.reset_counts([1] * total, ["FAILED"] * failed + ["SUCCEEDED"] * (total - failed))
    assert run.threshold_exceeded() is exceeded


def test_a_failed_map_run_starts_no_more_children_and_counts_them_pending(harness: Harness) -> None:
    harness.functions["f"] = lambda payload: (_ for _ in ()).throw(ValueError("no"))
    states = {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "End": True}
    }
    record = harness.run(distributed(states, MaxConcurrency=1), {"xs": [1, 2, 3, 4]})
    assert record.status == "FAILED"
    assert record.error == "States.ExceedToleratedFailureThreshold"
    assert len(harness.lambda_client.calls) == 1
    counts = only_map_run(harness.host, record).describe()["itemCounts"]
    assert (counts["failed"], counts["pending"], counts["total"]) == (1, 3, 4)
    assert harness.types(record)[-4:] == [
        "MapRunStarted",
        "MapRunFailed",
        "MapStateFailed",
        "ExecutionFailed",
    ]
    failed = next(e for e in record.history if e["type"] == "MapRunFailed")["mapRunFailedEventDetails"]
    assert failed["error"] == "States.ExceedToleratedFailureThreshold"


def test_parent_timeout_aborts_the_map_run_and_its_children(harness: Harness) -> None:
    record = harness.run(
        {**distributed({"W": {"Type": "Wait", "Seconds": 100, "End": True}}), "TimeoutSeconds": 5},
        {"xs": [1, 2]},
    )
    assert record.status == "TIMED_OUT"
    assert seconds(record) == 5
    run = only_map_run(harness.host, record)
    assert run.status == "ABORTED"
    assert "MapRunAborted" in harness.types(record)
    children = harness.host.list_executions(map_run_arn=run.map_run_arn)
    assert [child.status for child in children] == ["ABORTED", "ABORTED"]


def test_stop_aborts_the_map_run_and_its_children() -> None:
    host = ExecutionHost(clock=RealClock(), client_factory=lambda service: None)
    definition = distributed({"W": {"Type": "Wait", "Seconds": 60, "End": True}})
    record = host.start_execution(definition, state_machine_arn=SM_ARN, input={"xs": [1, 2, 3]})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        runs = host.list_map_runs(record.execution_arn)
        if runs and len(host.list_executions(map_run_arn=runs[0].map_run_arn, status="RUNNING")) == 3:
            break
        time.sleep(0.01)
    host.stop(record.execution_arn, error="Operator.Stop", cause="enough")
    assert record.status == "ABORTED"
    (run,) = host.list_map_runs(record.execution_arn)
    assert run.status == "ABORTED"
    types = [e["type"] for e in record.history]
    # The Map Run records its abort; the Map state, stopped with the execution, records nothing.
    assert types[-2:] == ["MapRunAborted", "ExecutionAborted"]
    assert "MapStateAborted" not in types
    children = host.list_executions(map_run_arn=run.map_run_arn)
    assert {child.status for child in children} == {"ABORTED"}


def test_redrive_reruns_only_unsuccessful_standard_children_under_their_own_arns(harness: Harness) -> None:
    outcomes = {1: ["ok"], 2: ["boom", "ok"]}

    def f(item: int) -> str:
        result = outcomes[item].pop(0)
        if result == "boom":
            raise RuntimeError("first attempt fails")
        return f"{result}-{item}"

    harness.functions["f"] = f
    states = {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "End": True}
    }
    record = harness.run(distributed(states, MaxConcurrency=1), {"xs": [1, 2]})
    assert record.status == "FAILED"
    run = only_map_run(harness.host, record)
    failed_child = next(
        c for c in harness.host.list_executions(map_run_arn=run.map_run_arn) if c.status == "FAILED"
    )

    harness.host.redrive(record.execution_arn, sync=True)
    assert record.status == "SUCCEEDED"
    assert record.output == ["ok-1", "ok-2"]
    assert [name for name, _ in harness.lambda_client.calls] == ["f", "f", "f"]  # item 1 ran once
    assert harness.host.list_map_runs(record.execution_arn) == [run]  # the same Map Run, redriven
    assert run.redrive_count == 1
    assert run.status == "SUCCEEDED"
    redriven = next(e for e in record.history if e["type"] == "MapRunRedriven")
    assert redriven["mapRunRedrivenEventDetails"] == {"mapRunArn": run.map_run_arn, "redriveCount": 1}
    child = harness.host.describe(failed_child.execution_arn)
    assert child.status == "SUCCEEDED"
    assert child.redrive_count == 1
    assert "ExecutionRedriven" in harness.types(child)


def test_redrive_restarts_failed_express_children_under_the_same_arn(harness: Harness) -> None:
    attempts: list[int] = []

    def f(item: int) -> int:
        attempts.append(item)
        if len(attempts) == 1:
            raise RuntimeError("first attempt fails")
        return item

    harness.functions["f"] = f
    states = {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "End": True}
    }
    record = harness.run(distributed(states, execution_type="EXPRESS"), {"xs": [7]})
    assert record.status == "FAILED"
    run = only_map_run(harness.host, record)
    (before,) = harness.host.list_executions(map_run_arn=run.map_run_arn)
    harness.host.redrive(record.execution_arn, sync=True)
    assert record.output == [7]
    (after,) = harness.host.list_executions(map_run_arn=run.map_run_arn)
    assert after.execution_arn == before.execution_arn
    assert after.status == "SUCCEEDED"
    assert after.redrive_count == 0  # a new start, not a RedriveExecution


def test_map_runs_survive_a_round_trip_through_json(harness: Harness) -> None:
    record = harness.run(distributed(PASS), {"xs": [1]})
    saved = ExecutionRecord.from_json(record.to_json())
    (run,) = saved.map_runs.values()
    assert run.describe() == only_map_run(harness.host, record).describe()
    store = InMemoryExecutionStore()
    store.put(saved)
    fresh = ExecutionHost(clock=VirtualClock(START), store=store)
    assert fresh.describe_map_run(run.map_run_arn).status == "SUCCEEDED"


def test_distributed_map_is_refused_in_an_express_workflow(harness: Harness) -> None:
    (problem,) = validate_definition(distributed(PASS), machine_type="EXPRESS")
    assert problem.path == "/States/M/ItemProcessor/ProcessorConfig/Mode"
    assert "Express workflows" in problem.message
    # Parsed without its type (as STANDARD), it still fails when it runs in an EXPRESS execution.
    machine = harness.host.parse(distributed(PASS))
    record = harness.host.start_execution(
        machine, state_machine_arn=SM_ARN, input={"xs": [1]}, execution_type="EXPRESS", sync=True
    )
    assert record.status == "FAILED"
    assert record.error == "States.Runtime"
    assert "Express workflows do not support" in (record.cause or "")


def test_retrying_a_distributed_map_starts_a_new_map_run(harness: Harness) -> None:
    harness.functions["f"] = lambda payload: (_ for _ in ()).throw(ValueError("always"))
    states = {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "End": True}
    }
    definition = distributed(
        states, Retry=[{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "MaxAttempts": 1}]
    )
    record = harness.run(definition, {"xs": [1]})
    assert record.status == "FAILED"
    runs = harness.host.list_map_runs(record.execution_arn)
    assert len(runs) == 2
    assert {run.status for run in runs} == {"FAILED"}
    assert runs[0].start_date - runs[1].start_date == dt.timedelta(seconds=1)


def test_a_map_run_cut_short_by_a_restart_is_redriven_with_its_children() -> None:
    """The endpoint marks what was RUNNING at a crash FAILED; redriving the parent then redrives the
    same Map Run, whose children were recorded as they started."""
    old = ExecutionHost(clock=RealClock(), client_factory=lambda service: None)
    definition = distributed({"W": {"Type": "Wait", "Seconds": 30, "End": True}})
    parent = old.start_execution(definition, state_machine_arn=SM_ARN, input={"xs": [1, 2]})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        runs = old.list_map_runs(parent.execution_arn)
        if runs and len(old.list_executions(map_run_arn=runs[0].map_run_arn, status="RUNNING")) == 2:
            break
        time.sleep(0.01)
    saved = [ExecutionRecord.from_json(r.to_json()) for r in old.store.list()]  # what a store kept
    old.stop(parent.execution_arn)
    store = InMemoryExecutionStore()
    now = dt.datetime.now(dt.UTC)
    for record in saved:
        if record.status == "RUNNING":  # the endpoint's restart hook
            record.status, record.error, record.cause = "FAILED", "States.Runtime", "localcloud restarted"
            record.stop_date = now
        store.put(record)
    clock = VirtualClock(now)
    host = ExecutionHost(clock=clock, client_factory=lambda service: None, store=store)
    redriven = host.redrive(parent.execution_arn, sync=True)
    assert redriven.status == "SUCCEEDED"
    assert redriven.output == [1, 2]
    (run,) = host.list_map_runs(parent.execution_arn)
    assert run.redrive_count == 1
    children = host.list_executions(map_run_arn=run.map_run_arn)
    assert len(children) == 2
    assert {(child.status, child.redrive_count) for child in children} == {("SUCCEEDED", 1)}
