"""Every Resource AWS accepts is a valid definition: each optimized integration in each pattern AWS
offers for it, and AWS SDK integrations of any service. The ones localcloud does not run itself call
the service through the host's clients; a call nobody answers fails as an unreachable integration."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from conftest import SM_ARN, START

from localcloud.asl import ExecutionHost, ExecutionRecord, VirtualClock, validate_definition
from localcloud.asl.integrations.catalog import OPTIMIZED

PATTERNS = ("", "sync", "sync:2", "waitForTaskToken")


def task(resource: str, parameters: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "End": True, **fields}
    if parameters is not None:
        state["Parameters"] = parameters
    return {"StartAt": "T", "States": {"T": state}}


def arn(service: str, action: str, pattern: str) -> str:
    return f"arn:aws:states:::{service}:{action}" + (f".{pattern}" if pattern else "")


CATALOGUE = [
    (service, action, pattern)
    for service, entry in OPTIMIZED.items()
    for action in entry.actions
    for pattern in PATTERNS
]


@pytest.mark.parametrize(("service", "action", "pattern"), CATALOGUE)
def test_optimized_resources_are_accepted_exactly_in_the_patterns_aws_offers(
    service: str, action: str, pattern: str
) -> None:
    resource = arn(service, action, pattern)
    parameters = {"FunctionName": "f"} if service == "lambda" else None
    if service == "states":
        parameters = {"StateMachineArn": SM_ARN}
    found = [p for p in validate_definition(task(resource, parameters)) if p.path == "/States/T/Resource"]
    if pattern in OPTIMIZED[service].actions[action]:
        assert found == []
    else:
        assert [p.message for p in found] == [
            f"The resource provided {resource} is not recognized. The value is not a valid resource "
            "ARN, or the resource is not available in this region."
        ]


def test_the_catalogue_counts_every_optimized_service_aws_lists() -> None:
    # The developer guide's table names 20 services (API Gateway, Athena, Batch, Bedrock, CodeBuild,
    # DynamoDB, ECS, EKS, EMR, EMR on EKS, EMR Serverless, EventBridge, Glue, Glue DataBrew, Lambda,
    # MediaConvert, SageMaker, SNS, SQS, Step Functions), plus the HTTP Task; their pages list
    # 1+4+1+2+9+4+1+8+7+3+6+1+1+1+1+1+9+1+1+1 actions, and the HTTP Task's invoke.
    assert len(OPTIMIZED) == 21
    assert sum(len(entry.actions) for entry in OPTIMIZED.values()) == 63 + 1


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::aws-sdk:comprehend:detectSentiment",
        "arn:aws:states:::aws-sdk:sqs:sendMessage.waitForTaskToken",
        "arn:aws:states:::aws-sdk:eventbridge:putEvents",
        "arn:aws:states:::aws-sdk:ecs:runTask",
        "arn:aws:states:::aws-sdk:sfn:startExecution",
    ],
)
def test_aws_sdk_integrations_of_any_service_are_accepted(resource: str) -> None:
    assert validate_definition(task(resource, {})) == []


# ---- running what localcloud does not emulate ------------------------------------------------------


class NotServed:
    """An endpoint that does not serve the service: localcloud's ``NotImplemented`` (HTTP 501)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, method: str) -> Any:
        def refuse(**_: Any) -> Any:
            self.calls.append(method)
            raise ClientError(
                {
                    "Error": {"Code": "NotImplemented", "Message": "localcloud does not serve SQS"},
                    "ResponseMetadata": {"HTTPStatusCode": 501, "RequestId": "r"},
                },
                method,
            )

        return refuse


class Recording:
    """A served service: answers every call with ``answer`` and records the arguments."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, method: str) -> Any:
        def answer(**kwargs: Any) -> Any:
            self.calls.append((method, kwargs))
            return self.answer

        return answer


def run(definition: dict[str, Any], clients: dict[str, Any]) -> ExecutionRecord:
    host = ExecutionHost(clock=VirtualClock(START), client_factory=clients.__getitem__)
    return host.start_execution(definition, state_machine_arn=SM_ARN, input={"m": "hi"}, sync=True)


SQS_SEND = task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": "https://sqs/q", "MessageBody.$": "$.m"})
UNREACHABLE_SQS = (
    "Unable to execute HTTP request: localcloud does not emulate Amazon SQS (resource "
    "arn:aws:states:::sqs:sendMessage); mock this state in a Step Functions Local mock configuration "
    "file (SFN_MOCK_CONFIG) to run it offline"
)


def test_an_optimized_call_to_a_service_the_endpoint_does_not_serve_fails_as_unreachable() -> None:
    sqs = NotServed()
    record = run(SQS_SEND, {"sqs": sqs})
    assert sqs.calls == ["send_message"]
    assert (record.status, record.error, record.cause) == (
        "FAILED",
        "SQS.SdkClientException",
        UNREACHABLE_SQS,
    )
    failed = next(e for e in record.history if e["type"] == "TaskFailed")["taskFailedEventDetails"]
    assert (failed["resourceType"], failed["resource"]) == ("sqs", "sendMessage")


def test_a_call_that_gets_no_answer_at_all_fails_as_unreachable_too() -> None:
    class Down:
        def send_message(self, **_: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    record = run(SQS_SEND, {"sqs": Down()})
    assert (record.error, record.cause) == ("SQS.SdkClientException", UNREACHABLE_SQS)


def test_a_served_optimized_service_gets_the_api_parameters_and_returns_java_shapes_with_metadata() -> None:
    sqs = Recording({"MessageId": "m-1", "MD5OfMessageBody": "abc", "ResponseMetadata": {"RequestId": "r"}})
    record = run(SQS_SEND, {"sqs": sqs})
    assert sqs.calls == [("send_message", {"QueueUrl": "https://sqs/q", "MessageBody": "hi"})]
    assert record.output == {
        "MessageId": "m-1",
        "MD5OfMessageBody": "abc",
        "SdkHttpMetadata": {"AllHttpHeaders": {}, "HttpHeaders": {}, "HttpStatusCode": 200},
        "SdkResponseMetadata": {"RequestId": "r"},
    }


def test_eventbridge_put_events_returns_the_response_without_sdk_metadata() -> None:
    events = Recording({"Entries": [{"EventId": "e-1"}], "FailedEntryCount": 0})
    definition = task(
        "arn:aws:states:::events:putEvents", {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]}
    )
    assert run(definition, {"events": events}).output == {
        "Entries": [{"EventId": "e-1"}],
        "FailedEntryCount": 0,
    }


def test_eventbridge_details_given_as_json_are_sent_as_text() -> None:
    events = Recording({"Entries": [{"EventId": "e-1"}], "FailedEntryCount": 0})
    entry = {"Source": "s", "DetailType": "d", "Detail": {"message.$": "$.m"}}
    run(task("arn:aws:states:::events:putEvents", {"Entries": [entry]}), {"events": events})
    assert events.calls == [
        ("put_events", {"Entries": [{"Source": "s", "DetailType": "d", "Detail": '{"message":"hi"}'}]})
    ]


@pytest.mark.parametrize(
    ("resource", "client", "method", "field", "reply"),
    [
        ("arn:aws:states:::sqs:sendMessage", "sqs", "send_message", "MessageBody", {"MessageId": "m-1"}),
        ("arn:aws:states:::sns:publish", "sns", "publish", "Message", {"MessageId": "m-1"}),
    ],
)
def test_a_message_given_as_json_is_sent_as_its_text(
    resource: str, client: str, method: str, field: str, reply: dict[str, Any]
) -> None:
    # AWS's own example sends "MessageBody.$": "$" (an object) to sqs:sendMessage.
    service = Recording(reply)
    run(task(resource, {field: {"message.$": "$.m"}}), {client: service})
    assert service.calls == [(method, {field: '{"message":"hi"}'})]


def test_pascal_case_parameters_reach_a_camel_case_api_and_results_come_back_pascal_case() -> None:
    ecs = Recording({"tasks": [{"taskArn": "arn:task"}], "failures": []})
    definition = task("arn:aws:states:::ecs:runTask", {"Cluster": "c", "TaskDefinition": "td"})
    record = run(definition, {"ecs": ecs})
    assert ecs.calls == [("run_task", {"cluster": "c", "taskDefinition": "td"})]
    assert {k: v for k, v in record.output.items() if not k.startswith("Sdk")} == {
        "Tasks": [{"TaskArn": "arn:task"}],
        "Failures": [],
    }


def test_a_served_service_error_is_the_optimized_prefix_and_code() -> None:
    class Refusing:
        def send_message(self, **_: Any) -> Any:
            raise ClientError(
                {
                    "Error": {"Code": "QueueDoesNotExist", "Message": "The specified queue does not exist."},
                    "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "req-9"},
                },
                "SendMessage",
            )

    record = run(SQS_SEND, {"sqs": Refusing()})
    assert (record.error, record.cause) == (
        "SQS.QueueDoesNotExist",
        "The specified queue does not exist. (Service: AmazonSQS; Status Code: 400; Error Code: "
        "QueueDoesNotExist; Request ID: req-9; Proxy: null)",
    )


@pytest.mark.parametrize(
    ("resource", "error", "cause_start"),
    [
        (
            "arn:aws:states:::apigateway:invoke",
            "ApiGateway.SdkClientException",
            "Unable to execute HTTP request: localcloud does not emulate Amazon API Gateway",
        ),
        (
            "arn:aws:states:::glue:startJobRun.sync",
            "Glue.SdkClientException",
            "Unable to execute HTTP request: localcloud does not follow AWS Glue jobs (.sync)",
        ),
        ("arn:aws:states:::http:invoke", "States.Http.Socket", "localcloud does not call HTTPS APIs"),
    ],
)
def test_calls_localcloud_never_makes_fail_as_unreachable_without_calling(
    resource: str, error: str, cause_start: str
) -> None:
    record = run(task(resource, {}), {})  # no client at all: nothing may be called
    assert record.error == error
    assert (record.cause or "").startswith(cause_start)


def test_an_aws_sdk_call_to_an_unserved_service_names_the_service() -> None:
    definition = task("arn:aws:states:::aws-sdk:sqs:sendMessage", {"QueueUrl": "q", "MessageBody": "m"})
    record = run(definition, {"sqs": NotServed()})
    assert (record.error, record.cause) == (
        "Sqs.SdkClientException",
        "Unable to execute HTTP request: localcloud does not emulate Amazon Simple Queue Service (resource "
        "arn:aws:states:::aws-sdk:sqs:sendMessage); mock this state in a Step Functions Local mock "
        "configuration file (SFN_MOCK_CONFIG) to run it offline",
    )
