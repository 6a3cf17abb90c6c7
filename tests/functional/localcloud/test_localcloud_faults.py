"""Faults on a running localcloud: AWS's status and error shape in each protocol, unprocessed batch
items, and a fault applying wherever the call comes from (an SDK client, a state machine's
integrations, a Lambda function's own SDK calls)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from endpoint_support import ROLE, create_function

from localcloud import control, launcher
from localcloud.launcher import RunningServer

ONCE = Config(retries={"mode": "standard", "total_max_attempts": 1})  # no retry: see each answer


@pytest.fixture(autouse=True)
def no_faults(server: RunningServer) -> Iterator[None]:
    control.clear_faults(server.endpoint)
    yield
    control.clear_faults(server.endpoint)


def _error(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as error:
        call()
    return {
        "code": error.value.response["Error"]["Code"],
        "status": error.value.response["ResponseMetadata"]["HTTPStatusCode"],
        "message": error.value.response["Error"]["Message"],
    }


@pytest.mark.parametrize(
    ("service", "operation", "code", "status", "client_name", "method"),
    [
        ("dynamodb", "ListTables", "ThrottlingException", 400, "dynamodb", "list_tables"),
        ("lambda", "ListFunctions", "ServiceException", 500, "lambda", "list_functions"),
        ("lambda", "ListFunctions", "TooManyRequestsException", 429, "lambda", "list_functions"),
        ("s3", "ListBuckets", "SlowDown", 503, "s3", "list_buckets"),
        ("sts", "GetCallerIdentity", "RegionDisabledException", 403, "sts", "get_caller_identity"),
        ("athena", "ListWorkGroups", "InternalServerException", 500, "athena", "list_work_groups"),
        ("states", "ListStateMachines", "ThrottlingException", 400, "stepfunctions", "list_state_machines"),
    ],
)
def test_an_error_fault_answers_with_awss_status_and_shape(  # noqa: PLR0917
    server: RunningServer,
    client,
    service: str,
    operation: str,
    code: str,
    status: int,
    client_name: str,
    method: str,
) -> None:
    def call(make: Any) -> Any:
        return getattr(make(client_name, ONCE), method)()

    fault = control.add_fault(server.endpoint, service, operation, error=code, count=1)
    assert (fault["error"], fault["status"]) == (code, status)
    answer = _error(lambda: call(client))
    assert (answer["code"], answer["status"]) == (code, status)
    assert answer["message"].startswith(f"localcloud fault {fault['id']}: {code}")
    call(client)  # count 1: the next call is served
    assert control.list_faults(server.endpoint)[0]["hits"] == 1


def _table(client, name: str) -> Any:
    ddb = client("dynamodb")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return ddb


def test_unprocessed_hands_back_that_share_of_a_batch_and_writes_the_rest(
    server: RunningServer, client
) -> None:
    ddb = _table(client, "unprocessed")
    control.add_fault(server.endpoint, "dynamodb", "BatchWriteItem", unprocessed=0.4, count=1)
    requests = [{"PutRequest": {"Item": {"k": {"S": f"{i:02d}"}}}} for i in range(10)]
    answer = ddb.batch_write_item(RequestItems={"unprocessed": requests})
    held = answer["UnprocessedItems"]["unprocessed"]
    assert [r["PutRequest"]["Item"]["k"]["S"] for r in held] == ["06", "07", "08", "09"]
    written = sorted(item["k"]["S"] for item in ddb.scan(TableName="unprocessed")["Items"])
    assert written == ["00", "01", "02", "03", "04", "05"]
    assert ddb.batch_write_item(RequestItems={"unprocessed": held})["UnprocessedItems"] == {}
    assert ddb.scan(TableName="unprocessed")["Count"] == 10


def test_all_of_a_batch_unprocessed_is_provisioned_throughput_exceeded(server: RunningServer, client) -> None:
    ddb = _table(client, "none-processed")
    control.add_fault(server.endpoint, "dynamodb", "BatchWriteItem", unprocessed=1)
    requests = [{"PutRequest": {"Item": {"k": {"S": "a"}}}}]
    ddb_once = client("dynamodb", ONCE)
    answer = _error(lambda: ddb_once.batch_write_item(RequestItems={"none-processed": requests}))
    assert (answer["code"], answer["status"]) == ("ProvisionedThroughputExceededException", 400)
    assert ddb.scan(TableName="none-processed")["Count"] == 0


def test_a_delay_holds_the_answer_and_the_call_then_succeeds(server: RunningServer, client) -> None:
    fault = control.add_fault(server.endpoint, "s3", "ListBuckets", delay=0.5, count=1)
    assert "Buckets" in client("s3").list_buckets()
    assert control.list_faults(server.endpoint)[0]["hits"] == 1
    assert fault["description"] == "s3 ListBuckets: delay 0.5 s; every call, 1 more"


def test_the_control_api_says_what_is_wrong_with_a_fault(server: RunningServer) -> None:
    with pytest.raises(control.ControlError) as error:
        control.add_fault(server.endpoint, "dynamodb", "BatchWriteItems", error="ThrottlingException")
    assert (error.value.status, str(error.value)) == (
        400,
        "dynamodb has no operation 'BatchWriteItems'; did you mean BatchWriteItem?",
    )
    with pytest.raises(control.ControlError) as error:
        control.clear_faults(server.endpoint, "flt-00000000")
    assert error.value.status == 404


def test_a_lambda_functions_own_sdk_calls_meet_the_fault(server: RunningServer, client, zip_package) -> None:
    code = (
        "import boto3\nfrom botocore.config import Config\n"
        "def handler(event, context):\n"
        "    ddb = boto3.client('dynamodb', config=Config(retries={'total_max_attempts': 1}))\n"
        "    return ddb.list_tables()['TableNames']\n"
    )
    lam = client("lambda")
    create_function(lam, "lists-tables", zip_package({"app.py": code}))
    control.add_fault(server.endpoint, "dynamodb", "ListTables", error="InternalServerError")
    answer = lam.invoke(FunctionName="lists-tables")
    error = json.loads(answer["Payload"].read())
    assert answer["FunctionError"] == "Unhandled"
    assert "InternalServerError" in error["errorMessage"]


def _machine(client, name: str, definition: dict[str, Any]) -> str:
    created = client("stepfunctions").create_state_machine(
        name=name, roleArn=ROLE, definition=json.dumps(definition)
    )
    return str(created["stateMachineArn"])


def _run(client, machine_arn: str) -> dict[str, Any]:
    sfn = client("stepfunctions", ONCE)
    execution = sfn.start_execution(stateMachineArn=machine_arn)["executionArn"]
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        time.sleep(0.05)
    return described


def test_a_state_machines_integrations_meet_the_fault(server: RunningServer, client) -> None:
    control.add_fault(server.endpoint, "dynamodb", "ListTables", error="ThrottlingException")
    lists = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:listTables", "End": True}
    sdk = _run(client, _machine(client, "sdk-throttled", {"StartAt": "L", "States": {"L": lists}}))
    assert (sdk["status"], sdk["error"]) == ("FAILED", "DynamoDb.ThrottlingException")

    child = _machine(client, "child", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    parent = _machine(
        client,
        "starts-child",
        {
            "StartAt": "Hold",
            "States": {
                "Hold": {"Type": "Wait", "Seconds": 3600, "Next": "Start"},
                "Start": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": {"StateMachineArn": child},
                    "Retry": [
                        {
                            "ErrorEquals": ["StepFunctions.ExecutionLimitExceededException"],
                            "IntervalSeconds": 1,
                        }
                    ],
                    "End": True,
                },
            },
        },
    )
    sfn = client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=parent)["executionArn"]
    # Set while the parent waits, the fault answers its task's StartExecution of the child.
    control.add_fault(server.endpoint, "states", "StartExecution", error="ExecutionLimitExceeded", count=1)
    try:
        control.advance_clock(server.endpoint, 3600)
        while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
            time.sleep(0.05)
    finally:
        control.reset_clock(server.endpoint)
    assert described["status"] == "SUCCEEDED"
    events = sfn.get_execution_history(executionArn=execution)["events"]
    failed = [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]
    assert failed == ["StepFunctions.ExecutionLimitExceededException"]


def test_faults_are_gone_after_a_restart(tmp_path: Path) -> None:
    """Faults live in memory only, so a rehearsal never leaks into the next session."""
    home = tmp_path / "restarted"
    first = launcher.start(home, port=0)
    try:
        control.add_fault(first.endpoint, "dynamodb", "ListTables", error="ThrottlingException")
        assert [f["operation"] for f in control.list_faults(first.endpoint)] == ["ListTables"]
    finally:
        launcher.stop(home)
    second = launcher.start(home, port=0)
    try:
        assert control.list_faults(second.endpoint) == []
    finally:
        launcher.stop(home)
