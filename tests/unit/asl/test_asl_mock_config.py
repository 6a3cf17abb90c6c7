"""Step Functions Local's mocked service integrations on the interpreter's host: the file format,
test cases, invocation counting (retries included, across Map iterations), every integration kind
mockable, and unmocked states calling their service."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import SM_ARN, START

from localcloud.asl import ExecutionHost, ExecutionRecord, VirtualClock
from localcloud.asl.mocking import MockConfig, MockConfigError, UnknownTestCase

# AWS's example of the guide's "Using mocked service integrations for testing in Step Functions Local",
# as the Step Functions Local suite of tests/functional/mock_config has it.
LAMBDA_SQS = json.loads(
    (
        Path(__file__).parents[2]
        / "functional"
        / "mock_config"
        / "statemachines"
        / "lambda_sqs_integration.asl.json"
    ).read_text(encoding="utf-8")
)
LAMBDA_OK = {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}
SQS_OK = {"MD5OfMessageBody": "md5", "MessageId": "m-1"}
CONFIG = {
    "StateMachines": {
        "Test": {
            "TestCases": {
                "HappyPath": {"LambdaState": "LambdaOk", "SQSState": "SqsOk"},
                "RetryPath": {"LambdaState": "LambdaRetry", "SQSState": "SqsOk"},
                "HybridPath": {"LambdaState": "LambdaOk"},
                "TooFew": {"LambdaState": "LambdaAlwaysFails"},
                "Undefined": {"LambdaState": "NoSuchResponse"},
            }
        }
    },
    "MockedResponses": {
        "LambdaOk": {"0": {"Return": LAMBDA_OK}},
        "SqsOk": {"0": {"Return": SQS_OK}},
        "LambdaRetry": {
            "0": {
                "Throw": {
                    "Error": "Lambda.ResourceNotReadyException",
                    "Cause": "Lambda resource is not ready.",
                }
            },
            "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}},
            "3": {"Return": LAMBDA_OK},
        },
        "LambdaAlwaysFails": {"0-1": {"Throw": {"Error": "Boom", "Cause": "always"}}},
    },
}


class NothingServed:
    """No service answers; a test whose mocks cover everything never gets here."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, service: str) -> Any:
        calls = self.calls

        class Client:
            def __getattr__(self, method: str) -> Any:
                def refuse(**_: Any) -> Any:
                    calls.append((service, method))
                    raise ConnectionError(f"nothing serves {service}")

                return refuse

        return Client()


def host_with(config: dict[str, Any], clients: Any = None) -> ExecutionHost:
    parsed = MockConfig(config)
    return ExecutionHost(
        clock=VirtualClock(START),
        client_factory=clients or NothingServed(),
        mock_config=lambda: parsed,
    )


def run(
    definition: dict[str, Any], case: str, config: dict[str, Any] = CONFIG, **kwargs: Any
) -> ExecutionRecord:
    host = kwargs.pop("host", None) or host_with(config, kwargs.pop("clients", None))
    return host.start_execution(
        definition, state_machine_arn=SM_ARN, input=kwargs.pop("input", {"n": 1}), sync=True,
        mock_test_case=case, **kwargs,
    )  # fmt: skip


def events(record: ExecutionRecord, kind: str) -> list[dict[str, Any]]:
    key = kind[0].lower() + kind[1:] + "EventDetails"
    return [e.get(key, {}) for e in record.history if e["type"] == kind]


def test_a_test_case_answers_each_mocked_state_from_its_mocked_response() -> None:
    clients = NothingServed()
    record = run(LAMBDA_SQS, "HappyPath", clients=clients)
    assert clients.calls == []
    assert (record.status, record.output) == ("SUCCEEDED", SQS_OK)
    succeeded = events(record, "TaskSucceeded")
    assert [(e["resourceType"], e["resource"]) for e in succeeded] == [
        ("lambda", "invoke"),
        ("sqs", "sendMessage"),
    ]
    entered = [e["stateEnteredEventDetails"] for e in record.history if e["type"] == "TaskStateEntered"]
    sqs_entered = next(e for e in entered if e["name"] == "SQSState")
    assert (
        sqs_entered["input"] == '{"StatusCode":200,"Payload":{"StatusCode":200,"body":"Hello from Lambda!"}}'
    )


def test_retries_count_as_invocations_and_take_the_ranges_in_order() -> None:
    record = run(LAMBDA_SQS, "RetryPath")
    assert record.status == "SUCCEEDED"
    failed = events(record, "TaskFailed")
    assert [(e["error"], e["cause"]) for e in failed] == [
        ("Lambda.ResourceNotReadyException", "Lambda resource is not ready."),
        ("Lambda.TimeoutException", "Lambda timed out."),
        ("Lambda.TimeoutException", "Lambda timed out."),
    ]
    # The retrier's waits (2, 4 and 8 s) pass on the execution's clock.
    assert (record.stop_date - record.start_date).total_seconds() == 2 + 4 + 8


def test_a_state_the_test_case_leaves_out_calls_its_service() -> None:
    clients = NothingServed()
    record = run(LAMBDA_SQS, "HybridPath", clients=clients)
    assert clients.calls == [("sqs", "send_message")]
    assert (record.status, record.error) == ("FAILED", "SQS.SdkClientException")


def test_an_invocation_without_an_entry_fails_the_execution_with_states_runtime_unretried() -> None:
    record = run(LAMBDA_SQS, "TooFew")  # entries 0-1 throw, retried (States.ALL); invocation 2 has none
    assert (record.status, record.error) == ("FAILED", "States.Runtime")
    assert record.cause == (
        "An error occurred while executing the state 'LambdaState' (entered at the event id #2). The mocked "
        "response 'LambdaAlwaysFails' has no entry for invocation 2 of the state 'LambdaState' (test case "
        "'TooFew'; it defines invocations: 0-1)"
    )
    assert len(events(record, "TaskFailed")) == 2


def test_a_mocked_response_the_file_lacks_fails_when_its_state_runs() -> None:
    record = run(LAMBDA_SQS, "Undefined")
    assert (record.status, record.error) == ("FAILED", "States.Runtime")
    assert "mocked response 'NoSuchResponse', which the mock configuration does not define" in (
        record.cause or ""
    )


def test_an_unknown_test_case_is_refused_when_the_execution_starts() -> None:
    with pytest.raises(UnknownTestCase, match="No mock map found for test Nope"):
        run(LAMBDA_SQS, "Nope")


MAP_CONFIG = {
    "StateMachines": {"Test": {"TestCases": {"Items": {"Call": "Seq"}}}},
    "MockedResponses": {
        "Seq": {
            "0": {"Throw": {"Error": "Boom", "Cause": "attempt 0"}},
            "1": {"Return": {"Payload": "idx1"}},
            "2": {"Return": {"Payload": "idx2"}},
            "3": {"Return": {"Payload": "idx3"}},
        }
    },
}


def map_over(processor_config: dict[str, Any] | None = None) -> dict[str, Any]:
    processor: dict[str, Any] = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                "End": True,
            }
        },
    }
    if processor_config:
        processor["ProcessorConfig"] = processor_config
    return {
        "StartAt": "Each",
        "States": {"Each": {"Type": "Map", "MaxConcurrency": 1, "ItemProcessor": processor, "End": True}},
    }


def test_map_iterations_share_one_counter_per_state_with_retries_included() -> None:
    # Step Functions Local 2.0.0 gives ["idx1", "idx2"]: iteration 1 takes 0 (retried) then 1,
    # iteration 2 goes on at 2 (recorded in floci-io/floci issue 3254).
    record = run(map_over(), "Items", MAP_CONFIG, input=["a", "b"])
    assert (record.status, record.output) == ("SUCCEEDED", ["idx1", "idx2"])


def test_distributed_map_children_answer_from_the_parents_test_case_and_counters() -> None:
    host = host_with(MAP_CONFIG)
    host.machine_resolver = lambda arn: host.parse(
        map_over({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"})
    )
    record = run(
        map_over({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}), "Items", host=host, input=["a", "b"]
    )
    assert (record.status, record.output) == ("SUCCEEDED", ["idx1", "idx2"])


def test_a_mocked_throw_is_caught_with_its_error_and_cause() -> None:
    config = copy.deepcopy(CONFIG)
    config["StateMachines"]["Test"]["TestCases"]["Caught"] = {"Only": "Fails"}
    config["MockedResponses"]["Fails"] = {
        "0": {"Throw": {"Error": "ApiGateway.422", "Cause": "Unprocessable"}}
    }
    definition = {
        "StartAt": "Only",
        "States": {
            "Only": {
                "Type": "Task",
                "Resource": "arn:aws:states:::apigateway:invoke",
                "Parameters": {"ApiEndpoint": "api.example.com", "Method": "POST"},
                "Catch": [{"ErrorEquals": ["ApiGateway.422"], "ResultPath": "$.error", "Next": "Handled"}],
                "End": True,
            },
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    record = run(definition, "Caught", config)
    assert record.output == {"n": 1, "error": {"Error": "ApiGateway.422", "Cause": "Unprocessable"}}


def single(resource: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "End": True}
    if parameters is not None:
        state["Parameters"] = parameters
    return {"StartAt": "Only", "States": {"Only": state}}


def one_answer(answer: Any) -> dict[str, Any]:
    return {
        "StateMachines": {"Test": {"TestCases": {"Case": {"Only": "Answer"}}}},
        "MockedResponses": {"Answer": {"0": {"Return": answer}}},
    }


def test_a_wait_for_task_token_task_gets_its_token_and_the_mocks_answer_at_once() -> None:
    definition = single(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        {"QueueUrl": "q", "MessageBody.$": "$$.Task.Token"},
    )
    record = run(definition, "Case", one_answer({"approved": True}))
    assert (record.status, record.output) == ("SUCCEEDED", {"approved": True})
    scheduled = events(record, "TaskScheduled")[0]
    assert (
        '"MessageBody":"' in scheduled["parameters"] and '"MessageBody":null' not in scheduled["parameters"]
    )
    assert [e["type"] for e in record.history if e["type"].startswith("Task")] == [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
    ]


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::athena:startQueryExecution.sync",
        "arn:aws:states:::states:startExecution.sync:2",
        "arn:aws:states:::ecs:runTask.sync",
        "arn:aws:states:::glue:startJobRun.sync",
    ],
)
def test_a_sync_task_mock_is_the_finished_jobs_result(resource: str) -> None:
    parameters = {"StateMachineArn": SM_ARN} if ":::states:" in resource else {}
    clients = NothingServed()
    record = run(single(resource, parameters), "Case", one_answer({"Status": "SUCCEEDED"}), clients=clients)
    assert (record.status, record.output, clients.calls) == ("SUCCEEDED", {"Status": "SUCCEEDED"}, [])
    assert events(record, "TaskSubmitted")[0]["output"] == '{"Status":"SUCCEEDED"}'


def test_aws_sdk_tasks_of_services_localcloud_does_not_emulate_are_mockable() -> None:
    answer = {"Sentiment": "POSITIVE", "SentimentScore": {"Positive": 0.99}}
    definition = single(
        "arn:aws:states:::aws-sdk:comprehend:detectSentiment", {"LanguageCode": "en", "Text": "t"}
    )
    record = run(definition, "Case", one_answer(answer))
    assert (record.status, record.output) == ("SUCCEEDED", answer)
    succeeded = events(record, "TaskSucceeded")[0]
    assert (succeeded["resourceType"], succeeded["resource"]) == ("aws-sdk", "comprehend:detectSentiment")


def test_a_bare_function_arn_returns_the_payload_of_the_mocked_invoke_response() -> None:
    definition = single("arn:aws:lambda:us-east-1:123456789012:function:Hello")
    record = run(definition, "Case", one_answer(LAMBDA_OK))
    assert record.output == LAMBDA_OK["Payload"]
    assert [e["type"] for e in record.history][2:5] == [
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
    ]


def test_return_may_be_any_json_value() -> None:
    record = run(
        single("arn:aws:states:::sns:publish", {"TopicArn": "t", "Message": "m"}), "Case", one_answer("ok")
    )
    assert record.output == "ok"


def test_a_redriven_execution_counts_on_from_where_it_failed() -> None:
    config = {
        "StateMachines": {"Test": {"TestCases": {"Case": {"Only": "Answer"}}}},
        "MockedResponses": {
            "Answer": {"0": {"Throw": {"Error": "Boom", "Cause": "first"}}, "1": {"Return": {"ok": True}}}
        },
    }
    host = host_with(config)
    record = run(single("arn:aws:states:::sns:publish", {"TopicArn": "t", "Message": "m"}), "Case", host=host)
    assert (record.status, record.error) == ("FAILED", "Boom")
    redriven = host.redrive(record.execution_arn, sync=True)
    assert (redriven.status, redriven.output) == ("SUCCEEDED", {"ok": True})


def test_a_file_with_problems_is_refused_naming_each_with_its_pointer() -> None:
    bad = {
        "StateMachines": {"M": {"TestCases": {"C": {"S": 3}}}, "N": {}},
        "MockedResponses": {
            "R": {
                "zero": {"Return": 1},
                "0-2": {"Return": 1},
                "2": {"Throw": {"Error": "E"}},
                "3": {"Return": 1, "Throw": {"Error": "E"}},
                "4": {"Throw": {"Cause": "no error"}},
            }
        },
        "Extra": {},
    }
    with pytest.raises(MockConfigError) as refused:
        MockConfig(bad, "mocks.json")
    assert refused.value.problems == [
        "/Extra: unknown field (expected StateMachines and MockedResponses)",
        "/StateMachines/M/TestCases/C: must map state names to mocked response names",
        "/StateMachines/N: must be an object with a TestCases object",
        '/MockedResponses/R/zero: not an invocation number or range ("0", "1-2")',
        "/MockedResponses/R/3: must hold exactly one of Return or Throw",
        "/MockedResponses/R/4/Throw: must be an object with a string Error (and a string Cause)",
        "/MockedResponses/R: invocations 0-2 and 2-2 overlap",
    ]


def test_empty_and_unused_mocked_responses_are_accepted() -> None:
    config = copy.deepcopy(CONFIG)
    config["MockedResponses"]["Unused"] = {}
    assert run(LAMBDA_SQS, "HappyPath", config).status == "SUCCEEDED"
