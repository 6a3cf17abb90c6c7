from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from conftest import SM_ARN, START, Harness, machine

from localcloud.asl import ExecutionNotRedrivable

FN = "arn:aws:lambda:us-east-1:123456789012:function:"


def flaky(failures: int, error: type[Exception] = ValueError) -> Any:
    calls = {"n": 0}

    def fn(payload: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= failures:
            raise error(f"failure {calls['n']}")
        return {"ok": calls["n"]}

    return fn


def test_retry_waits_interval_times_backoff_on_the_virtual_clock(harness: Harness) -> None:
    harness.functions["f"] = flaky(3)
    record = harness.run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": FN + "f",
                    "Retry": [
                        {
                            "ErrorEquals": ["ValueError"],
                            "IntervalSeconds": 2,
                            "BackoffRate": 3,
                            "MaxAttempts": 3,
                        }
                    ],
                    "End": True,
                }
            }
        )
    )
    assert record.status == "SUCCEEDED"
    assert record.output == {"ok": 4}
    # 2 + 6 + 18 seconds of back-off, computed independently of the interpreter.
    assert record.stop_date - record.start_date == dt.timedelta(seconds=2 + 2 * 3 + 2 * 9)


def test_max_delay_caps_the_backoff(harness: Harness) -> None:
    harness.functions["f"] = flaky(3)
    record = harness.run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": FN + "f",
                    "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "MaxDelaySeconds": 15}],
                    "End": True,
                }
            }
        )
    )
    assert record.stop_date - record.start_date == dt.timedelta(seconds=10 + 15 + 15)


def test_first_matching_retrier_decides_even_when_exhausted(harness: Harness) -> None:
    harness.functions["f"] = flaky(5)
    record = harness.run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": FN + "f",
                    "Retry": [
                        {"ErrorEquals": ["ValueError"], "MaxAttempts": 1, "IntervalSeconds": 1},
                        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 10, "IntervalSeconds": 1},
                    ],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                    "End": True,
                },
                "Caught": {"Type": "Pass", "End": True},
            }
        ),
        input={"in": 1},
    )
    assert record.status == "SUCCEEDED"
    assert len(harness.lambda_client.calls) == 2
    assert record.output["in"] == 1
    assert record.output["error"]["Error"] == "ValueError"


def test_task_failed_matches_function_errors_but_runtime_errors_are_never_caught(harness: Harness) -> None:
    harness.functions["f"] = flaky(1)
    caught = harness.run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": FN + "f",
                    "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "C"}],
                    "End": True,
                },
                "C": {"Type": "Pass", "End": True},
            }
        )
    )
    assert caught.status == "SUCCEEDED"
    assert caught.output["Error"] == "ValueError"
    runtime = harness.run(
        machine(
            {
                "P": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "X",
                            "States": {"X": {"Type": "Pass", "InputPath": "$.nope", "End": True}},
                        }
                    ],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}],
                    "End": True,
                },
                "C": {"Type": "Pass", "End": True},
            }
        ),
        input={},
    )
    assert runtime.status == "FAILED"
    assert runtime.error == "States.Runtime"
    assert runtime.cause.startswith(
        "An error occurred while executing the state 'X' (entered at the event id #"
    )


def test_parallel_failure_cancels_the_other_branches(harness: Harness) -> None:
    record = harness.run(
        machine(
            {
                "P": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "Slow",
                            "States": {
                                "Slow": {"Type": "Wait", "Seconds": 100, "Next": "After"},
                                "After": {"Type": "Pass", "End": True},
                            },
                        },
                        {
                            "StartAt": "Boom",
                            "States": {"Boom": {"Type": "Fail", "Error": "Custom", "Cause": "why"}},
                        },
                    ],
                    "End": True,
                }
            }
        )
    )
    assert record.status == "FAILED"
    assert (record.error, record.cause) == ("Custom", "why")
    types = harness.types(record)
    assert "ParallelStateFailed" in types
    assert "WaitStateExited" not in types
    assert record.stop_date == START  # the failure did not wait for the 100 s Wait


def test_map_max_concurrency_bounds_virtual_elapsed_time(harness: Harness) -> None:
    definition = machine(
        {
            "M": {
                "Type": "Map",
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "StartAt": "W",
                    "States": {"W": {"Type": "Wait", "Seconds": 10, "End": True}},
                },
                "End": True,
            }
        }
    )
    record = harness.run(definition, input=[1, 2, 3, 4, 5])
    assert record.status == "SUCCEEDED"
    assert record.output == [1, 2, 3, 4, 5]
    # Five 10 s iterations, two at a time: three rounds.
    assert record.stop_date - record.start_date == dt.timedelta(seconds=30)


def test_map_item_selector_sees_index_and_value(harness: Harness) -> None:
    record = harness.run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "k.$": "$.key"},
                    "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                    "ResultPath": "$.out",
                    "End": True,
                }
            }
        ),
        input={"items": ["a", "b"], "key": 7},
    )
    assert record.output["out"] == [{"i": 0, "v": "a", "k": 7}, {"i": 1, "v": "b", "k": 7}]


def test_variables_assigned_are_visible_later_and_assign_reads_old_values(harness: Harness) -> None:
    record = harness.run(
        machine(
            {
                "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
                "B": {
                    "Type": "Pass",
                    "Assign": {"x": "{% $x + 1 %}", "old": "{% $x %}"},
                    "Output": {"seen": "{% $x %}"},
                    "QueryLanguage": "JSONata",
                    "Next": "C",
                },
                "C": {"Type": "Pass", "Parameters": {"x.$": "$x", "old.$": "$old"}, "End": True},
            }
        ),
        input={},
    )
    assert record.status == "SUCCEEDED", record.cause
    assert record.output == {"x": 2, "old": 1}
    exited = [e for e in record.history if e["type"] == "PassStateExited"][1]
    assert exited["stateExitedEventDetails"]["assignedVariables"] == {"x": "2", "old": "1"}


def test_inner_scopes_read_outer_variables_without_changing_them(harness: Harness) -> None:
    record = harness.run(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Assign": {"x": 10}, "Next": "M"},
                "M": {
                    "Type": "Map",
                    "Items": [1, 2],
                    "ItemProcessor": {
                        "StartAt": "In",
                        "States": {
                            "In": {
                                "Type": "Pass",
                                "Assign": {"y": "{% $x + $states.input %}"},
                                "Output": "{% $x + $states.input %}",
                                "End": True,
                            }
                        },
                    },
                    "Next": "After",
                },
                "After": {
                    "Type": "Pass",
                    "Output": {"x": "{% $x %}", "r": "{% $states.input %}"},
                    "End": True,
                },
            },
        }
    )
    assert record.status == "SUCCEEDED", record.cause
    assert record.output == {"x": 10, "r": [11, 12]}


def test_execution_timeout_ends_timed_out(harness: Harness) -> None:
    record = harness.run(machine({"W": {"Type": "Wait", "Seconds": 3600, "End": True}}, TimeoutSeconds=60))
    assert record.status == "TIMED_OUT"
    assert record.error == "States.Timeout"
    assert record.stop_date - record.start_date == dt.timedelta(seconds=60)
    assert harness.types(record)[-1] == "ExecutionTimedOut"


def test_redrive_reruns_only_failed_map_iterations_with_the_same_input(harness: Harness) -> None:
    seen: list[Any] = []
    broken = {"on": True}

    def work(payload: Any) -> Any:
        seen.append(payload)
        if payload == 2 and broken["on"]:
            raise RuntimeError("item 2 broke")
        return payload * 10

    harness.functions["work"] = work
    definition = machine(
        {
            "Start": {"Type": "Pass", "Next": "M"},
            "M": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "StartAt": "T",
                    "States": {"T": {"Type": "Task", "Resource": FN + "work", "End": True}},
                },
                "End": True,
            },
        }
    )
    record = harness.run(definition, input=[1, 2, 3])
    assert record.status == "FAILED"
    assert record.error == "RuntimeError"
    assert seen == [1, 2]
    broken["on"] = False
    seen.clear()
    record = harness.host.redrive(record.execution_arn, sync=True)
    assert record.status == "SUCCEEDED", record.cause
    assert record.output == [10, 20, 30]
    assert seen == [2, 3]  # item 1 succeeded the first time and is not run again
    assert record.redrive_count == 1
    types = harness.types(record)
    assert types.count("ExecutionRedriven") == 1
    assert types.index("ExecutionRedriven") > types.index("ExecutionFailed")


def test_redrive_restores_variables_and_skips_succeeded_branches(harness: Harness) -> None:
    calls = {"a": 0, "b": 0}

    def a(payload: Any) -> Any:
        calls["a"] += 1
        return "A"

    def b(payload: Any) -> Any:
        calls["b"] += 1
        if calls["b"] == 1:
            raise KeyError("first time")
        return "B"

    harness.functions.update({"a": a, "b": b})
    definition = machine(
        {
            "V": {"Type": "Pass", "Assign": {"v": 5}, "Next": "P"},
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": FN + "a", "End": True}}},
                    {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": FN + "b", "End": True}}},
                ],
                "Next": "Out",
            },
            "Out": {"Type": "Pass", "Parameters": {"r.$": "$", "v.$": "$v"}, "End": True},
        }
    )
    record = harness.run(definition, input={})
    assert record.status == "FAILED"
    record = harness.host.redrive(record.execution_arn, sync=True)
    assert record.status == "SUCCEEDED", record.cause
    assert record.output == {"r": ["A", "B"], "v": 5}
    assert calls == {"a": 1, "b": 2}


def test_only_unsuccessful_standard_executions_can_be_redriven(harness: Harness) -> None:
    ok = harness.run(machine({"P": {"Type": "Pass", "End": True}}))
    with pytest.raises(ExecutionNotRedrivable, match="SUCCEEDED"):
        harness.host.redrive(ok.execution_arn)
    failed = harness.run(machine({"F": {"Type": "Fail", "Error": "E"}}), execution_type="EXPRESS")
    with pytest.raises(ExecutionNotRedrivable, match="EXPRESS"):
        harness.host.redrive(failed.execution_arn)
    old = harness.run(machine({"F": {"Type": "Fail", "Error": "E"}}))
    harness.clock.advance(15 * 24 * 3600)
    with pytest.raises(ExecutionNotRedrivable, match=r"^Execution redrivable period exceeded$"):
        harness.host.redrive(old.execution_arn)


def test_stop_aborts_a_background_execution_and_it_can_be_redriven(harness: Harness) -> None:
    gate = threading.Event()

    def blocking(payload: Any) -> Any:
        gate.wait(5)
        return "done"

    harness.functions["block"] = blocking
    definition = machine(
        {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "T",
                        "States": {"T": {"Type": "Task", "Resource": FN + "block", "End": True}},
                    },
                    {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": True}}},
                ],
                "End": True,
            }
        }
    )
    record = harness.host.start_execution(
        definition, state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:S", input={}
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (
        harness.lambda_client.calls
        and "WaitStateEntered" in harness.types(harness.host.describe(record.execution_arn))
    ):
        time.sleep(0.01)

    def release_once_stopping() -> None:
        """The blocked call returns while stop waits for the unwinding (stop marks the record first)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "stop" not in record.extra:
            time.sleep(0.01)
        gate.set()

    threading.Thread(target=release_once_stopping, daemon=True).start()
    stopped = harness.host.stop(record.execution_arn, error="Why", cause="operator")
    assert stopped.status == "ABORTED"
    assert (stopped.error, stopped.cause) == ("Why", "operator")
    types = harness.types(stopped)
    # As on AWS, a stop records ExecutionAborted alone: the running states record neither their
    # exit nor an abort, and the Lambda call's late result is dropped.
    assert [t for t in types if t.endswith(("StateExited", "StateAborted", "Succeeded"))] == []
    assert types[-1] == "ExecutionAborted"
    assert types.count("ExecutionAborted") == 1
    assert stopped.stop_date == START  # the virtual clock never moved: a participant was busy
    again = harness.host.redrive(record.execution_arn, sync=True)
    assert again.status == "SUCCEEDED"
    assert again.output == ["done", {}]


def _waiting_map(processor_states: dict[str, Any]) -> dict[str, Any]:
    processor = {"StartAt": next(iter(processor_states)), "States": processor_states}
    return machine({"M": {"Type": "Map", "MaxConcurrency": 2, "ItemProcessor": processor, "End": True}})


def test_a_failing_iteration_aborts_the_iterations_still_running(harness: Harness) -> None:
    record = harness.run(
        _waiting_map(
            {
                "Which": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Boom"}],
                    "Default": "Hold",
                },
                "Hold": {"Type": "Wait", "Seconds": 100, "End": True},
                "Boom": {"Type": "Fail", "Error": "Custom"},
            }
        ),
        input=[1, 2],
    )
    assert (record.status, record.error) == ("FAILED", "Custom")
    types = harness.types(record)
    assert types.count("WaitStateAborted") == 1
    assert types.count("MapIterationAborted") == 1
    assert types.count("MapIterationFailed") == 1


def test_a_stop_records_nothing_for_the_iterations_still_running(harness: Harness) -> None:
    definition = _waiting_map({"Hold": {"Type": "Wait", "Seconds": 100, "End": True}})

    def stop_after_ten_seconds() -> None:
        harness.clock.sleep(10)
        harness.host.stop(record.execution_arn, error="Why", cause="operator")

    with harness.clock.participant():  # time stands still until the stopper takes part too
        record = harness.host.start_execution(definition, state_machine_arn=SM_ARN, input=[1, 2])
        stopper = threading.Thread(target=harness.clock.bind_participant(stop_after_ten_seconds))
        stopper.start()
    stopper.join(5)
    stopped = harness.host.wait(record.execution_arn, timeout=5)
    assert (stopped.status, stopped.error, stopped.cause) == ("ABORTED", "Why", "operator")
    assert stopped.stop_date == START + dt.timedelta(seconds=10)
    types = harness.types(stopped)
    assert types.count("MapIterationStarted") == 2 and types.count("WaitStateEntered") == 2
    assert [t for t in types if t.endswith(("Aborted", "Exited", "Succeeded"))] == ["ExecutionAborted"]


def test_history_without_execution_data_drops_inputs_and_outputs(harness: Harness) -> None:
    record = harness.run(
        machine({"P": {"Type": "Pass", "Result": {"secret": 1}, "End": True}}), input={"pin": 1234}
    )
    full = harness.host.history(record.execution_arn)
    bare = harness.host.history(record.execution_arn, include_execution_data=False, reverse=True)
    assert full[0]["executionStartedEventDetails"]["input"] == '{"pin":1234}'
    assert "input" not in bare[-1]["executionStartedEventDetails"]
    assert "output" not in bare[0]["executionSucceededEventDetails"]
    assert [e["id"] for e in bare] == [4, 3, 2, 1]
    assert [e["previousEventId"] for e in full] == [0, 1, 2, 3]


def test_execution_records_round_trip_through_json(harness: Harness) -> None:
    import json

    from localcloud.asl import ExecutionRecord

    record = harness.run(machine({"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}), input={"a": [1]})
    data = json.loads(json.dumps(record.to_json()))
    back = ExecutionRecord.from_json(data)
    assert (back.status, back.error, back.cause, back.input) == ("FAILED", "E", "C", {"a": [1]})
    assert back.history[0]["timestamp"] == record.history[0]["timestamp"]


def test_context_timestamps_drop_trailing_fraction_zeros(harness: Harness) -> None:
    record = harness.run(
        machine(
            {
                "W": {"Type": "Wait", "Seconds": 2, "Next": "P"},
                "P": {
                    "Type": "Pass",
                    "Parameters": {"start.$": "$$.Execution.StartTime", "at.$": "$$.State.EnteredTime"},
                    "End": True,
                },
            }
        ),
        input={},
    )
    assert record.output == {"start": "2024-01-01T00:00:00Z", "at": "2024-01-01T00:00:02Z"}


def test_a_restarted_host_recovers_running_executions_from_their_saved_progress(harness: Harness) -> None:
    import json

    from localcloud.asl import ExecutionHost, ExecutionRecord, InMemoryExecutionStore

    definition = machine(
        {
            "A": {"Type": "Pass", "Result": {"step": "a"}, "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"from.$": "$.step"}, "End": True},
        }
    )
    record = harness.run(definition, input={})
    # What a persistent store held when the process died while B was about to run:
    saved = json.loads(json.dumps(record.to_json()))
    saved["status"] = "RUNNING"
    saved["stop_date"] = saved["output"] = None
    saved["history"] = saved["history"][:3]  # ExecutionStarted, PassStateEntered, PassStateExited
    saved["progress"] = {"state": "B", "input": {"step": "a"}, "vars": {}}
    store = InMemoryExecutionStore()
    store.put(ExecutionRecord.from_json(saved))
    restarted = ExecutionHost(clock=harness.clock, store=store, client_factory=lambda service: None)
    assert restarted.recover() == [record.execution_arn]
    final = restarted.wait(record.execution_arn, timeout=5)
    assert final.status == "SUCCEEDED"
    assert final.output == {"from": "a"}
    assert [e["type"] for e in final.history] == [
        "ExecutionStarted", "PassStateEntered", "PassStateExited", "PassStateEntered", "PassStateExited",
        "ExecutionSucceeded",
    ]  # fmt: skip
