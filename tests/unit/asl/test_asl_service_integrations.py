"""Service integrations beyond Lambda: AWS SDK (names, shapes, errors), optimized DynamoDB, Athena
(request-response and .sync), Step Functions (startExecution in every pattern)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import SM_ARN, START, SUCCEEDED_EXECUTION_KEYS
from moto import mock_aws

from localcloud.asl import (
    ExecutionHost,
    ExecutionRecord,
    StateMachine,
    VirtualClock,
    parse_definition,
    validate_definition,
)
from localcloud.asl.integrations.aws_sdk import java_service_name, resolve_service
from localcloud.asl.integrations.sdk import java_instant

CHILD_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Child"


def task(resource: str, parameters: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "End": True, **fields}
    if parameters is not None:
        state["Parameters"] = parameters
    return {"StartAt": "T", "States": {"T": state}}


def problems(definition: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    return {p.path: p.message for p in validate_definition(definition, **kwargs)}


class Services:
    """A host whose clients are given per service name."""

    def __init__(self, clients: dict[str, Any], machines: dict[str, StateMachine] | None = None) -> None:
        self.clients = clients
        self.machines = machines or {}
        self.host = ExecutionHost(
            clock=VirtualClock(START),
            client_factory=self.client,
            machine_resolver=self.machines.__getitem__,
        )

    def client(self, service: str) -> Any:
        return self.clients[service]

    def run(self, definition: dict[str, Any], input: Any = None, **kwargs: Any) -> ExecutionRecord:
        return self.host.start_execution(
            definition, state_machine_arn=SM_ARN, input=input or {}, sync=True, **kwargs
        )


def events(record: ExecutionRecord, kind: str) -> list[dict[str, Any]]:
    key = kind[0].lower() + kind[1:] + "EventDetails"
    return [e[key] for e in record.history if e["type"] == kind]


# ---- AWS SDK: names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service_id", "java"),
    [
        ("DynamoDB", "DynamoDb"),
        ("SFN", "Sfn"),
        ("S3", "S3"),
        ("ACM PCA", "AcmPca"),
        ("CloudWatch Logs", "CloudWatchLogs"),
        ("EC2", "Ec2"),
    ],
)
def test_service_names_follow_the_java_sdk(service_id: str, java: str) -> None:
    assert java_service_name(service_id) == java


@pytest.mark.parametrize(
    ("name", "boto3_name", "java"),
    [
        ("sfn", "stepfunctions", "Sfn"),
        ("dynamodb", "dynamodb", "DynamoDb"),
        ("s3", "s3", "S3"),
        ("athena", "athena", "Athena"),
        ("eventbridge", "events", "EventBridge"),
        ("cloudwatchlogs", "logs", "CloudWatchLogs"),
        ("acmpca", "acm-pca", "AcmPca"),
    ],
)
def test_resource_service_names_resolve_to_boto3_services(name: str, boto3_name: str, java: str) -> None:
    assert resolve_service(name) == (boto3_name, java)


def not_recognized(arn: str) -> str:
    return (
        f"The resource provided {arn} is not recognized. The value is not a valid resource ARN, or the "
        "resource is not available in this region."
    )


def test_unknown_service_action_and_parameter_fail_validation_naming_the_field() -> None:
    for arn in (
        "arn:aws:states:::aws-sdk:nosuch:doIt",
        "arn:aws:states:::aws-sdk:s3:getObjectt",
        "arn:aws:states:::aws-sdk:s3:getObject.sync",
    ):
        assert problems(task(arn, {"Bucket": "b", "Key": "k"}))["/States/T/Resource"] == not_recognized(arn)
    found = problems(task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "bkt", "Kee.$": "$.k"}))
    assert "'Kee' is not a parameter" in found["/States/T/Parameters/Kee.$"]


def test_java_instant_drops_a_zero_fraction() -> None:
    assert java_instant(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)) == "2024-01-02T03:04:05Z"
    assert java_instant(dt.datetime(2024, 1, 2, 3, 4, 5, 120000, tzinfo=dt.UTC)) == "2024-01-02T03:04:05.120Z"


# ---- AWS SDK: shapes and errors ---------------------------------------------------------------------------


class FakeSfn:
    """A boto3-shaped Step Functions client recording its calls."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def describe_map_run(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {
            "mapRunArn": kwargs["mapRunArn"],
            "status": "SUCCEEDED",
            "startDate": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            "itemCounts": {"succeeded": 3, "total": 3},
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    def describe_execution(self, **kwargs: Any) -> dict[str, Any]:
        raise ClientError(
            {
                "Error": {"Code": "ExecutionDoesNotExist", "Message": "Execution Does Not Exist: 'x'"},
                "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "r-1"},
            },
            "DescribeExecution",
        )


def test_aws_sdk_parameters_and_results_are_pascal_case() -> None:
    sfn = FakeSfn()
    record = Services({"stepfunctions": sfn}).run(
        task("arn:aws:states:::aws-sdk:sfn:describeMapRun", {"MapRunArn": "arn:run"})
    )
    assert sfn.calls == [{"mapRunArn": "arn:run"}]
    assert record.output == {
        "MapRunArn": "arn:run",
        "Status": "SUCCEEDED",
        "StartDate": "2024-01-01T00:00:00Z",
        "ItemCounts": {"Succeeded": 3, "Total": 3},
    }
    scheduled = events(record, "TaskScheduled")[0]
    assert (scheduled["resourceType"], scheduled["resource"]) == ("aws-sdk", "sfn:describeMapRun")


def test_aws_sdk_errors_are_service_and_exception_names() -> None:
    record = Services({"stepfunctions": FakeSfn()}).run(
        task("arn:aws:states:::aws-sdk:sfn:describeExecution", {"ExecutionArn": "x"})
    )
    assert record.error == "Sfn.ExecutionDoesNotExistException"
    assert record.cause == "Execution Does Not Exist: 'x' (Service: Sfn, Status Code: 400, Request ID: r-1)"


@pytest.fixture
def aws() -> Iterator[Services]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bkt")
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="T",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield Services({"s3": s3, "dynamodb": ddb})


def test_aws_sdk_s3_missing_key_is_no_such_key_exception(aws: Services) -> None:
    record = aws.run(task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "bkt", "Key": "none"}))
    assert record.error == "S3.NoSuchKeyException"
    assert "(Service: S3, Status Code: 404" in (record.cause or "")


def test_aws_sdk_s3_body_is_text_and_timestamps_are_iso(aws: Services) -> None:
    aws.clients["s3"].put_object(Bucket="bkt", Key="k.json", Body=b'{"n": 1}')
    record = aws.run(task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "bkt", "Key": "k.json"}))
    assert record.output["Body"] == '{"n": 1}'
    assert record.output["LastModified"].endswith("Z")
    assert record.output["ContentLength"] == 8


def test_aws_sdk_keeps_the_keys_of_maps_such_as_dynamodb_items(aws: Services) -> None:
    put = {"TableName": "T", "Item": {"pk": {"S": "a"}, "lowerCase": {"N": "1"}}}
    assert aws.run(task("arn:aws:states:::aws-sdk:dynamodb:putItem", put)).status == "SUCCEEDED"
    record = aws.run(
        task("arn:aws:states:::aws-sdk:dynamodb:getItem", {"TableName": "T", "Key": {"pk": {"S": "a"}}})
    )
    assert record.output == {"Item": {"pk": {"S": "a"}, "lowerCase": {"N": "1"}}}


def test_aws_sdk_dynamodb_condition_failure_is_dynamodb_exception(aws: Services) -> None:
    aws.clients["dynamodb"].put_item(TableName="T", Item={"pk": {"S": "a"}})
    put = {"TableName": "T", "Item": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(pk)"}
    record = aws.run(task("arn:aws:states:::aws-sdk:dynamodb:putItem", put))
    assert record.error == "DynamoDb.ConditionalCheckFailedException"


def test_aws_sdk_wait_for_task_token_waits_for_the_answer(aws: Services) -> None:
    aws.host.task_tokens.on_issue = lambda waiter: aws.host.send_task_success(waiter.token, {"answer": 42})
    params = {"Bucket": "bkt", "Key": "token.txt", "Body.$": "$$.Task.Token"}
    record = aws.run(task("arn:aws:states:::aws-sdk:s3:putObject.waitForTaskToken", params))
    assert record.output == {"answer": 42}
    assert "TaskSubmitted" in [e["type"] for e in record.history]
    body = aws.clients["s3"].get_object(Bucket="bkt", Key="token.txt")["Body"].read().decode()
    assert len(body) > 20  # the token went out in the request


# ---- optimized DynamoDB ----------------------------------------------------------------------------------


def test_optimized_dynamodb_adds_sdk_metadata_and_names_errors_dynamodb(aws: Services) -> None:
    put = {"TableName": "T", "Item": {"pk": {"S": "a"}}}
    record = aws.run(task("arn:aws:states:::dynamodb:putItem", put))
    assert record.output["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert "RequestId" in record.output["SdkResponseMetadata"]
    again = aws.run(
        task("arn:aws:states:::dynamodb:putItem", {**put, "ConditionExpression": "attribute_not_exists(pk)"})
    )
    assert again.error == "DynamoDB.ConditionalCheckFailedException"
    assert "(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ConditionalCheckFailedException" in (
        again.cause or ""
    )
    missing = aws.run(
        task("arn:aws:states:::dynamodb:getItem", {"TableName": "Nope", "Key": {"pk": {"S": "a"}}})
    )
    assert missing.error == "DynamoDB.ResourceNotFoundException"


def test_optimized_dynamodb_checks_its_parameters_and_actions() -> None:
    found = problems(task("arn:aws:states:::dynamodb:getItem", {"TableName": "T", "Keys": {}}))
    assert "'Keys' is not a parameter" in found["/States/T/Parameters/Keys"]
    scan = "arn:aws:states:::dynamodb:scan"  # only AWS SDK integrations reach Scan
    assert problems(task(scan, {}))["/States/T/Resource"] == not_recognized(scan)


# ---- Athena --------------------------------------------------------------------------------------------


class FakeAthena:
    """Answers GetQueryExecution from a script of states (the last repeats)."""

    def __init__(self, states: list[str], reason: str = "") -> None:
        self.states = states
        self.reason = reason
        self.polls = 0
        self.stopped: list[str] = []
        self.started: list[dict[str, Any]] = []

    def start_query_execution(self, **kwargs: Any) -> dict[str, Any]:
        if kwargs.get("QueryString") == "BAD":
            raise ClientError(
                {
                    "Error": {"Code": "InvalidRequestException", "Message": "line 1:1: mismatched input"},
                    "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "r-2"},
                },
                "StartQueryExecution",
            )
        self.started.append(kwargs)
        return {"QueryExecutionId": "q-1", "ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": "r-1"}}

    def get_query_execution(self, **kwargs: Any) -> dict[str, Any]:
        state = self.states[min(self.polls, len(self.states) - 1)]
        self.polls += 1
        status: dict[str, Any] = {
            "State": state,
            "SubmissionDateTime": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        }
        if self.reason:
            status["StateChangeReason"] = self.reason
        return {
            "QueryExecution": {
                "QueryExecutionId": kwargs["QueryExecutionId"],
                "Status": status,
                "ResultConfiguration": {"OutputLocation": "s3://results/q-1.csv"},
            },
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    def stop_query_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.stopped.append(kwargs["QueryExecutionId"])
        return {}


START_QUERY = "arn:aws:states:::athena:startQueryExecution"


def test_athena_request_response_returns_the_query_id_with_sdk_metadata() -> None:
    athena = FakeAthena(["SUCCEEDED"])
    record = Services({"athena": athena}).run(
        task(START_QUERY, {"QueryString": "SELECT 1", "WorkGroup": "wg"})
    )
    assert record.output["QueryExecutionId"] == "q-1"
    assert record.output["SdkResponseMetadata"] == {"RequestId": "r-1"}
    assert athena.started == [{"QueryString": "SELECT 1", "WorkGroup": "wg"}]


def test_athena_sync_polls_until_the_query_ends_and_returns_get_query_execution() -> None:
    athena = FakeAthena(["QUEUED", "RUNNING", "SUCCEEDED"])
    record = Services({"athena": athena}).run(task(START_QUERY + ".sync", {"QueryString": "SELECT 1"}))
    assert record.status == "SUCCEEDED"
    execution = record.output["QueryExecution"]
    assert execution["Status"] == {"State": "SUCCEEDED", "SubmissionDateTime": 1704067200000}
    assert execution["ResultConfiguration"]["OutputLocation"] == "s3://results/q-1.csv"
    assert [e["type"] for e in record.history][2:6] == [
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
    ]
    submitted = events(record, "TaskSubmitted")[0]
    assert json.loads(submitted["output"])["QueryExecutionId"] == "q-1"
    assert (record.stop_date or START) - START == dt.timedelta(seconds=2)  # two polls of a second each


def test_athena_sync_failed_query_is_task_failed_with_the_query_as_cause() -> None:
    athena = FakeAthena(["RUNNING", "FAILED"], reason="TABLE_NOT_FOUND: line 1:15: Table 'x' does not exist")
    record = Services({"athena": athena}).run(task(START_QUERY + ".sync", {"QueryString": "SELECT * FROM x"}))
    assert record.error == "States.TaskFailed"
    cause = json.loads(record.cause or "{}")
    assert cause["QueryExecution"]["Status"]["State"] == "FAILED"
    assert "TABLE_NOT_FOUND" in cause["QueryExecution"]["Status"]["StateChangeReason"]


def test_athena_sync_task_timeout_stops_the_query() -> None:
    athena = FakeAthena(["RUNNING"])
    record = Services({"athena": athena}).run(
        task(START_QUERY + ".sync", {"QueryString": "SELECT 1"}, TimeoutSeconds=30)
    )
    assert record.error == "States.Timeout"
    assert athena.stopped == ["q-1"]
    assert "TaskTimedOut" in [e["type"] for e in record.history]


def test_athena_service_errors_are_athena_names() -> None:
    record = Services({"athena": FakeAthena(["SUCCEEDED"])}).run(
        task(START_QUERY + ".sync", {"QueryString": "BAD"})
    )
    assert record.error == "Athena.InvalidRequestException"
    assert "Error Code: InvalidRequestException" in (record.cause or "")


def test_athena_get_query_results_has_no_sync_pattern() -> None:
    arn = "arn:aws:states:::athena:getQueryResults.sync"
    found = problems(task(arn, {"QueryExecutionId": "q"}))
    assert found["/States/T/Resource"] == not_recognized(arn)


# ---- Step Functions: startExecution --------------------------------------------------------------------


def child_machine(states: dict[str, Any], machine_type: str = "STANDARD") -> StateMachine:
    machine = parse_definition({"StartAt": next(iter(states)), "States": states}, machine_type=machine_type)
    return machine


DOUBLE = {"D": {"Type": "Pass", "Parameters": {"r.$": "$.n"}, "End": True}}
FAIL = {"F": {"Type": "Fail", "Error": "ChildError", "Cause": "child broke"}}
WAIT = {"W": {"Type": "Wait", "Seconds": 100, "End": True}}


def start(pattern: str = "", **params: Any) -> dict[str, Any]:
    return task(f"arn:aws:states:::states:startExecution{pattern}", {"StateMachineArn": CHILD_ARN, **params})


def test_start_execution_returns_the_arn_and_start_date_in_milliseconds() -> None:
    services = Services({}, {CHILD_ARN: child_machine(DOUBLE)})
    record = services.run(start(Name="child-1", Input={"n": 1}))
    assert record.output["ExecutionArn"] == "arn:aws:states:us-east-1:123456789012:execution:Child:child-1"
    assert record.output["StartDate"] == 1704067200000
    assert "SdkHttpMetadata" in record.output
    child = services.host.describe(record.output["ExecutionArn"])
    assert child.input == {"n": 1}


def test_start_execution_sync_returns_describe_execution_with_json_text() -> None:
    services = Services({}, {CHILD_ARN: child_machine(DOUBLE)})
    record = services.run(start(".sync", Input='{"n": 5}'))
    out = record.output
    assert (out["Status"], out["Input"], out["Output"]) == ("SUCCEEDED", '{"n":5}', '{"r":5}')
    assert list(out) == SUCCEEDED_EXECUTION_KEYS
    assert out["RedriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"


def test_start_execution_sync_2_returns_json_values_and_waits_on_the_virtual_clock() -> None:
    services = Services(
        {}, {CHILD_ARN: child_machine({"W": {"Type": "Wait", "Seconds": 30, "Next": "D"}, **DOUBLE})}
    )
    record = services.run(start(".sync:2", Input={"n": 5}))
    assert record.output["Output"] == {"r": 5}
    assert record.output["Input"] == {"n": 5}
    assert record.stop_date == START + dt.timedelta(seconds=30)


def test_start_execution_sync_child_failure_is_task_failed_with_its_description() -> None:
    services = Services({}, {CHILD_ARN: child_machine(FAIL)})
    record = services.run(start(".sync:2"))
    assert record.error == "States.TaskFailed"
    cause = json.loads(record.cause or "{}")
    assert (cause["Status"], cause["Error"], cause["Cause"]) == ("FAILED", "ChildError", "child broke")
    assert cause["ExecutionArn"].startswith("arn:aws:states:us-east-1:123456789012:execution:Child:")


def test_start_execution_of_an_express_child_with_sync() -> None:
    services = Services({}, {CHILD_ARN: child_machine(DOUBLE, "EXPRESS")})
    record = services.run(start(".sync:2", Input={"n": 2}))
    assert record.output["Output"] == {"r": 2}
    assert ":express:Child:" in record.output["ExecutionArn"]


def test_start_execution_refusals_are_step_functions_errors() -> None:
    services = Services({}, {CHILD_ARN: child_machine(DOUBLE)})
    assert services.run(start(Name="dup")).status == "SUCCEEDED"
    again = services.run(start(Name="dup"), name="second")
    assert again.error == "StepFunctions.ExecutionAlreadyExistsException"
    missing = services.run(
        task("arn:aws:states:::states:startExecution", {"StateMachineArn": CHILD_ARN + "Nope"})
    )
    assert missing.error == "StepFunctions.StateMachineDoesNotExistException"
    bad_name = services.run(start(Name="has space"), name="third")
    assert bad_name.error == "StepFunctions.InvalidNameException"


def test_a_parent_task_that_times_out_stops_its_child() -> None:
    services = Services({}, {CHILD_ARN: child_machine(WAIT)})
    definition = start(".sync")
    definition["States"]["T"]["TimeoutSeconds"] = 10
    record = services.run(definition)
    assert record.error == "States.Timeout"
    (child,) = [r for r in services.host.store.list() if r.state_machine_arn == CHILD_ARN]
    assert child.status == "ABORTED"
    assert "was aborted" in (child.cause or "")


def test_express_machines_cannot_use_sync_or_callbacks() -> None:
    for pattern in (".sync", ".sync:2", ".waitForTaskToken"):
        found = problems(start(pattern), machine_type="EXPRESS")
        assert "Express workflows" in found["/States/T/Resource"]
    assert problems(start(), machine_type="EXPRESS") == {}


def test_start_execution_wait_for_task_token_returns_the_callbacks_answer() -> None:
    services = Services({}, {CHILD_ARN: child_machine(DOUBLE)})
    services.host.task_tokens.on_issue = lambda waiter: services.host.send_task_success(waiter.token, "done")
    record = services.run(start(".waitForTaskToken", **{"Input": {"token.$": "$$.Task.Token", "n": 1}}))
    assert record.output == "done"


def test_a_child_joining_its_parallel_branches_does_not_let_the_clock_jump() -> None:
    """Regression: the Parallel's join used to be "blocked" while its branch threads left, so a
    virtual clock with another execution asleep (the waiting parent) jumped to that sleeper's wake-up
    and the child timed out."""
    branches = [{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}} for _ in range(3)]
    child = parse_definition(
        {
            "TimeoutSeconds": 60,
            "StartAt": "Par",
            "States": {"Par": {"Type": "Parallel", "Branches": branches, "End": True}},
        }
    )
    for _ in range(20):
        services = Services({}, {CHILD_ARN: child})
        record = services.run(start(".sync:2"))
        assert record.status == "SUCCEEDED", record.cause
        assert record.stop_date == START


# ---- a failing Parallel branch aborts the tasks in flight in the others ------------------------------


def parallel_with_failing_branch(in_flight: dict[str, Any]) -> dict[str, Any]:
    """Branch 0 runs ``in_flight`` (state "Work"); branch 1 fails after 5 seconds."""
    failing = {
        "StartAt": "Pause",
        "States": {
            "Pause": {"Type": "Wait", "Seconds": 5, "Next": "Break"},
            "Break": {"Type": "Fail", "Error": "BranchBroke", "Cause": "branch 1 broke"},
        },
    }
    working = {"StartAt": "Work", "States": {"Work": {**in_flight, "End": True}}}
    return {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "Branches": [working, failing], "End": True}},
    }


def branch_events(record: ExecutionRecord) -> list[str]:
    return [e["type"] for e in record.history if e["type"].startswith(("Task", "Parallel", "Fail"))]


def test_a_failing_branch_aborts_an_athena_query_in_flight_in_another_and_stops_it() -> None:
    athena = FakeAthena(["RUNNING"])  # never ends by itself
    work = {"Type": "Task", "Resource": START_QUERY + ".sync", "Parameters": {"QueryString": "SELECT 1"}}
    record = Services({"athena": athena}).run(parallel_with_failing_branch(work))
    assert (record.status, record.error, record.cause) == ("FAILED", "BranchBroke", "branch 1 broke")
    assert athena.stopped == ["q-1"]  # StopQueryExecution, as AWS stops the query of an aborted task
    assert branch_events(record) == [
        "ParallelStateEntered",
        "ParallelStateStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "FailStateEntered",
        "TaskStateAborted",
        "ParallelStateFailed",
    ]
    assert record.stop_date == START + dt.timedelta(seconds=5)


def test_a_failing_branch_aborts_a_child_execution_in_flight_in_another_and_stops_it() -> None:
    services = Services({}, {CHILD_ARN: child_machine(WAIT)})
    work = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": CHILD_ARN},
    }
    record = services.run(parallel_with_failing_branch(work))
    assert (record.status, record.error) == ("FAILED", "BranchBroke")
    assert "TaskStateAborted" in branch_events(record)
    (child,) = [r for r in services.host.store.list() if r.state_machine_arn == CHILD_ARN]
    assert child.status == "ABORTED"
    assert child.cause == (
        f"The Task state in AWS Step Functions execution [{record.execution_arn}] which was managing "
        "this resource was aborted"
    )
    assert child.stop_date == START + dt.timedelta(seconds=5)
    # The child is stopped (StopExecution): its Wait's entry is its last state event.
    assert [e["type"] for e in child.history][-2:] == ["WaitStateEntered", "ExecutionAborted"]
