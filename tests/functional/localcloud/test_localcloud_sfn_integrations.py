"""CreateStateMachine accepts every Resource AWS accepts, through boto3 against a running localcloud;
a service localcloud does not serve fails at run time as an unreachable integration, naming it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import ROLE, Client

# AWS's published example: a Lambda task, then Amazon SQS ("Using mocked service integrations for
# testing in Step Functions Local", step 1).
AWS_EXAMPLE = {
    "Comment": "This state machine is called: LambdaSQSIntegration",
    "StartAt": "LambdaState",
    "States": {
        "LambdaState": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"Payload.$": "$", "FunctionName": "HelloWorldFunction"},
            "Retry": [
                {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2}
            ],
            "Next": "SQSState",
        },
        "SQSState": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {
                "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/myQueue",
                "MessageBody.$": "$",
            },
            "End": True,
        },
    },
}


def wait_for_end(sfn: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError(f"{arn} did not end")


def test_aws_published_example_is_accepted_by_create_state_machine(client: Client) -> None:
    sfn = client("stepfunctions")
    created = sfn.create_state_machine(
        name="LambdaSQSIntegration", definition=json.dumps(AWS_EXAMPLE), roleArn=ROLE
    )
    assert created["stateMachineArn"].endswith(":stateMachine:LambdaSQSIntegration")
    assert sfn.validate_state_machine_definition(definition=json.dumps(AWS_EXAMPLE))["result"] == "OK"


def test_an_unserved_service_fails_at_run_time_naming_it(client: Client) -> None:
    sfn = client("stepfunctions")
    definition = {
        "StartAt": "Publish",
        "States": {
            "Publish": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:000000000000:t", "Message": "hi"},
                "End": True,
            }
        },
    }
    arn = sfn.create_state_machine(name="PublishOnce", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    described = wait_for_end(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
    assert (described["status"], described["error"]) == ("FAILED", "SNS.SdkClientException")
    assert described["cause"] == (
        "Unable to execute HTTP request: localcloud does not emulate Amazon SNS (resource "
        "arn:aws:states:::sns:publish); mock this state in a Step Functions Local mock configuration file "
        "(SFN_MOCK_CONFIG) to run it offline"
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
