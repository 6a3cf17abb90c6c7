"""CreateStateMachine accepts every Resource AWS accepts, through boto3 against a running localcloud;
a service localcloud does not serve fails at run time as an unreachable integration, naming it."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

Client = Callable[..., Any]
ROLE = "arn:aws:iam::000000000000:role/localcloud-tests"

# AWS's published example: a Lambda task, then Amazon SQS ("Using mocked service integrations for
# testing in Step Functions Local", step 1), as the Step Functions Local suite has it.
AWS_EXAMPLE = json.loads(
    (
        Path(__file__).parents[1] / "mock_config" / "statemachines" / "lambda_sqs_integration.asl.json"
    ).read_text(encoding="utf-8")
)


def wait_for_end(sfn: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError(f"{arn} did not end")


def run_one_task(sfn: Any, name: str, resource: str, parameters: dict[str, Any], payload: str = "{}") -> Any:
    """Create a machine of one Task state and run it to its end: the described execution."""
    definition = {
        "StartAt": "Only",
        "States": {"Only": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}},
    }
    arn = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    return wait_for_end(sfn, sfn.start_execution(stateMachineArn=arn, input=payload)["executionArn"])


def test_aws_published_example_is_accepted_by_create_state_machine(client: Client) -> None:
    sfn = client("stepfunctions")
    created = sfn.create_state_machine(
        name="LambdaSQSIntegration", definition=json.dumps(AWS_EXAMPLE), roleArn=ROLE
    )
    assert created["stateMachineArn"].endswith(":stateMachine:LambdaSQSIntegration")
    assert sfn.validate_state_machine_definition(definition=json.dumps(AWS_EXAMPLE))["result"] == "OK"


def test_an_unserved_service_fails_at_run_time_naming_it(client: Client) -> None:
    described = run_one_task(
        client("stepfunctions"),
        "SendOnce",
        "arn:aws:states:::sqs:sendMessage",
        {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/000000000000/q", "MessageBody": "hi"},
    )
    assert (described["status"], described["error"]) == ("FAILED", "SQS.SdkClientException")
    assert described["cause"] == (
        "Unable to execute HTTP request: localcloud does not emulate Amazon SQS (resource "
        "arn:aws:states:::sqs:sendMessage); mock this state in a Step Functions Local mock configuration "
        "file (SFN_MOCK_CONFIG) to run it offline"
    )


def test_a_resource_aws_does_not_know_is_refused_in_aws_words(client: Client) -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::sqs:receiveMessage", "End": True}},
    }
    with pytest.raises(ClientError) as refused:
        client("stepfunctions").create_state_machine(
            name="Refused", definition=json.dumps(definition), roleArn=ROLE
        )
    assert refused.value.response["Error"]["Code"] == "InvalidDefinition"
    assert refused.value.response["Error"]["Message"] == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The resource provided "
        "arn:aws:states:::sqs:receiveMessage is not recognized. The value is not a valid resource ARN, "
        "or the resource is not available in this region. at /States/A/Resource'"
    )


# ---- TestState through boto3 -----------------------------------------------------------------------


def sfn_without_host_prefix(client: Client) -> Any:
    # TestState's endpoint has a host prefix ("sync-"), which a local endpoint cannot take.
    return client("stepfunctions", Config(inject_host_prefix=False))


def test_test_state_takes_every_2025_field_and_answers_with_inspection_data(client: Client) -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Fetch",
        "States": {
            "Fetch": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
                "Arguments": {"TableName": "{% $table %}", "Key": {"pk": {"S": "{% $states.input.id %}"}}},
                "Retry": [{"ErrorEquals": ["DynamoDb.ResourceNotFoundException"], "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                "Output": "{% {'item': $states.result.Item, 'attempt': $states.context.State.RetryCount} %}",
                "Next": "Done",
            },
            "Failed": {"Type": "Fail"},
            "Done": {"Type": "Succeed"},
        },
    }
    answer = sfn_without_host_prefix(client).test_state(
        definition=json.dumps(definition),
        stateName="Fetch",
        input=json.dumps({"id": "a"}),
        inspectionLevel="TRACE",
        revealSecrets=False,
        variables=json.dumps({"table": "T"}),
        mock={"result": json.dumps({"Item": {"pk": {"S": "a"}}}), "fieldValidationMode": "STRICT"},
        context=json.dumps({"Execution": {"Name": "given"}}),
        stateConfiguration={"retrierRetryCount": 1},
    )
    assert answer["status"] == "SUCCEEDED"
    assert json.loads(answer["output"]) == {"item": {"pk": {"S": "a"}}, "attempt": 1}
    assert answer["nextState"] == "Done"
    data = answer["inspectionData"]
    assert json.loads(data["afterArguments"]) == {"TableName": "T", "Key": {"pk": {"S": "a"}}}
    assert json.loads(data["variables"]) == {"table": "T"}
    retriable = sfn_without_host_prefix(client).test_state(
        definition=json.dumps(definition),
        stateName="Fetch",
        input=json.dumps({"id": "a"}),
        inspectionLevel="DEBUG",
        variables=json.dumps({"table": "T"}),
        mock={"errorOutput": {"error": "DynamoDb.ResourceNotFoundException", "cause": "no table"}},
        stateConfiguration={"retrierRetryCount": 1},
    )
    assert retriable["status"] == "RETRIABLE"
    assert retriable["inspectionData"]["errorDetails"] == {"retryIndex": 0, "retryBackoffIntervalSeconds": 2}


def test_test_state_calls_the_service_when_not_mocked(client: Client) -> None:
    client("dynamodb").create_table(
        TableName="TestStateTable",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:dynamodb:listTables",
        "Parameters": {},
        "ResultSelector": {"tables.$": "$.TableNames"},
        "End": True,
    }
    answer = sfn_without_host_prefix(client).test_state(
        definition=json.dumps(task), roleArn=ROLE, inspectionLevel="INFO"
    )
    assert answer["status"] == "SUCCEEDED"
    assert "TestStateTable" in json.loads(answer["output"])["tables"]


def test_test_state_refusals_are_aws_errors(client: Client) -> None:
    sfn = sfn_without_host_prefix(client)
    with pytest.raises(ClientError) as refused:
        sfn.test_state(definition=json.dumps({"Type": "Pass", "End": True}), mock={"result": "{}"})
    assert refused.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "State type 'Pass' is not supported when a mock is specified",
    }


def test_an_optimized_integration_of_a_service_localcloud_serves_runs_for_real(client: Client) -> None:
    # EventBridge is served by localcloud: events:putEvents needs neither a mock nor a module of its own.
    described = run_one_task(
        client("stepfunctions"),
        "PutEvents",
        "arn:aws:states:::events:putEvents",
        {"Entries": [{"Source": "tests", "DetailType": "ping", "Detail": {"n.$": "$.n"}}]},
        '{"n": 1}',
    )
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    output = json.loads(described["output"])
    assert set(output) == {"Entries", "FailedEntryCount"}  # no SdkHttpMetadata, as on AWS
    assert output["FailedEntryCount"] == 0 and len(output["Entries"]) == 1


def test_an_aws_sdk_s3_error_cause_has_the_sdks_message_parts(client: Client) -> None:
    # "<message> (Service: S3, Status Code: 404, Request ID: <id>, Extended Request ID: <id>)",
    # as the SDK for Java 2.x writes it and LocalStack's AWS recordings of aws-sdk S3 errors show.
    client("s3").create_bucket(Bucket="sdk-cause-bucket")
    described = run_one_task(
        client("stepfunctions"),
        "SdkCause",
        "arn:aws:states:::aws-sdk:s3:getObject",
        {"Bucket": "sdk-cause-bucket", "Key": "absent.json"},
    )
    assert (described["status"], described["error"]) == ("FAILED", "S3.NoSuchKeyException")
    assert re.fullmatch(
        r"The specified key does not exist\. \(Service: S3, Status Code: 404, Request ID: [^,()]*"
        r", Extended Request ID: [^()]+\)",
        described["cause"],
    ), described["cause"]
