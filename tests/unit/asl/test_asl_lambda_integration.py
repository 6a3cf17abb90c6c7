from __future__ import annotations

import io
import json
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import Harness, machine

INVOKE = "arn:aws:states:::lambda:invoke"


class RecordingLambda:
    def __init__(self, response: Any) -> None:
        self.response = response
        self.kwargs: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> Any:
        self.kwargs.append(kwargs)
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


def run_with(harness: Harness, client: Any, definition: dict[str, Any], payload: Any = None) -> Any:
    harness.host.client_factory = lambda service: client
    return harness.run(definition, input=payload)


def test_invoke_sends_payload_as_json_and_returns_the_invoke_response(harness: Harness) -> None:
    client = RecordingLambda(
        {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": io.BytesIO(b'{"sum": 3}'),
            "ResponseMetadata": {
                "HTTPStatusCode": 200,
                "RequestId": "r-1",
                "HTTPHeaders": {"x-amz-executed-version": "$LATEST"},
            },
        }
    )
    definition = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": INVOKE,
                "Parameters": {
                    "FunctionName": "adder",
                    "Payload": {"a.$": "$.a", "b": 2},
                    "Qualifier": "live",
                },
                "End": True,
            }
        }
    )
    record = run_with(harness, client, definition, {"a": 1})
    assert record.status == "SUCCEEDED"
    assert client.kwargs == [{"FunctionName": "adder", "Payload": b'{"a":1,"b":2}', "Qualifier": "live"}]
    assert record.output["Payload"] == {"sum": 3}
    assert record.output["StatusCode"] == 200
    assert record.output["ExecutedVersion"] == "$LATEST"
    assert record.output["SdkResponseMetadata"] == {"RequestId": "r-1"}
    assert record.output["SdkHttpMetadata"]["HttpStatusCode"] == 200


def test_function_error_without_error_type_is_lambda_unknown(harness: Harness) -> None:
    client = RecordingLambda(
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": io.BytesIO(b'{"errorMessage": "out of memory"}'),
            "ResponseMetadata": {},
        }
    )
    definition = machine(
        {"T": {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "f"}, "End": True}}
    )
    record = run_with(harness, client, definition, {})
    assert (record.status, record.error) == ("FAILED", "Lambda.Unknown")
    assert json.loads(record.cause) == {"errorMessage": "out of memory"}


def test_service_errors_are_named_lambda_dot_code(harness: Harness) -> None:
    error = ClientError(
        {
            "Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 429, "RequestId": "r-9"},
        },
        "Invoke",
    )
    definition = machine(
        {"T": {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "f"}, "End": True}}
    )
    record = run_with(harness, RecordingLambda(error), definition, {})
    assert record.error == "Lambda.TooManyRequestsException"
    assert record.cause.startswith("Rate exceeded (Service: Lambda, Status Code: 429")


def test_unreachable_lambda_is_sdk_client_exception(harness: Harness) -> None:
    definition = machine(
        {"T": {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "f"}, "End": True}}
    )
    record = run_with(harness, RecordingLambda(ConnectionError("connection refused")), definition, {})
    assert record.error == "Lambda.SdkClientException"


def test_lambda_invoke_needs_function_name_at_definition_time(harness: Harness) -> None:
    from localcloud.asl import validate_definition

    problems = validate_definition(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": INVOKE,
                    "Parameters": {"Payload": {}, "Bogus": 1},
                    "End": True,
                }
            }
        )
    )
    assert sorted((p.path, "FunctionName" in p.message) for p in problems) == [
        ("/States/T/Parameters", True),
        ("/States/T/Parameters/Bogus", False),
    ]


def test_task_history_records_parameters_and_timeout(harness: Harness) -> None:
    harness.functions["f"] = lambda payload: {"echo": payload}
    definition = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": INVOKE,
                "TimeoutSeconds": 30,
                "Parameters": {"FunctionName": "f", "Payload": 1},
                "End": True,
            }
        }
    )
    record = harness.run(definition, input={})
    scheduled = next(e for e in record.history if e["type"] == "TaskScheduled")["taskScheduledEventDetails"]
    assert scheduled == {
        "resourceType": "lambda",
        "resource": "invoke",
        "region": "us-east-1",
        "parameters": '{"FunctionName":"f","Payload":1}',
        "timeoutInSeconds": 30,
    }
    succeeded = next(e for e in record.history if e["type"] == "TaskSucceeded")["taskSucceededEventDetails"]
    assert json.loads(succeeded["output"])["Payload"] == {"echo": 1}


def test_a_function_returning_null_has_a_null_payload(harness: Harness) -> None:
    harness.functions["f"] = lambda payload: None
    definition = machine(
        {"T": {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "f"}, "End": True}}
    )
    record = harness.run(definition, input={})
    assert "Payload" in record.output
    assert record.output["Payload"] is None


def test_wait_for_task_token_resumes_with_the_output_sent_by_send_task_success() -> None:
    import threading

    from localcloud.asl import ExecutionHost, RealClock

    issued: list[str] = []
    ready = threading.Event()
    client = RecordingLambda({"StatusCode": 202, "Payload": io.BytesIO(b""), "ResponseMetadata": {}})
    host = ExecutionHost(clock=RealClock(), client_factory=lambda service: client)

    def on_issue(waiter: Any) -> None:
        issued.append(waiter.token)
        ready.set()

    host.task_tokens.on_issue = on_issue
    definition = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": INVOKE + ".waitForTaskToken",
                "Parameters": {"FunctionName": "approver", "Payload": {"token.$": "$$.Task.Token"}},
                "ResultPath": "$.answer",
                "End": True,
            }
        }
    )
    record = host.start_execution(
        definition, state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:S", input={"q": 1}
    )
    assert ready.wait(5)
    sent = json.loads(client.kwargs[0]["Payload"])
    assert sent == {"token": issued[0]}
    host.send_task_success(issued[0], {"approved": True})
    final = host.wait(record.execution_arn, timeout=5)
    assert final.status == "SUCCEEDED"
    assert final.output == {"q": 1, "answer": {"approved": True}}
    types = [e["type"] for e in final.history]
    assert types[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]
    with pytest.raises(Exception, match="Invalid Token"):
        host.send_task_success(issued[0], {})


@pytest.mark.parametrize("resource", [INVOKE, "arn:aws:lambda:us-east-1:123456789012:function:slow"])
def test_a_lambda_task_in_flight_when_a_sibling_branch_fails_is_aborted_and_its_result_dropped(
    harness: Harness, resource: str
) -> None:
    started = threading.Event()

    def slow(payload: Any) -> Any:
        started.set()
        # Still running when the other branch fails: return only once it has.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
            "FailStateEntered" in [e["type"] for e in r.history] for r in harness.host.list_executions()
        ):
            time.sleep(0.01)
        return "too late"

    harness.functions["slow"] = slow
    harness.functions["gate"] = lambda payload: started.wait(5)
    fn = "arn:aws:lambda:us-east-1:123456789012:function:"
    work: dict[str, Any] = {"Type": "Task", "Resource": resource, "Next": "After"}
    if resource == INVOKE:
        work["Parameters"] = {"FunctionName": "slow"}
    branches = [
        {"StartAt": "Work", "States": {"Work": work, "After": {"Type": "Pass", "End": True}}},
        {
            "StartAt": "Gate",
            "States": {
                "Gate": {"Type": "Task", "Resource": fn + "gate", "Next": "Break"},
                "Break": {"Type": "Fail", "Error": "BranchBroke"},
            },
        },
    ]
    record = harness.run(machine({"P": {"Type": "Parallel", "Branches": branches, "End": True}}))
    assert (record.status, record.error) == ("FAILED", "BranchBroke")
    assert [name for name, _ in harness.lambda_client.calls].count("slow") == 1
    types = [e["type"] for e in record.history]
    assert types[-2:] == ["ParallelStateFailed", "ExecutionFailed"]
    prefix = "Task" if resource == INVOKE else "LambdaFunction"
    assert _branch_of(record, "Work") == [
        "TaskStateEntered",
        f"{prefix}Scheduled",
        f"{prefix}Started",
        "TaskStateAborted",  # not Succeeded: the function's late result is dropped
    ]


def _branch_of(record: Any, state: str) -> list[str]:
    """The types of the events that follow from ``state``'s entry, up to the Parallel's end."""
    events = record.history[: [e["type"] for e in record.history].index("ParallelStateFailed")]
    entered = next(e["id"] for e in events if (e.get("stateEnteredEventDetails") or {}).get("name") == state)
    chain = {entered}
    for event in events:
        if event["previousEventId"] in chain:
            chain.add(event["id"])
    return [e["type"] for e in events if e["id"] in chain]
