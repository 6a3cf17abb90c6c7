"""boto3 clients for a localcloud endpoint that a test started itself (restart tests), a Python
function created from a zip, and what a state machine that EventBridge targets was started with."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3


def endpoint_client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def clients(endpoint: str) -> Callable[[str], Any]:
    """A client maker for one endpoint: ``clients(endpoint)("s3")``."""
    return lambda service: endpoint_client(endpoint, service)


ROLE = "arn:aws:iam::000000000000:role/localcloud-tests"


def create_function(lam: Any, name: str, package: bytes, **extra: Any) -> dict[str, Any]:
    """CreateFunction of a python3.12 function whose handler is ``app.handler``."""
    created: dict[str, Any] = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": package},
        **extra,
    )
    return created


def sink_inputs(sfn: Any, sink: str, count: int, timeout: float = 30) -> list[Any]:
    """The inputs the executions of ``sink`` (a state machine a rule targets) were started with,
    oldest first, once there are ``count`` of them (and fails if there are more)."""
    deadline = time.monotonic() + timeout
    while True:
        runs = sfn.list_executions(stateMachineArn=sink)["executions"]
        if len(runs) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(runs) == count, f"{len(runs)} deliveries to {sink}, expected {count}"
    runs.sort(key=lambda run: run["startDate"])
    return [json.loads(sfn.describe_execution(executionArn=run["executionArn"])["input"]) for run in runs]
