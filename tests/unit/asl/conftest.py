"""Helpers for the interpreter's unit tests: a host on a virtual clock with a fake Lambda."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from localcloud.asl import ExecutionHost, ExecutionRecord, VirtualClock

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
SM_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Test"
# A succeeded execution as DescribeExecution's JSON in payloads (.sync results, Map result files).
SUCCEEDED_EXECUTION_KEYS = [
    "ExecutionArn",
    "Input",
    "InputDetails",
    "Name",
    "Output",
    "OutputDetails",
    "RedriveCount",
    "RedriveStatus",
    "RedriveStatusReason",
    "StartDate",
    "StateMachineArn",
    "Status",
    "StopDate",
]


class ScriptedLambda:
    """A boto3-shaped Lambda client whose functions are Python callables (raise to fail)."""

    def __init__(self, functions: dict[str, Callable[[Any], Any]]) -> None:
        self.functions = functions
        self.calls: list[tuple[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        name = kwargs["FunctionName"].split(":function:")[-1].split(":")[0]
        payload = json.loads(kwargs["Payload"]) if kwargs.get("Payload") else None
        self.calls.append((name, payload))
        meta = {"HTTPStatusCode": 200, "RequestId": "req-1", "HTTPHeaders": {}}
        try:
            result = self.functions[name](payload)
        except Exception as exc:
            body = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(json.dumps(body).encode()),
                "ResponseMetadata": meta,
            }
        return {
            "StatusCode": 200,
            "Payload": io.BytesIO(json.dumps(result).encode()),
            "ResponseMetadata": meta,
        }


class Harness:
    def __init__(self) -> None:
        self.clock = VirtualClock(START)
        self.functions: dict[str, Callable[[Any], Any]] = {}
        self.lambda_client = ScriptedLambda(self.functions)
        self.host = ExecutionHost(clock=self.clock, client_factory=lambda service: self.lambda_client)

    def run(self, definition: dict[str, Any], input: Any = None, **kwargs: Any) -> ExecutionRecord:
        return self.host.start_execution(
            definition, state_machine_arn=SM_ARN, input=input, sync=True, **kwargs
        )

    def types(self, record: ExecutionRecord) -> list[str]:
        return [e["type"] for e in record.history]


@pytest.fixture
def harness() -> Harness:
    return Harness()


def machine(states: dict[str, Any], start: str | None = None, **top: Any) -> dict[str, Any]:
    return {"StartAt": start or next(iter(states)), "States": states, **top}
