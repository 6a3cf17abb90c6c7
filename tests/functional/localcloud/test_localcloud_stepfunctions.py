"""Step Functions on the endpoint: plain boto3 against a running localcloud."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud import control
from localcloud.launcher import RunningServer

ROLE = "arn:aws:iam::000000000000:role/localcloud-tests"
ACCOUNT_ARN = "arn:aws:states:us-east-1:000000000000"

APP = """
import boto3

def handler(event, context):
    if event.get("raise"):
        raise ValueError(event["raise"])
    if event.get("needs"):  # fails until the object exists: a fault an operator fixes, then redrives
        boto3.client("s3").head_object(Bucket="sfn-flags", Key=event["needs"])
    return {"seen": event}
"""


def pass_machine(result: Any = None) -> str:
    return json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result or {"ok": 1}, "End": True}}}
    )


def wait_machine(seconds: int) -> str:
    return json.dumps(
        {
            "StartAt": "W",
            "States": {
                "W": {"Type": "Wait", "Seconds": seconds, "Next": "P"},
                "P": {"Type": "Pass", "End": True},
            },
        }
    )


def lambda_task_machine(function_arn: str, catch: list[str] | None = None) -> str:
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
        "OutputPath": "$.Payload",
        "End": True,
    }
    states: dict[str, Any] = {"Call": task}
    if catch:
        task["Catch"] = [{"ErrorEquals": catch, "ResultPath": "$.caught", "Next": "Caught"}]
        states["Caught"] = {"Type": "Pass", "End": True}
    return json.dumps({"StartAt": "Call", "States": states})


@pytest.fixture(scope="module")
def sfn(client):  # type: ignore[no-untyped-def]
    return client("stepfunctions")


@pytest.fixture(scope="module")
def function_arn(client, zip_package) -> str:  # type: ignore[no-untyped-def]
    client("s3").create_bucket(Bucket="sfn-flags")
    created = client("lambda").create_function(
        FunctionName="sfn-app",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_package({"app.py": APP})},
    )
    return str(created["FunctionArn"])


def create(sfn: Any, name: str, definition: str, **extra: Any) -> str:
    return str(
        sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE, **extra)["stateMachineArn"]
    )


def finished(sfn: Any, arn: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


def test_an_invalid_definition_lists_every_problem_with_its_path(sfn) -> None:  # type: ignore[no-untyped-def]
    definition = json.dumps(
        {"StartAt": "Missing", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Bogus"}}}
    )
    with pytest.raises(ClientError) as raised:
        create(sfn, "invalid", definition)
    code, message = error_of(raised)
    assert code == "InvalidDefinition"
    assert message.startswith("Invalid State Machine Definition: '")
    for path in ("/StartAt", "/States/A/Next", "/States/B/Type"):
        assert f"at {path}" in message
    checked = sfn.validate_state_machine_definition(definition=definition)
    assert checked["result"] == "FAIL"
    assert {d["location"] for d in checked["diagnostics"]} >= {"/StartAt", "/States/A/Next", "/States/B/Type"}
    assert {d["code"] for d in checked["diagnostics"]} >= {"MISSING_TRANSITION_TARGET"}
    assert sfn.validate_state_machine_definition(definition=pass_machine())["result"] == "OK"


def test_an_express_machine_cannot_wait_for_a_job(sfn) -> None:  # type: ignore[no-untyped-def]
    definition = json.dumps(
        {
            "StartAt": "Run",
            "States": {
                "Run": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}},
                    "End": True,
                }
            },
        }
    )
    with pytest.raises(ClientError) as raised:
        create(sfn, "express-wait", definition, type="EXPRESS")
    code, message = error_of(raised)
    assert code == "InvalidDefinition"
    assert "Express workflows do not support" in message and "at /States/Run/Resource" in message


def test_create_is_idempotent_and_a_different_definition_under_the_name_is_refused(sfn) -> None:  # type: ignore[no-untyped-def]
    arn = create(sfn, "idem", pass_machine())
    assert create(sfn, "idem", pass_machine()) == arn
    with pytest.raises(ClientError) as raised:
        create(sfn, "idem", pass_machine({"other": 2}))
    assert error_of(raised) == ("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'")


def test_state_machines_are_described_updated_listed_and_deleted(sfn) -> None:  # type: ignore[no-untyped-def]
    logging = {"level": "ALL", "includeExecutionData": True, "destinations": []}
    arn = create(
        sfn, "lifecycle", pass_machine(), loggingConfiguration=logging, tracingConfiguration={"enabled": True}
    )
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert (described["name"], described["type"], described["status"]) == ("lifecycle", "STANDARD", "ACTIVE")
    assert described["loggingConfiguration"]["level"] == "ALL"
    assert described["tracingConfiguration"] == {"enabled": True}
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=pass_machine({"v": 2}))
    assert updated["revisionId"] != described["revisionId"]
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])["States"]["P"][
        "Result"
    ] == {"v": 2}
    assert arn in [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]]
    sfn.delete_state_machine(stateMachineArn=arn)
    with pytest.raises(ClientError) as raised:
        sfn.describe_state_machine(stateMachineArn=arn)
    assert error_of(raised) == ("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")


def test_start_execution_is_idempotent_on_name_and_input_while_running(sfn) -> None:  # type: ignore[no-untyped-def]
    arn = create(sfn, "idem-run", wait_machine(1))
    first = sfn.start_execution(stateMachineArn=arn, name="run-1", input='{"a": 1}')
    again = sfn.start_execution(stateMachineArn=arn, name="run-1", input='{"a": 1}')
    assert again["executionArn"] == first["executionArn"] == f"{ACCOUNT_ARN}:execution:idem-run:run-1"
    assert again["startDate"] == first["startDate"]
    with pytest.raises(ClientError) as raised:
        sfn.start_execution(stateMachineArn=arn, name="run-1", input='{"a": 2}')
    assert error_of(raised)[0] == "ExecutionAlreadyExists"
    assert finished(sfn, first["executionArn"])["status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as raised:  # closed: the name stays taken
        sfn.start_execution(stateMachineArn=arn, name="run-1", input='{"a": 1}')
    assert error_of(raised)[0] == "ExecutionAlreadyExists"
    with pytest.raises(ClientError) as raised:
        sfn.start_execution(stateMachineArn=arn, input="{not json")
    assert error_of(raised)[0] == "InvalidExecutionInput"


def test_a_lambda_raising_value_error_is_caught_by_a_catch_on_value_error(sfn, function_arn) -> None:  # type: ignore[no-untyped-def]
    arn = create(sfn, "catches", lambda_task_machine(function_arn, catch=["ValueError"]))
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"raise": "bad reading"}))
    described = finished(sfn, execution["executionArn"])
    assert described["status"] == "SUCCEEDED"
    caught = json.loads(described["output"])["caught"]
    assert caught["Error"] == "ValueError"
    assert json.loads(caught["Cause"])["errorMessage"] == "bad reading"
    assert json.loads(caught["Cause"])["errorType"] == "ValueError"


def test_history_pages_forwards_and_backwards_and_can_leave_out_data(sfn, function_arn) -> None:  # type: ignore[no-untyped-def]
    arn = create(sfn, "history", lambda_task_machine(function_arn))
    execution_arn = sfn.start_execution(stateMachineArn=arn, input='{"n": 1}')["executionArn"]
    assert finished(sfn, execution_arn)["status"] == "SUCCEEDED"
    whole = sfn.get_execution_history(executionArn=execution_arn)["events"]
    types = [e["type"] for e in whole]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert "TaskScheduled" in types and [e["id"] for e in whole] == list(range(1, len(whole) + 1))
    pages, token = [], None
    while True:
        kwargs = {"nextToken": token} if token else {}
        answer = sfn.get_execution_history(
            executionArn=execution_arn, maxResults=2, reverseOrder=True, **kwargs
        )
        pages.append([e["id"] for e in answer["events"]])
        token = answer.get("nextToken")
        if not token:
            break
    assert [i for p in pages for i in p] == list(range(len(whole), 0, -1)) and len(pages[0]) == 2
    bare = sfn.get_execution_history(executionArn=execution_arn, includeExecutionData=False)["events"]
    assert "input" not in bare[0]["executionStartedEventDetails"]
    assert whole[0]["executionStartedEventDetails"]["input"] == '{"n":1}'
    with pytest.raises(ClientError) as raised:
        sfn.get_execution_history(executionArn=execution_arn, nextToken="garbage")
    assert error_of(raised)[0] == "InvalidToken"


def test_list_executions_filters_by_status_and_redrive_and_pages(sfn) -> None:  # type: ignore[no-untyped-def]
    arn = create(sfn, "listing", pass_machine())
    arns = [sfn.start_execution(stateMachineArn=arn, name=f"l{i}")["executionArn"] for i in range(5)]
    for execution_arn in arns:
        finished(sfn, execution_arn)
    listed, token = [], None
    while True:
        kwargs = {"nextToken": token} if token else {}
        answer = sfn.list_executions(stateMachineArn=arn, maxResults=2, statusFilter="SUCCEEDED", **kwargs)
        listed.extend(e["executionArn"] for e in answer["executions"])
        token = answer.get("nextToken")
        if not token:
            break
    assert sorted(listed) == sorted(arns)
    assert sfn.list_executions(stateMachineArn=arn, statusFilter="FAILED")["executions"] == []
    assert sfn.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"] == []


def test_stop_ends_an_execution_aborted_with_the_callers_error(sfn) -> None:  # type: ignore[no-untyped-def]
    arn = create(sfn, "stoppable", wait_machine(300))
    execution_arn = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    stopped = sfn.stop_execution(executionArn=execution_arn, error="Operator.Stop", cause="not today")
    described = sfn.describe_execution(executionArn=execution_arn)
    assert described["status"] == "ABORTED" and described["stopDate"] == stopped["stopDate"]
    assert (described["error"], described["cause"]) == ("Operator.Stop", "not today")
    assert described["redriveStatus"] == "REDRIVABLE"


def test_a_failed_execution_is_redriven_from_the_failed_state_after_the_fault_is_fixed(  # type: ignore[no-untyped-def]
    sfn, client, function_arn
) -> None:
    arn = create(sfn, "redrivable", lambda_task_machine(function_arn))
    execution_arn = sfn.start_execution(stateMachineArn=arn, input='{"needs": "flag-1"}')["executionArn"]
    failed = finished(sfn, execution_arn)
    assert failed["status"] == "FAILED" and failed["redriveStatus"] == "REDRIVABLE"
    client("s3").put_object(Bucket="sfn-flags", Key="flag-1", Body=b"")
    redriven = sfn.redrive_execution(executionArn=execution_arn)
    described = finished(sfn, execution_arn)
    assert described["status"] == "SUCCEEDED"
    assert described["redriveCount"] == 1 and described["redriveDate"] == redriven["redriveDate"]
    assert json.loads(described["output"]) == {"seen": {"needs": "flag-1"}}
    types = [e["type"] for e in sfn.get_execution_history(executionArn=execution_arn)["events"]]
    assert types.count("ExecutionStarted") == 1 and "ExecutionRedriven" in types
    assert (
        sfn.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"][0]["executionArn"]
        == execution_arn
    )
    with pytest.raises(ClientError) as raised:
        sfn.redrive_execution(executionArn=execution_arn)
    assert error_of(raised) == ("ExecutionNotRedrivable", "Execution is SUCCEEDED and cannot be redriven")


def test_redrive_is_refused_past_fourteen_days_on_localclouds_clock(sfn, server: RunningServer) -> None:  # type: ignore[no-untyped-def]
    arn = create(
        sfn, "too-late", json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}})
    )
    execution_arn = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert finished(sfn, execution_arn)["status"] == "FAILED"
    now = dt.datetime.now(dt.UTC)
    try:
        control.set_clock(server.endpoint, now + dt.timedelta(days=15))
        described = sfn.describe_execution(executionArn=execution_arn)
        assert described["redriveStatus"] == "NOT_REDRIVABLE"
        assert described["redriveStatusReason"] == "Execution redrivable period exceeded"
        with pytest.raises(ClientError) as raised:
            sfn.redrive_execution(executionArn=execution_arn)
        assert error_of(raised) == ("ExecutionNotRedrivable", "Execution redrivable period exceeded")
    finally:
        control.reset_clock(server.endpoint)


def callback_machine(function_arn: str, heartbeat_seconds: int) -> str:
    return json.dumps(
        {
            "StartAt": "Ask",
            "States": {
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": function_arn, "Payload": {"token.$": "$$.Task.Token"}},
                    "HeartbeatSeconds": heartbeat_seconds,
                    "End": True,
                }
            },
        }
    )


def submitted_token(sfn: Any, execution_arn: str, timeout: float = 30) -> str:
    """The task token the function received, read off the TaskSubmitted event (its response)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in sfn.get_execution_history(executionArn=execution_arn)["events"]:
            if event["type"] == "TaskSubmitted":
                response = json.loads(event["taskSubmittedEventDetails"]["output"])
                return str(response["Payload"]["seen"]["token"])
        time.sleep(0.05)
    raise AssertionError(f"no TaskSubmitted in {execution_arn} after {timeout} s")


@contextmanager
def callback_on_a_frozen_clock(
    sfn: Any, server: RunningServer, machine_arn: str
) -> Iterator[tuple[str, str]]:
    """An execution of ``machine_arn`` waiting for its token, started with localcloud's clock frozen
    (so time moves only when the test advances it); the clock is real again afterwards."""
    control.set_clock(server.endpoint, dt.datetime(2030, 5, 1, tzinfo=dt.UTC), frozen=True)
    try:
        execution_arn = sfn.start_execution(stateMachineArn=machine_arn)["executionArn"]
        yield execution_arn, submitted_token(sfn, execution_arn)
    finally:
        control.reset_clock(server.endpoint)


def test_a_task_token_is_answered_with_send_task_success(sfn, function_arn) -> None:  # type: ignore[no-untyped-def]
    arn = create(sfn, "callback", callback_machine(function_arn, 60))
    execution_arn = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    token = submitted_token(sfn, execution_arn)
    sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output='{"approved": true}')
    assert json.loads(finished(sfn, execution_arn)["output"]) == {"approved": True}
    with pytest.raises(ClientError) as raised:
        sfn.send_task_failure(taskToken=token, error="E", cause="c")
    assert error_of(raised)[0] in ("TaskTimedOut", "TaskDoesNotExist")
    with pytest.raises(ClientError) as raised:
        sfn.send_task_success(taskToken="not-a-token", output="{}")
    assert error_of(raised)[0] == "TaskDoesNotExist"


def test_heartbeats_keep_a_callback_task_alive_past_heartbeat_seconds_on_localclouds_clock(  # type: ignore[no-untyped-def]
    sfn, function_arn, server: RunningServer
) -> None:
    machine_arn = create(sfn, "kept-alive", callback_machine(function_arn, 60))
    with callback_on_a_frozen_clock(sfn, server, machine_arn) as (execution_arn, token):
        for _ in range(3):  # 150 s in all, two and a half times HeartbeatSeconds
            control.advance_clock(server.endpoint, 50)
            sfn.send_task_heartbeat(taskToken=token)
            assert sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
        sfn.send_task_success(taskToken=token, output='{"approved": true}')
        described = finished(sfn, execution_arn)
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", {"approved": True})
    assert described["stopDate"] - described["startDate"] == dt.timedelta(seconds=150)


def test_without_heartbeats_a_callback_task_fails_once_the_clock_passes_heartbeat_seconds(  # type: ignore[no-untyped-def]
    sfn, function_arn, server: RunningServer
) -> None:
    machine_arn = create(sfn, "no-heartbeat", callback_machine(function_arn, 60))
    with callback_on_a_frozen_clock(sfn, server, machine_arn) as (execution_arn, token):
        control.advance_clock(server.endpoint, 59)
        assert sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
        control.advance_clock(server.endpoint, 2)
        described = finished(sfn, execution_arn)
    assert (described["status"], described["error"]) == ("FAILED", "States.HeartbeatTimeout")
    types = [e["type"] for e in sfn.get_execution_history(executionArn=execution_arn)["events"]]
    assert types[-2:] == ["TaskTimedOut", "ExecutionFailed"]
    with pytest.raises(ClientError) as raised:  # the worker's late heartbeat is refused
        sfn.send_task_heartbeat(taskToken=token)
    assert error_of(raised)[0] in ("TaskTimedOut", "TaskDoesNotExist")


def test_send_task_failure_fails_the_task_with_the_workers_error_and_cause(sfn, function_arn) -> None:  # type: ignore[no-untyped-def]
    arn = create(sfn, "worker-fails", callback_machine(function_arn, 60))
    execution_arn = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    token = submitted_token(sfn, execution_arn)
    sfn.send_task_failure(taskToken=token, error="Order.Rejected", cause="credit limit reached")
    described = finished(sfn, execution_arn)
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        "Order.Rejected",
        "credit limit reached",
    )
    failed = [
        e["taskFailedEventDetails"]
        for e in sfn.get_execution_history(executionArn=execution_arn)["events"]
        if e["type"] == "TaskFailed"
    ]
    assert [(f["error"], f["cause"]) for f in failed] == [("Order.Rejected", "credit limit reached")]


def test_start_sync_execution_runs_an_express_machine_to_its_end(client) -> None:  # type: ignore[no-untyped-def]
    # botocore puts "sync-" before the host of StartSyncExecution; an IP endpoint needs it off.
    sfn = client("stepfunctions", Config(inject_host_prefix=False))
    arn = create(sfn, "express", pass_machine({"fast": True}), type="EXPRESS")
    answer = sfn.start_sync_execution(stateMachineArn=arn, input="{}")
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"]) == {"fast": True}
    assert answer["executionArn"].startswith(f"{ACCOUNT_ARN}:express:express:")
    with pytest.raises(ClientError) as raised:
        sfn.list_executions(stateMachineArn=arn)
    assert error_of(raised)[0] == "StateMachineTypeNotSupported"
    standard = create(sfn, "not-express", pass_machine())
    with pytest.raises(ClientError) as raised:
        sfn.start_sync_execution(stateMachineArn=standard)
    assert error_of(raised)[0] == "StateMachineTypeNotSupported"


def test_every_step_functions_operation_accepts_the_aws_cli_request_shapes(sfn) -> None:  # type: ignore[no-untyped-def]
    arn = create(sfn, "shapes", pass_machine(), tags=[{"key": "team", "value": "meters"}])
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "local"}])
    sfn.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "local"}]
    execution_arn = sfn.start_execution(stateMachineArn=arn, name="shape-1", input="{}", traceHeader="t")[
        "executionArn"
    ]
    finished(sfn, execution_arn)
    for_execution = sfn.describe_state_machine_for_execution(executionArn=execution_arn)
    assert for_execution["stateMachineArn"] == arn and json.loads(for_execution["definition"]) == json.loads(
        pass_machine()
    )
    sfn.list_executions(stateMachineArn=arn, maxResults=1)
    sfn.get_execution_history(
        executionArn=execution_arn, maxResults=1, reverseOrder=False, includeExecutionData=True
    )
    sfn.stop_execution(executionArn=execution_arn)
    with pytest.raises(ClientError) as raised:
        sfn.describe_execution(executionArn=f"{ACCOUNT_ARN}:execution:shapes:nope")
    assert error_of(raised) == (
        "ExecutionDoesNotExist",
        f"Execution Does Not Exist: '{ACCOUNT_ARN}:execution:shapes:nope'",
    )
    with pytest.raises(ClientError) as raised:
        sfn.describe_execution(executionArn="not-an-arn")
    assert error_of(raised)[0] == "InvalidArn"
    with pytest.raises(ClientError) as raised:
        sfn.update_state_machine(stateMachineArn=arn)
    assert error_of(raised)[0] == "MissingRequiredParameter"


def test_map_runs_and_their_child_executions_are_visible_as_aws_shows_them(sfn) -> None:  # type: ignore[no-untyped-def]
    definition = json.dumps(
        {
            "StartAt": "Fan",
            "States": {
                "Fan": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "MaxConcurrency": 2,
                    "Label": "fan",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": "Double",
                        "States": {"Double": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                }
            },
        }
    )
    arn = create(sfn, "fan-out", definition)
    execution_arn = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": [1, 2, 3]}))[
        "executionArn"
    ]
    assert finished(sfn, execution_arn)["status"] == "SUCCEEDED"
    runs = sfn.list_map_runs(executionArn=execution_arn)["mapRuns"]
    assert len(runs) == 1 and runs[0]["executionArn"] == execution_arn
    map_run_arn = runs[0]["mapRunArn"]
    assert map_run_arn.startswith(f"{ACCOUNT_ARN}:mapRun:fan-out/fan:")
    described = sfn.describe_map_run(mapRunArn=map_run_arn)
    assert described["status"] == "SUCCEEDED" and described["maxConcurrency"] == 2
    assert described["itemCounts"]["succeeded"] == described["itemCounts"]["total"] == 3
    children = sfn.list_executions(mapRunArn=map_run_arn)["executions"]
    assert len(children) == 3 and {c["mapRunArn"] for c in children} == {map_run_arn}
    child = sfn.describe_execution(executionArn=children[0]["executionArn"])
    assert child["mapRunArn"] == map_run_arn and child["status"] == "SUCCEEDED"
    assert child["stateMachineArn"] == f"{arn}/fan"
    for_child = sfn.describe_state_machine_for_execution(executionArn=children[0]["executionArn"])
    assert (
        for_child["mapRunArn"] == map_run_arn and json.loads(for_child["definition"])["StartAt"] == "Double"
    )
    sfn.update_map_run(mapRunArn=map_run_arn, maxConcurrency=5, toleratedFailurePercentage=10)
    assert sfn.describe_map_run(mapRunArn=map_run_arn)["maxConcurrency"] == 5
    with pytest.raises(ClientError) as raised:
        sfn.describe_map_run(mapRunArn=map_run_arn + "x")
    assert error_of(raised)[0] == "ResourceNotFound"
