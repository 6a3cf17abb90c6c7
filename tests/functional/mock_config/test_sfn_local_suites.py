"""Suites written for Step Functions Local, run unchanged against localcloud started with
``SFN_MOCK_CONFIG``: state machines created by name, executions started on
``arn:aws:states:us-east-1:123456789012:stateMachine:<name>#<test case>`` (Step Functions Local's
account and region), results read from the history by the plain execution ARN.

- ``LambdaSQSIntegration``: AWS's own example of the guide's "Using mocked service integrations for
  testing in Step Functions Local" (its three test cases: HappyPath, RetryPath, HybridPath).
- ``LocalTesting``: a sales-lead workflow shaped like the aws-samples mock-config examples (a
  Parallel of Lambda checks, an AWS SDK Comprehend call retried on InternalServerException, DynamoDB,
  EventBridge), checked the way their pytest suite checks it.
- ``OrderBatch``: a Map whose iterations share the mocked state's invocation counter, and a
  ``.waitForTaskToken`` SNS task answered by its mock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

SUITE = Path(__file__).parent
ROLE = "arn:aws:iam::123456789012:role/DummyRole"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:{}"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:{}:{}"
VALID_INPUT = (SUITE / "valid_input.json").read_text(encoding="utf-8")


@pytest.fixture(scope="module", autouse=True)
def machines(sfn: Any, definition: Callable[[str], str]) -> None:
    for name, file in (
        ("LambdaSQSIntegration", "lambda_sqs_integration.asl.json"),
        ("LocalTesting", "local_testing.asl.json"),
        ("OrderBatch", "order_batch.asl.json"),
    ):
        sfn.create_state_machine(name=name, definition=definition(file), roleArn=ROLE)


def execute(sfn: Any, machine: str, test_case: str, name: str, input: str = "{}") -> list[dict[str, Any]]:
    """Start on ``<ARN>#<test case>`` and read the history until the execution ends, as the
    public suites do."""
    started = sfn.start_execution(
        name=name, stateMachineArn=MACHINE.format(machine) + "#" + test_case, input=input
    )
    assert started["executionArn"] == EXECUTION.format(machine, name)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        events: list[dict[str, Any]] = sfn.get_execution_history(executionArn=started["executionArn"])[
            "events"
        ]
        if events[-1]["type"] in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted"):
            return events
        time.sleep(0.05)
    raise AssertionError(f"{name} did not end")


def exited(events: list[dict[str, Any]], state: str) -> dict[str, Any] | None:
    return next(
        (
            e["stateExitedEventDetails"]
            for e in events
            if e["type"].endswith("StateExited") and e["stateExitedEventDetails"]["name"] == state
        ),
        None,
    )


# ---- AWS's example -------------------------------------------------------------------------------------


def test_happy_path_answers_both_tasks_from_their_mocks(sfn: Any) -> None:
    events = execute(sfn, "LambdaSQSIntegration", "HappyPath", "happyPath")
    assert events[-1]["type"] == "ExecutionSucceeded"
    assert json.loads(events[-1]["executionSucceededEventDetails"]["output"]) == {
        "MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51",
        "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51",
    }
    sqs_in = next(
        e["stateEnteredEventDetails"]["input"]
        for e in events
        if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == "SQSState"
    )
    assert json.loads(sqs_in) == {
        "StatusCode": 200,
        "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"},
    }
    succeeded = [e["taskSucceededEventDetails"] for e in events if e["type"] == "TaskSucceeded"]
    assert [(d["resourceType"], d["resource"]) for d in succeeded] == [
        ("lambda", "invoke"),
        ("sqs", "sendMessage"),
    ]


def test_retry_path_retries_through_the_numbered_responses(sfn: Any) -> None:
    events = execute(sfn, "LambdaSQSIntegration", "RetryPath", "retryPath")
    assert events[-1]["type"] == "ExecutionSucceeded"
    failures = [(e["taskFailedEventDetails"]["error"]) for e in events if e["type"] == "TaskFailed"]
    assert failures == [
        "Lambda.ResourceNotReadyException",
        "Lambda.TimeoutException",
        "Lambda.TimeoutException",
    ]


def test_hybrid_path_calls_the_unmocked_queue_which_localcloud_does_not_serve(sfn: Any) -> None:
    events = execute(sfn, "LambdaSQSIntegration", "HybridPath", "hybridPath")
    failed = events[-1]
    assert failed["type"] == "ExecutionFailed"
    assert failed["executionFailedEventDetails"]["error"] == "SQS.SdkClientException"
    assert "localcloud does not emulate Amazon SQS" in failed["executionFailedEventDetails"]["cause"]


# ---- the sales-lead suite ---------------------------------------------------------------------------------


def test_happy_path_ends_in_customer_added_to_follow_up(sfn: Any) -> None:
    events = execute(sfn, "LocalTesting", "HappyPathTest", "happyPathExecution", VALID_INPUT)
    details = exited(events, "CustomerAddedToFollowup")
    assert details is not None
    assert json.loads(details["output"]) == {
        "Entries": [{"EventId": "11710aed-b79e-4468-a20b-bb3c0c3b4860"}],
        "FailedEntryCount": 0,
    }


def test_negative_sentiment_notifies_instead(sfn: Any) -> None:
    events = execute(sfn, "LocalTesting", "NegativeSentimentTest", "negativeSentimentExecution", VALID_INPUT)
    assert exited(events, "NegativeSentimentDetected") is not None
    assert exited(events, "Add to FollowUp") is None


def test_a_custom_validation_error_is_caught_with_its_cause(sfn: Any) -> None:
    events = execute(sfn, "LocalTesting", "CustomValidationFailedCatchTest", "catchCustomError", VALID_INPUT)
    entered = next(
        e["stateEnteredEventDetails"]
        for e in events
        if e["type"] == "TaskStateEntered"
        and e["stateEnteredEventDetails"]["name"] == "CustomValidationFailed"
    )
    assert json.loads(entered["input"])["errorInfo"] == {
        "Error": "CustomValidationError",
        "Cause": "Check Identity Validation Failed",
    }


def test_any_other_validation_error_takes_the_generic_catch(sfn: Any) -> None:
    events = execute(sfn, "LocalTesting", "ValidationExceptionCatchTest", "runtimeException", VALID_INPUT)
    assert exited(events, "ValidationException") is not None


def test_three_service_exceptions_are_retried_until_the_fourth_attempt_succeeds(sfn: Any) -> None:
    events = execute(sfn, "LocalTesting", "RetryOnServiceExceptionTest", "retryExecution", VALID_INPUT)
    results = [
        e
        for e in events
        if (e["type"] == "TaskFailed" and e["taskFailedEventDetails"]["error"] == "InternalServerException")
        or (
            e["type"] == "TaskSucceeded"
            and e["taskSucceededEventDetails"]["resource"] == "comprehend:detectSentiment"
        )
    ]
    assert [e["type"] for e in results] == ["TaskFailed", "TaskFailed", "TaskFailed", "TaskSucceeded"]
    assert results[-1]["taskSucceededEventDetails"]["resourceType"] == "aws-sdk"
    assert exited(events, "CustomerAddedToFollowup") is not None


# ---- a Map and a callback ----------


def test_map_iterations_take_successive_responses_and_a_callback_is_answered(sfn: Any) -> None:
    orders = json.dumps({"orders": [{"id": 1}, {"id": 2}, {"id": 3}]})
    events = execute(sfn, "OrderBatch", "SecondOrderFails", "batch", orders)
    assert events[-1]["type"] == "ExecutionSucceeded"
    assert json.loads(events[-1]["executionSucceededEventDetails"]["output"]) == {"acknowledged": True}
    map_output = json.loads((exited(events, "Orders") or {})["output"])
    assert map_output == [
        {"status": 200},
        {"error": "Lambda.AWSLambdaException"},
        {"error": "Lambda.AWSLambdaException"},
    ]
    notify = next(e["taskScheduledEventDetails"] for e in events if e["type"] == "TaskScheduled")
    assert notify["resource"] == "invoke"  # the first TaskScheduled is the Map's first Lambda call
    submitted = [e for e in events if e["type"] == "TaskSubmitted"]
    assert len(submitted) == 1


# ---- choosing test cases ----------


def test_an_unknown_test_case_is_refused_naming_it(sfn: Any) -> None:
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=MACHINE.format("LambdaSQSIntegration") + "#NoSuchTest")
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("No mock map found for test NoSuchTest")
    assert "(its test cases: HappyPath, HybridPath, RetryPath)" in error["Message"]


def test_a_bare_hash_runs_without_mocks(sfn: Any) -> None:
    started = sfn.start_execution(
        stateMachineArn=MACHINE.format("OrderBatch") + "#", name="unmocked", input='{"orders": []}'
    )
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=started["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert described["stateMachineArn"] == MACHINE.format("OrderBatch")
    # No mocks: the SNS task calls localcloud's SNS, where no topic "orders" exists.
    assert (described["status"], described["error"]) == ("FAILED", "SNS.NotFoundException")
    assert "(Service: AmazonSNS; Status Code: 404; Error Code: NotFound;" in described["cause"]


def test_sync_executions_take_test_cases_too(sfn_local: Any, definition: Callable[[str], str]) -> None:
    # StartSyncExecution's endpoint has a host prefix ("sync-"), which a local endpoint cannot take.
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=sfn_local.endpoint,
        region_name="us-east-1",
        config=Config(inject_host_prefix=False),
    )
    sfn.create_state_machine(
        name="LambdaSQSIntegrationExpress",
        definition=definition("lambda_sqs_integration.asl.json"),
        roleArn=ROLE,
        type="EXPRESS",
    )
    config = json.loads((SUITE / "MockConfigFile.json").read_text())
    assert "LambdaSQSIntegrationExpress" not in config["StateMachines"]
    with pytest.raises(ClientError, match="No mock map found for test HappyPath"):
        sfn.start_sync_execution(stateMachineArn=MACHINE.format("LambdaSQSIntegrationExpress") + "#HappyPath")
