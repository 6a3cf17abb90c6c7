"""HeartbeatSeconds of a .waitForTaskToken task: when its clock starts, and the runtime errors of its
dynamic forms (HeartbeatSecondsPath, a JSONata HeartbeatSeconds). The heartbeats themselves, sent
in time or not, are conformance cases (task/task_heartbeat*); these tests check what the fixtures
cannot: the timestamps and the causes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from conftest import Harness, machine

CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"


def callback_task(**fields: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": CALLBACK,
        "Parameters": {"FunctionName": "worker", "Payload": {"token.$": "$$.Task.Token"}},
        "TimeoutSeconds": 100,
        **fields,
        "End": True,
    }


def event(record: Any, event_type: str) -> dict[str, Any]:
    return next(e for e in record.history if e["type"] == event_type)


def test_heartbeat_seconds_count_from_the_tasks_start_as_timeout_seconds_do(harness: Harness) -> None:
    def slow_worker_start(payload: Any) -> None:
        harness.clock.sleep(4)  # the invocation itself takes 4 s of the task's time

    harness.functions["worker"] = slow_worker_start
    record = harness.run(machine({"T": callback_task(HeartbeatSeconds=10)}), {})
    assert (record.status, record.error) == ("FAILED", "States.HeartbeatTimeout")
    started, timed_out = event(record, "TaskStarted"), event(record, "TaskTimedOut")
    assert event(record, "TaskSubmitted")["timestamp"] - started["timestamp"] == dt.timedelta(seconds=4)
    assert timed_out["timestamp"] - started["timestamp"] == dt.timedelta(seconds=10)
    assert timed_out["taskTimedOutEventDetails"]["error"] == "States.HeartbeatTimeout"
    assert timed_out["taskTimedOutEventDetails"]["cause"] == "Task heartbeat timed out."


@pytest.mark.parametrize("value", [0, -5, 2.5, "10", True, None])
def test_a_heartbeat_seconds_path_value_that_is_not_a_positive_integer_fails_naming_field_and_value(
    harness: Harness, value: Any
) -> None:
    harness.functions["worker"] = lambda payload: None
    definition = machine({"T": callback_task(HeartbeatSecondsPath="$.heartbeat")})
    record = harness.run(definition, {"heartbeat": value})
    assert (record.status, record.error) == ("FAILED", "States.Runtime")
    assert record.cause == (
        "An error occurred while executing the state 'T' (entered at the event id #2). "
        f"The value at '$.heartbeat' for the field 'HeartbeatSecondsPath' must be a positive integer, "
        f"got {value!r}"
    )
    assert harness.lambda_client.calls == []  # refused before the worker was called


@pytest.mark.parametrize("value", [0, -3, 1.5, "5", False])
def test_a_jsonata_heartbeat_seconds_that_is_not_a_positive_integer_is_a_query_evaluation_error(
    harness: Harness, value: Any
) -> None:
    harness.functions["worker"] = lambda payload: None
    task = callback_task(HeartbeatSeconds="{% $states.input.heartbeat %}")
    task["Arguments"] = {"FunctionName": "worker", "Payload": {"token": "{% $states.context.Task.Token %}"}}
    del task["Parameters"]
    record = harness.run(machine({"T": task}, QueryLanguage="JSONata"), {"heartbeat": value})
    assert (record.status, record.error) == ("FAILED", "States.QueryEvaluationError")
    assert record.cause == (
        "An error occurred while executing the state 'T' (entered at the event id #2). "
        f"The value for the field 'HeartbeatSeconds' must be a positive integer, got {value!r}"
    )
    assert harness.lambda_client.calls == []


def test_a_whole_number_given_as_a_float_is_a_valid_heartbeat(harness: Harness) -> None:
    harness.functions["worker"] = lambda payload: None
    definition = machine({"T": callback_task(HeartbeatSecondsPath="$.heartbeat")})
    record = harness.run(definition, {"heartbeat": 7.0})
    assert record.error == "States.HeartbeatTimeout"
    started, timed_out = event(record, "TaskStarted"), event(record, "TaskTimedOut")
    assert timed_out["timestamp"] - started["timestamp"] == dt.timedelta(seconds=7)
    assert event(record, "TaskScheduled")["taskScheduledEventDetails"]["heartbeatInSeconds"] == 7
