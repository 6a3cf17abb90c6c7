"""Differential tests: the same JSONPath definitions and inputs on moto's interpreter and ours give
the same status and output, for features moto supports (issue 3's "Differential tests")."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.asl import ExecutionHost, VirtualClock

CASES: dict[str, tuple[dict[str, Any], Any]] = {
    "paths": (
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Pass",
                    "InputPath": "$.in",
                    "Result": {"r": 1},
                    "ResultPath": "$.res",
                    "Next": "B",
                },
                "B": {
                    "Type": "Pass",
                    "Parameters": {"x.$": "$.res.r", "all.$": "$", "k": "v"},
                    "OutputPath": "$.all",
                    "End": True,
                },
            },
        },
        {"in": {"a": 1}},
    ),
    # Results are objects: moto returns a string output without JSON-encoding it.
    "choice": (
        {
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "And": [
                                {"Variable": "$.n", "NumericGreaterThan": 1},
                                {"Variable": "$.s", "StringEquals": "x"},
                            ],
                            "Next": "Y",
                        },
                        {"Variable": "$.b", "BooleanEquals": True, "Next": "Z"},
                    ],
                    "Default": "D",
                },
                "Y": {"Type": "Pass", "Result": {"r": "y"}, "End": True},
                "Z": {"Type": "Pass", "Result": {"r": "z"}, "End": True},
                "D": {"Type": "Pass", "Result": {"r": "d"}, "End": True},
            },
        },
        {"n": 0, "s": "x", "b": True},
    ),
    "intrinsics": (
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Pass",
                    "Parameters": {
                        "f.$": "States.Format('{}-{}', $.a, $.b)",
                        "arr.$": "States.Array($.a, $.b)",
                        "len.$": "States.ArrayLength($.xs)",
                        "json.$": "States.JsonToString($.o)",
                        "add.$": "States.MathAdd($.a, 5)",
                    },
                    "End": True,
                }
            },
        },
        {"a": 1, "b": "two", "xs": [1, 2, 3], "o": {"k": [1]}},
    ),
    "map": (
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
                    "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                    "ResultPath": "$.out",
                    "End": True,
                }
            },
        },
        {"items": ["a", "b", "c"]},
    ),
    "parallel": (
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "Branches": [
                        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": True}}},
                        {"StartAt": "B", "States": {"B": {"Type": "Pass", "InputPath": "$.x", "End": True}}},
                    ],
                    "ResultSelector": {"first.$": "$[0]", "second.$": "$[1]"},
                    "End": True,
                }
            },
        },
        {"x": {"y": 2}},
    ),
    "fail": ({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}, {}),
}


def run_moto(definition: dict[str, Any], payload: Any) -> tuple[str, Any, str | None]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # type: ignore[arg-type]
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(
            name="Diff", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))["executionArn"]
        deadline = time.monotonic() + 20
        while True:
            described = sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                break
            time.sleep(0.01)
    output = json.loads(described["output"]) if "output" in described else None
    return described["status"], output, described.get("error")


def run_ours(definition: dict[str, Any], payload: Any) -> tuple[str, Any, str | None]:
    host = ExecutionHost(clock=VirtualClock(), client_factory=lambda service: None)
    record = host.start_execution(
        definition,
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:Diff",
        input=payload,
        sync=True,
    )
    return record.status, record.output, record.error


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_result_as_moto(name: str) -> None:
    definition, payload = CASES[name]
    assert run_ours(definition, payload) == run_moto(definition, payload)
