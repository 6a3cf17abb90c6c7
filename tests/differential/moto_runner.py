"""Run one conformance fixture case on moto's Step Functions interpreter.

moto executes state machines (an interpreter derived from LocalStack's) when
``mock_aws(config={"stepfunctions": {"execute_state_machine": True}})`` is active. This module
turns a fixture case (tests/conformance/cases/**.json, format in the conformance brief) into
boto3 calls against that mock and reports what happened as an :class:`Outcome`, so that any
engine can be compared with moto on the same case.

Public API:
- ``Outcome``: status, output, error, cause, history_types.
- ``unsupported_reason(case) -> str | None``: why moto cannot run a case (None when it can).
- ``run_case(case) -> Outcome``: run one case on a fresh moto backend.
- ``load_cases(root=CASES_DIR) -> list[tuple[str, dict]]``: every case with its path relative to root.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import boto3

CASES_DIR = Path(__file__).resolve().parent.parent / "conformance" / "cases"

DEFAULT_EXECUTION: dict[str, str] = {
    "name": "conformance-execution",
    "state_machine_name": "ConformanceMachine",
    "start_time": "2024-01-01T00:00:00.000Z",
    "region": "us-east-1",
    "account": "123456789012",
    "type": "STANDARD",
}
ROLE_ARN = "arn:aws:iam::123456789012:role/conformance-role"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# Virtual-clock cases finish at once on our interpreter; moto really waits, so Wait and retry
# intervals are short-circuited (see _fast_clock). This bounds a run that still hangs.
MAX_RUN_SECONDS = 20.0


@dataclass
class Outcome:
    """What one execution ended with, in the fixture's vocabulary."""

    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    history_types: list[str] = field(default_factory=list)


def load_cases(root: Path = CASES_DIR) -> list[tuple[str, dict[str, Any]]]:
    """Every case file under root, sorted, as (path relative to root, parsed case)."""
    cases = []
    for path in sorted(root.rglob("*.json")):
        cases.append((path.relative_to(root).as_posix(), json.loads(path.read_text(encoding="utf-8"))))
    return cases


def _walk_states(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for state in states.values():
        if not isinstance(state, dict):
            continue
        yield state
        for branch in state.get("Branches", []) or []:
            if isinstance(branch, dict):
                yield from _walk_states(branch.get("States", {}) or {})
        for key in ("ItemProcessor", "Iterator"):
            sub = state.get(key)
            if isinstance(sub, dict):
                yield from _walk_states(sub.get("States", {}) or {})


def _definitions(case: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield case.get("definition", {})
    for machine in (case.get("services", {}).get("state_machines") or {}).values():
        yield machine.get("definition", {})


def _uses_jsonata(definition: dict[str, Any]) -> bool:
    if definition.get("QueryLanguage") == "JSONata":
        return True
    return any(s.get("QueryLanguage") == "JSONata" for s in _walk_states(definition.get("States", {}) or {}))


def unsupported_reason(case: dict[str, Any]) -> str | None:
    """Why moto cannot run this case faithfully, or None when it can.

    The predicate is about moto's limits, not about the case being wrong: JSONata needs a Java
    library moto downloads from the network; Lambda needs Docker; moto's clock is the real one
    (so fixed start times, timeouts and stops at a given time cannot be reproduced); it has no
    redrive, no Athena .sync, no callbacks driven from a script, and no JSON-Pointer diagnostics
    for invalid definitions.
    """
    if "moto" in case.get("skip_on", []):
        return f"skip_on moto: {case.get('skip_reason', 'no reason given')}"
    expected = case.get("expected", {})
    if expected.get("status") == "INVALID_DEFINITION":
        return "definition validation: moto reports no JSON-Pointer diagnostics"
    if case.get("redrive"):
        return "redrive: moto does not implement RedriveExecution"
    if case.get("stop"):
        return "stop: a stop at a virtual time cannot be timed on moto's real clock (its Waits are skipped)"
    if any(_uses_jsonata(d) for d in _definitions(case)):
        return "JSONata: moto's JSONata fetches a Java library from the network"
    services = case.get("services", {})
    if services.get("lambda"):
        return "Lambda: moto runs functions in Docker"
    if services.get("callbacks"):
        return "callbacks: .waitForTaskToken answers are not scripted on moto"
    text = json.dumps(case.get("definition", {}))
    for marker, reason in (
        ("arn:aws:lambda:", "Lambda: moto runs functions in Docker"),
        ("arn:aws:states:::lambda:", "Lambda: moto runs functions in Docker"),
        ("athena:", "Athena: moto's Athena has no query engine for .sync"),
        ("aws-sdk:s3:getObject", "S3 getObject: moto hands the interpreter an unserialisable stream Body"),
        (".waitForTaskToken", "callbacks: .waitForTaskToken answers are not scripted on moto"),
        ("StartTime", "virtual clock: moto uses the real start time"),
        ("EnteredTime", "virtual clock: moto uses the real entered time"),
        ("TimeoutSeconds", "virtual clock: moto's timeouts run on the real clock"),
        ("HeartbeatSeconds", "virtual clock: moto's heartbeats run on the real clock"),
    ):
        if marker in text:
            return reason
    if case.get("execution", {}).get("type", "STANDARD") != "STANDARD":
        return "EXPRESS: moto's express executions keep no history to compare"
    return None


@contextmanager
def _fast_clock() -> Iterator[None]:
    """Make moto's Wait states and retry intervals return at once (our clock is virtual)."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

    class _NoSleepTime:
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        @staticmethod
        def sleep(_seconds: float) -> None:
            return None

    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(retrier_decl, "time", _NoSleepTime()))
        stack.enter_context(
            mock.patch.object(wait_function.WaitFunction, "_wait_interval", lambda *_a, **_k: None)
        )
        yield


def _seed_services(case: dict[str, Any], region: str) -> None:
    services = case.get("services", {})
    s3_objects = services.get("s3") or {}
    if s3_objects:
        s3 = boto3.client("s3", region_name=region)
        buckets: set[str] = set()
        for uri, content in s3_objects.items():
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            if bucket not in buckets:
                s3.create_bucket(Bucket=bucket)
                buckets.add(bucket)
            body = content if isinstance(content, str) else json.dumps(content)
            s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))
    dynamodb = services.get("dynamodb") or {}
    if dynamodb:
        ddb = boto3.client("dynamodb", region_name=region)
        for table in dynamodb.get("tables", []):
            ddb.create_table(**table)
        for table_name, items in (dynamodb.get("items") or {}).items():
            for item in items:
                ddb.put_item(TableName=table_name, Item=item)
    sfn = boto3.client("stepfunctions", region_name=region)
    for name, machine in (services.get("state_machines") or {}).items():
        sfn.create_state_machine(
            name=name,
            definition=json.dumps(machine["definition"]),
            roleArn=ROLE_ARN,
            type=machine.get("type", "STANDARD"),
        )


def _parse_output(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def run_case(case: dict[str, Any]) -> Outcome:
    """Run one fixture case on a fresh moto backend and return how the execution ended.

    A definition moto rejects gives status INVALID_DEFINITION with moto's message as the cause.
    """
    from botocore.exceptions import ClientError
    from moto import mock_aws

    execution = {**DEFAULT_EXECUTION, **case.get("execution", {})}
    region = execution["region"]
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), _fast_clock():
        _seed_services(case, region)
        sfn = boto3.client("stepfunctions", region_name=region)
        try:
            machine_arn = sfn.create_state_machine(
                name=execution["state_machine_name"],
                definition=json.dumps(case["definition"]),
                roleArn=ROLE_ARN,
                type=execution["type"],
            )["stateMachineArn"]
        except ClientError as err:
            return Outcome(status="INVALID_DEFINITION", cause=err.response["Error"].get("Message"))
        execution_arn = sfn.start_execution(
            stateMachineArn=machine_arn,
            name=execution["name"],
            input=json.dumps(case.get("input", {})),
        )["executionArn"]
        deadline = time.monotonic() + MAX_RUN_SECONDS
        described = sfn.describe_execution(executionArn=execution_arn)
        while described["status"] not in TERMINAL and time.monotonic() < deadline:
            time.sleep(0.005)
            described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] not in TERMINAL:
            sfn.stop_execution(executionArn=execution_arn, error="Conformance.Hung", cause="moto run hung")
            return Outcome(status="HUNG")
        events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        return Outcome(
            status=described["status"],
            output=_parse_output(described.get("output")),
            error=described.get("error"),
            cause=described.get("cause"),
            history_types=[event["type"] for event in events],
        )
