"""TestState on the interpreter: statuses, inspection data, mocks and state configuration, each
checked against what AWS answered in recorded TestState calls (the expected values below are AWS's
answers to the same requests)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.asl.test_state import TestStateRefused, TestStateRequest, TestStateRunner

ROLE = "arn:aws:iam::123456789012:role/test"
HELLO = json.dumps({"Value": "HelloWorld"})
VALUES = json.dumps({"Values": ["first", "second", "third"]})


class Clients:
    """Records calls; a test that mocks everything never reaches it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, service: str) -> Any:
        self.calls.append(service)
        raise AssertionError(f"no service may be called, got {service}")


def run_test_state(definition: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    request = TestStateRequest(definition=json.dumps(definition), **kwargs)
    return TestStateRunner(client_factory=Clients()).run(request)


def refused(definition: dict[str, Any], **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(TestStateRefused) as caught:
        run_test_state(definition, **kwargs)
    return caught.value.code, caught.value.message


def inspection(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if not isinstance(v, str) else json.loads(v)) for k, v in answer["inspectionData"].items()}


PASS = {"Type": "Pass", "End": True}
RESULT_PASS = {"Type": "Pass", "Result": {"resultKey": "result value"}, "End": True}
IO_PASS = {
    "Type": "Pass",
    "InputPath": "$.initialData",
    "Parameters": {"staticValue": "some value", "inputValue.$": "$.fieldFromInput"},
    "ResultPath": "$.modifiedData",
    "End": True,
}
NESTED = json.dumps(
    {"initialData": {"fieldFromInput": "value from input", "otherField": "other"}, "unrelatedData": {"n": 1}}
)


def test_info_level_gives_the_status_and_output_only() -> None:
    assert run_test_state(PASS, input=HELLO) == {"status": "SUCCEEDED", "output": '{"Value":"HelloWorld"}'}


def test_a_pass_state_shows_each_step_of_its_input_and_output_processing() -> None:
    answer = run_test_state(IO_PASS, input=NESTED, inspection_level="DEBUG")
    assert inspection(answer) == {
        "input": json.loads(NESTED),
        "afterInputPath": {"fieldFromInput": "value from input", "otherField": "other"},
        "afterParameters": {"staticValue": "some value", "inputValue": "value from input"},
        "afterResultSelector": {"staticValue": "some value", "inputValue": "value from input"},
        "afterResultPath": {
            **json.loads(NESTED),
            "modifiedData": {"staticValue": "some value", "inputValue": "value from input"},
        },
    }
    assert answer["inspectionData"]["input"] == NESTED  # the input's own text


def test_a_pass_state_with_result_shows_the_result_and_no_input_processing() -> None:
    answer = run_test_state(RESULT_PASS, input=HELLO, inspection_level="TRACE")
    assert inspection(answer) == {
        "input": {"Value": "HelloWorld"},
        "result": {"resultKey": "result value"},
        "afterResultSelector": {"resultKey": "result value"},
        "afterResultPath": {"resultKey": "result value"},
    }


def test_fail_choice_and_succeed_show_the_input_path_only() -> None:
    fail = {
        "Type": "Fail",
        "Error": "SomeFailure",
        "Cause": "This state machines raises a 'SomeFailure' failure.",
    }
    answer = run_test_state(fail, input=HELLO, inspection_level="DEBUG")
    assert (answer["status"], answer["error"], answer["cause"]) == (
        "FAILED",
        "SomeFailure",
        "This state machines raises a 'SomeFailure' failure.",
    )
    assert inspection(answer) == {"input": {"Value": "HelloWorld"}, "afterInputPath": {"Value": "HelloWorld"}}
    choice = {
        "Type": "Choice",
        "Choices": [
            {
                "And": [
                    {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                    {"Variable": "$.value", "NumericLessThan": 30},
                ],
                "Next": "ValueInTwenties",
            }
        ],
        "Default": "DefaultState",
    }
    answer = run_test_state(
        choice, input=json.dumps({"type": "Private", "value": 22}), inspection_level="DEBUG"
    )
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", "ValueInTwenties")
    assert set(inspection(answer)) == {"input", "afterInputPath"}


LAMBDA_TASK = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName.$": "$.FunctionName", "Payload.$": "$.Payload"},
    "End": True,
}


def test_a_task_needs_a_role_unless_it_is_mocked() -> None:
    assert refused(LAMBDA_TASK, input=json.dumps({"FunctionName": "f", "Payload": None})) == (
        "ValidationException",
        "RoleArn must be specified when testing a Task state",
    )


def test_a_mocked_task_returns_the_mocked_result_without_calling_the_service() -> None:
    result = {"Payload": "function output", "SdkHttpMetadata": {"HttpStatusCode": 200}}
    answer = run_test_state(
        LAMBDA_TASK,
        input=json.dumps({"FunctionName": "f", "Payload": None}),
        mock={"result": json.dumps(result)},
        inspection_level="DEBUG",
    )
    assert (answer["status"], json.loads(answer["output"])) == ("SUCCEEDED", result)
    assert "nextState" not in answer
    assert list(inspection(answer)) == [
        "input",
        "afterInputPath",
        "afterParameters",
        "result",
        "afterResultSelector",
        "afterResultPath",
    ]


JSONATA_TASK_CATCH = {
    "QueryLanguage": "JSONata",
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Arguments": {"FunctionName": "foo", "Payload": "bar"},
    "Catch": [
        {"ErrorEquals": ["MockException"], "Output": "{% $states.errorOutput %}", "Next": "HandleMockError"},
        {"ErrorEquals": ["States.ALL"], "Next": "HandleThreshold"},
    ],
    "End": True,
}


def test_a_caught_error_is_caught_error_with_the_catchers_output_and_next_state() -> None:
    answer = run_test_state(
        JSONATA_TASK_CATCH,
        input=HELLO,
        inspection_level="DEBUG",
        mock={"errorOutput": {"error": "MockException", "cause": "Mock the cause of the error."}},
    )
    assert answer["status"] == "CAUGHT_ERROR"
    assert (answer["error"], answer["cause"], answer["nextState"]) == (
        "MockException",
        "Mock the cause of the error.",
        "HandleMockError",
    )
    assert json.loads(answer["output"]) == {"Error": "MockException", "Cause": "Mock the cause of the error."}
    assert inspection(answer) == {
        "input": {"Value": "HelloWorld"},
        "afterArguments": {"FunctionName": "foo", "Payload": "bar"},
        "errorDetails": {"catchIndex": 0},
    }
    other = run_test_state(
        JSONATA_TASK_CATCH,
        input=HELLO,
        inspection_level="DEBUG",
        mock={"errorOutput": {"error": "States.TaskFailed", "cause": "The task failed."}},
    )
    assert (other["nextState"], inspection(other)["errorDetails"]) == ("HandleThreshold", {"catchIndex": 1})


RETRIED_TASK = {
    "QueryLanguage": "JSONata",
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Arguments": {"FunctionName": "foo", "Payload": "bar"},
    "Retry": [{"ErrorEquals": ["MockException"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0}],
    "End": True,
}
MOCK_ERROR = {"errorOutput": {"error": "MockException", "cause": "Mock the cause of the error."}}


def test_a_retrier_with_attempts_left_makes_the_state_retriable_with_its_backoff() -> None:
    answer = run_test_state(
        RETRIED_TASK,
        input=VALUES,
        inspection_level="DEBUG",
        mock=MOCK_ERROR,
        state_configuration={"retrierRetryCount": 4},
    )
    assert (answer["status"], answer["error"]) == ("RETRIABLE", "MockException")
    assert "output" not in answer and "nextState" not in answer
    assert inspection(answer)["errorDetails"] == {"retryIndex": 0, "retryBackoffIntervalSeconds": 1 * 2**4}


def test_an_exhausted_retrier_fails_the_state_naming_the_retrier() -> None:
    answer = run_test_state(
        RETRIED_TASK,
        input=VALUES,
        inspection_level="DEBUG",
        mock=MOCK_ERROR,
        state_configuration={"retrierRetryCount": 5},
    )
    assert answer["status"] == "FAILED"
    assert inspection(answer)["errorDetails"] == {"retryIndex": 0}


JSONATA_MAP = {
    "QueryLanguage": "JSONata",
    "Type": "Map",
    "Items": "{% $states.input.Values %}",
    "ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "TestState",
        "States": {"TestState": {"Type": "Pass", "End": True}},
    },
    "ToleratedFailureCount": 1,
    "Catch": [{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "HandleThreshold"}],
    "End": True,
}


def test_a_mocked_map_passes_the_mocked_text_on_and_shows_its_settings() -> None:
    answer = run_test_state(
        JSONATA_MAP,
        input=VALUES,
        inspection_level="DEBUG",
        mock={"result": json.dumps([1, 1, 1])},
        state_configuration={"mapIterationFailureCount": 0},
    )
    assert (answer["status"], answer["output"]) == ("SUCCEEDED", "[1, 1, 1]")  # the mock's own text
    assert inspection(answer) == {
        "input": {"Values": ["first", "second", "third"]},
        "maxConcurrency": 0,
        "toleratedFailureCount": 1,
    }


def test_map_iteration_failures_over_the_tolerated_count_exceed_the_threshold() -> None:
    answer = run_test_state(
        JSONATA_MAP,
        input=VALUES,
        inspection_level="DEBUG",
        mock={"result": json.dumps([0, 0, 1])},
        state_configuration={"mapIterationFailureCount": 2},
    )
    assert (answer["status"], answer["error"], answer["cause"], answer["nextState"]) == (
        "CAUGHT_ERROR",
        "States.ExceedToleratedFailureThreshold",
        "The specified tolerated failure threshold was exceeded",
        "HandleThreshold",
    )


@pytest.mark.parametrize(
    ("definition", "mock", "expected"),
    [
        (
            PASS,
            {"result": "{}"},
            ("ValidationException", "State type 'Pass' is not supported when a mock is specified"),
        ),
        (
            {**JSONATA_MAP, "Catch": []},
            None,
            (
                "InvalidDefinition",
                "TestState API does not support Map or Parallel states. Supported state types include: "
                "[Task, Wait, Pass, Succeed, Fail, Choice]",
            ),
        ),
        (
            LAMBDA_TASK,
            {"result": "{}", "errorOutput": {"error": "E"}},
            (
                "ValidationException",
                "A test mock should have only one of the following fields: [result, errorOutput].",
            ),
        ),
        (
            {**JSONATA_MAP, "Catch": []},
            {"result": "{}"},
            ("ValidationException", "Mocked result must be an array."),
        ),
        (
            {"Type": "Parallel", "Branches": [{"StartAt": "A", "States": {"A": PASS}}], "End": True},
            {"result": "[1, 2]"},
            (
                "ValidationException",
                "Mocked result must contain the same number of items as number of Parallel branches.",
            ),
        ),
    ],
)
def test_requests_aws_refuses_are_refused_with_its_words(
    definition: dict[str, Any], mock: dict[str, Any] | None, expected: tuple[str, str]
) -> None:
    assert refused(definition, input="{}", mock=mock, role_arn=ROLE) == expected


def test_reveal_secrets_cannot_go_with_a_mock() -> None:
    assert refused(LAMBDA_TASK, mock={"result": "{}"}, reveal_secrets=True) == (
        "ValidationException",
        "TestState does not support RevealSecrets when a mock is specified.",
    )


PARAMETERS = {
    "arn:aws:states:::lambda:invoke": {"FunctionName": "f"},
    "arn:aws:states:::states:startExecution": {
        "StateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:T"
    },
}


@pytest.mark.parametrize(
    ("resource", "result", "mode", "problem"),
    [
        (
            "arn:aws:states:::lambda:invoke",
            {"StatusCode": "200"},
            "STRICT",
            "Field 'StatusCode' must be a number",
        ),
        ("arn:aws:states:::events:putEvents", {"Entries": {}}, "PRESENT", "Field 'Entries' must be an array"),
        (
            "arn:aws:states:::events:putEvents",
            {"Entries": [{"EventId": "a"}, {"EventId": 1}]},
            "STRICT",
            "Field 'EventId' must be a string",
        ),
        ("arn:aws:states:::states:startExecution", {}, "STRICT", "Required field 'ExecutionArn' is missing"),
        (
            "arn:aws:states:::states:startExecution",
            {"ExecutionArn": "a", "StartDate": True},
            "PRESENT",
            "Field 'StartDate' must be a string",
        ),
        (
            "arn:aws:states:::aws-sdk:s3:getObject",
            {"StorageClass": "NOPE"},
            "STRICT",
            "Field 'StorageClass' is not an expected value",
        ),
        (
            "arn:aws:states:::aws-sdk:s3:getObject",
            {"ContentLength": "1"},
            "STRICT",
            "Field 'ContentLength' must be a number",
        ),
    ],
)
def test_mocked_results_are_checked_against_the_api_response(
    resource: str, result: Any, mode: str, problem: str
) -> None:
    task = {"Type": "Task", "Resource": resource, "Parameters": PARAMETERS.get(resource, {}), "End": True}
    mock = {"result": json.dumps(result), "fieldValidationMode": mode}
    assert refused(task, mock=mock) == (
        "ValidationException",
        f"Mock result schema validation error: {problem}",
    )


@pytest.mark.parametrize(
    ("mode", "result"),
    [
        ("PRESENT", {}),  # nothing present, nothing wrong: required fields are STRICT's
        ("NONE", {"ExecutionArn": "a", "StartDate": True}),
        ("STRICT", {"random": "json", "ExecutionArn": "a", "StartDate": "2025-01-01T00:00:00Z"}),
    ],
)
def test_lenient_modes_and_unknown_fields_pass(mode: str, result: dict[str, Any]) -> None:
    resource = "arn:aws:states:::states:startExecution"
    task = {"Type": "Task", "Resource": resource, "Parameters": PARAMETERS[resource], "End": True}
    answer = run_test_state(task, mock={"result": json.dumps(result), "fieldValidationMode": mode})
    assert (answer["status"], json.loads(answer["output"])) == ("SUCCEEDED", result)


MACHINE = {
    "QueryLanguage": "JSONata",
    "StartAt": "Approval Required",
    "States": {
        "Approval Required": {
            "Type": "Choice",
            "Choices": [{"Condition": "{% $states.input.cost > 9 %}", "Next": "Ask for Approval"}],
            "Default": "Purchase Approved",
        },
        "Ask for Approval": {
            "Type": "Task",
            "Resource": "arn:aws:states:::http:invoke",
            "Arguments": {"ApiEndpoint": "example.execute-api.us-east-1.amazonaws.com", "Method": "POST"},
            "Output": "{% $merge([$states.result, {'approved_by': 'Mary'}]) %}",
            "Next": "Purchase Approved",
        },
        "Purchase Approved": {"Type": "Succeed"},
    },
}


def test_one_state_of_a_whole_machine_is_tested_by_name() -> None:
    small = run_test_state(MACHINE, state_name="Approval Required", input=json.dumps({"cost": 9}))
    large = run_test_state(MACHINE, state_name="Approval Required", input=json.dumps({"cost": 10}))
    assert (small["nextState"], large["nextState"]) == ("Purchase Approved", "Ask for Approval")
    asked = run_test_state(
        MACHINE,
        state_name="Ask for Approval",
        input=json.dumps({"cost": 10}),
        mock={"result": '{"approval": true }'},
        inspection_level="TRACE",
    )
    assert json.loads(asked["output"]) == {"approval": True, "approved_by": "Mary"}
    assert inspection(asked)["result"] == {"approval": True}
    assert asked["nextState"] == "Purchase Approved"


def test_variables_are_in_scope_and_shown_after_the_state() -> None:
    state = {
        "QueryLanguage": "JSONata",
        "Type": "Pass",
        "Assign": {"doubled": "{% $base * 2 %}"},
        "Output": {
            "context_name": "{% $states.context.State.Name %}",
            "role": "{% $states.context.Execution.RoleArn %}",
        },
        "End": True,
    }
    answer = run_test_state(state, input="{}", variables=json.dumps({"base": 8}), inspection_level="DEBUG")
    assert json.loads(answer["output"]) == {"context_name": "StateName", "role": None}
    assert inspection(answer) == {"input": {}, "variables": {"base": 8, "doubled": 16}}


def test_a_mocked_state_sees_the_context_given_over_its_own() -> None:
    task = {
        "QueryLanguage": "JSONata",
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "f", "Payload": "{% $states.context.Execution.Name %}"},
        "Output": "{% $states.context.Execution.Name %}",
        "End": True,
    }
    answer = run_test_state(
        task,
        mock={"result": "{}"},
        context=json.dumps({"Execution": {"Name": "given-name"}}),
        inspection_level="DEBUG",
    )
    assert json.loads(answer["output"]) == "given-name"
    assert inspection(answer)["afterArguments"] == {"FunctionName": "f", "Payload": "given-name"}


def test_a_wait_state_is_not_waited_for() -> None:
    answer = run_test_state({"Type": "Wait", "Seconds": 86400, "Next": "After"}, input=HELLO)
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", "After")


def test_the_pinned_botocore_carries_every_2025_test_state_field() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("stepfunctions").operation_model("TestState")
    request, response = model.input_shape.members, model.output_shape.members
    assert set(request) == {
        "definition", "roleArn", "input", "inspectionLevel", "revealSecrets", "variables", "stateName",
        "mock", "context", "stateConfiguration",
    }  # fmt: skip
    assert set(request["mock"].members) == {"result", "errorOutput", "fieldValidationMode"}
    assert set(request["stateConfiguration"].members) == {
        "retrierRetryCount", "errorCausedByState", "mapIterationFailureCount", "mapItemReaderData",
    }  # fmt: skip
    assert set(response) == {"output", "error", "cause", "inspectionData", "nextState", "status"}
    assert response["status"].enum == ["SUCCEEDED", "FAILED", "RETRIABLE", "CAUGHT_ERROR"]
    assert {"afterArguments", "variables", "errorDetails", "afterItemsPath", "maxConcurrency"} <= set(
        response["inspectionData"].members
    )
