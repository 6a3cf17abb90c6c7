"""The shape part B's services take: a ProtocolService over JSON 1.0, dispatched by operation."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from localcloud.clock import Clock
from localcloud.server.errors import AwsError
from localcloud.server.http import Request
from localcloud.server.protocols import JsonProtocol
from localcloud.server.registry import ProtocolService, ServiceContext, ServiceRegistry
from localcloud.state import Store


class ExecutionDoesNotExist(AwsError):
    code = "ExecutionDoesNotExist"
    status = 400
    sender_fault = True


class FakeStepFunctions(ProtocolService):
    signing_name = "states"
    title = "Step Functions"

    def __init__(self) -> None:
        self.protocol = JsonProtocol("stepfunctions")
        self.recovered_after: str | None = None

    async def recover(self, context: ServiceContext) -> None:
        self.recovered_after = context.previous_shutdown

    async def list_state_machines(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"stateMachines": []}

    def describe_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{params['executionArn']}'")


def call(service: FakeStepFunctions, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = Request.build(
        "POST", "/", headers={"X-Amz-Target": f"AWSStepFunctions.{operation}"}, body=json.dumps(body).encode()
    )
    response = asyncio.run(service.handle(request))
    return response.status, json.loads(response.body)


def test_operations_dispatch_to_snake_case_methods_and_errors_keep_their_code() -> None:
    service = FakeStepFunctions()
    assert call(service, "ListStateMachines", {}) == (200, {"stateMachines": []})
    status, body = call(service, "DescribeExecution", {"executionArn": "arn:x"})
    assert (status, body["__type"]) == (400, "ExecutionDoesNotExist")
    status, body = call(service, "StopExecution", {"executionArn": "arn:x"})
    assert (status, body["__type"]) == (501, "NotImplemented")
    assert "StopExecution" in body["message"]
    status, body = call(service, "DescribeExecution", {})
    assert (status, body["__type"]) == (400, "ValidationException")


def test_the_registry_runs_recover_before_start_with_how_the_last_run_ended(tmp_path: Path) -> None:
    service = FakeStepFunctions()
    context = ServiceContext(
        store=Store(None),
        clock=Clock(),
        home=tmp_path,
        endpoint_url="http://127.0.0.1:1",
        region="us-east-1",
        account_id="000000000000",
        previous_shutdown="crash",
    )
    asyncio.run(ServiceRegistry([service]).start(context))
    assert service.recovered_after == "crash"
    assert context.service("states") is service
    assert context.service("athena") is None
