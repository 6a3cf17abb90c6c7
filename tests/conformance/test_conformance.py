"""The conformance runner: runs every fixture under ``cases/`` on localcloud's interpreter with a
virtual clock and fake task services, and compares what the fixture expects.

The format is described in README.md beside this file: definition, input, optional execution
settings and services, expected status/output/error/cause/definition_errors/history/history_events,
an optional stop step and an optional redrive step.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from conformance.conftest import CASES, case_files
from conformance.fakes import FakeLambda, NotServed
from conformance.pending import pending_reason
from localcloud.asl import (
    ExecutionHost,
    ExecutionNotRedrivable,
    ExecutionRecord,
    VirtualClock,
    parse_definition,
    validate_definition,
)
from localcloud.asl.history import parse_iso

ENGINE = "localcloud"
# Real seconds a stopped execution gets to unwind (it needs none of virtual time).
RUN_TIMEOUT_SECONDS = 30.0
DEFAULTS: dict[str, Any] = {
    "name": "conformance-execution",
    "state_machine_name": "ConformanceMachine",
    "start_time": "2024-01-01T00:00:00.000Z",
    "region": "us-east-1",
    "account": "123456789012",
    "type": "STANDARD",
}


def _id(path: Path) -> str:
    return str(path.relative_to(CASES).with_suffix(""))


@pytest.mark.parametrize("case_path", case_files(), ids=_id)
def test_conformance(case_path: Path) -> None:
    case = json.loads(case_path.read_text())
    relative = str(case_path.relative_to(CASES))
    if ENGINE in case.get("skip_on", []):
        pytest.skip(case.get("skip_reason", f"skipped on {ENGINE}"))
    reason = pending_reason(relative, case)
    if reason:
        pytest.skip(reason)
    run_case(case)


class CaseServices:
    """The task services one case sees: fake Lambda, moto S3/DynamoDB, child state machines."""

    def __init__(self, services: dict[str, Any], region: str, account: str, stack: ExitStack) -> None:
        self.region = region
        self.account = account
        self.stack = stack
        self.lambda_client = FakeLambda(services.get("lambda", {}))
        self.machines: dict[str, Any] = {}
        self.moto_clients: dict[str, Any] = {}
        if services.get("s3") or services.get("dynamodb"):
            self._seed_moto(services)
        for name, spec in (services.get("state_machines") or {}).items():
            arn = f"arn:aws:states:{region}:{account}:stateMachine:{name}"
            machine = parse_definition(spec["definition"])
            machine.machine_type = spec.get("type", "STANDARD")
            self.machines[arn] = machine

    def replace(self, services: dict[str, Any]) -> None:
        if "lambda" in services:
            self.lambda_client.functions = {k: list(v) for k, v in services["lambda"].items()}
            self.lambda_client._counts.clear()

    def _seed_moto(self, services: dict[str, Any]) -> None:
        import boto3
        from moto import mock_aws

        self.stack.enter_context(mock_aws())
        s3 = boto3.client("s3", region_name=self.region)
        buckets: set[str] = set()
        for url, content in (services.get("s3") or {}).items():
            bucket, _, key = url.removeprefix("s3://").partition("/")
            if bucket not in buckets:
                s3.create_bucket(Bucket=bucket)
                buckets.add(bucket)
            body = content if isinstance(content, str) else json.dumps(content)
            s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))
        ddb = boto3.client("dynamodb", region_name=self.region)
        spec = services.get("dynamodb") or {}
        for table in spec.get("tables", []):
            ddb.create_table(**table)
        for table_name, items in (spec.get("items") or {}).items():
            for item in items:
                ddb.put_item(TableName=table_name, Item=item)
        self.moto_clients = {"s3": s3, "dynamodb": ddb}

    def client(self, service: str) -> Any:
        if service == "lambda":
            return self.lambda_client
        if service in self.moto_clients:
            return self.moto_clients[service]
        if not self.moto_clients:  # nothing serves it: answered as localcloud answers, never AWS
            return NotServed(service)
        import boto3

        return boto3.client(service, region_name=self.region)  # type: ignore[call-overload]

    def resolve_machine(self, arn: str) -> Any:
        if arn not in self.machines:
            raise KeyError(f"no state machine {arn} in the fixture's services")
        return self.machines[arn]


class CallbackAnswers:
    """Answers .waitForTaskToken tokens from the fixture's ``callbacks``, in the order tokens are
    issued. Called by the waiting integration from inside the execution (so the virtual clock has not
    moved on). ``{"heartbeat": n}`` sends n heartbeats and no answer; ``{"none": true}`` no answer.

    An entry that is a list is a worker's script for its token, run on a thread of its own that
    takes part in the virtual clock (so time moves to its steps as it does to the execution's
    sleeps): ``{"wait": seconds}`` sleeps that many virtual seconds, then ``{"heartbeat": n}``,
    ``{"success": output}`` or ``{"failure": {...}}`` are sent at that time. A call the service
    refuses (the task already timed out) ends the script, as the error would end a real worker."""

    def __init__(self, host: ExecutionHost, answers: list[Any]) -> None:
        self.host = host
        self.answers = list(answers)
        self.workers: list[threading.Thread] = []

    def __call__(self, waiter: Any) -> None:
        if not self.answers:
            return
        answer = self.answers.pop(0)
        if isinstance(answer, list):
            run = self.host.clock.bind_participant(lambda: self._run_script(waiter.token, answer))
            worker = threading.Thread(target=run, name="conformance-callback-worker", daemon=True)
            self.workers.append(worker)
            worker.start()
        else:
            self._send(waiter.token, answer)

    def _run_script(self, token: str, steps: list[dict[str, Any]]) -> None:
        for step in steps:
            if "wait" in step:
                self.host.clock.sleep(float(step["wait"]))
                continue
            try:
                self._send(token, step)
            except LookupError:  # InvalidToken / TaskTimedOut: the task is over
                return

    def _send(self, token: str, answer: dict[str, Any]) -> None:
        if "success" in answer:
            self.host.send_task_success(token, answer["success"])
        elif "failure" in answer:
            failure = answer["failure"] or {}
            self.host.send_task_failure(token, error=failure.get("error"), cause=failure.get("cause"))
        elif "heartbeat" in answer:
            for _ in range(int(answer["heartbeat"])):
                self.host.send_task_heartbeat(token)

    def join(self) -> None:
        """Wait for the workers' scripts to end (their last steps may come after the execution)."""
        for worker in self.workers:
            worker.join(timeout=10)
            assert not worker.is_alive(), "a callback worker's script did not end"


@contextmanager
def started(case: dict[str, Any]) -> Iterator[tuple[ExecutionHost, ExecutionRecord, CaseServices]]:
    """Run a (valid) case's execution to its end on our interpreter, with its services alive for
    as long as the caller looks at the result (the differential tests use this too)."""
    settings = {**DEFAULTS, **(case.get("execution") or {})}
    with ExitStack() as stack:
        services = CaseServices(case.get("services") or {}, settings["region"], settings["account"], stack)
        clock = VirtualClock(parse_iso(settings["start_time"]))
        host = ExecutionHost(
            clock=clock,
            client_factory=services.client,
            machine_resolver=services.resolve_machine,
            region=settings["region"],
            account=settings["account"],
        )
        answers = CallbackAnswers(host, (case.get("services") or {}).get("callbacks") or [])
        host.task_tokens.on_issue = answers
        region, account = settings["region"], settings["account"]
        sm_arn = f"arn:aws:states:{region}:{account}:stateMachine:{settings['state_machine_name']}"
        stop = case.get("stop")
        # With a stop step the execution runs in the background; this thread takes part in the
        # clock until the stopper is started too, so that time cannot move on without it.
        with clock.participant():
            record = host.start_execution(
                case["definition"],
                state_machine_arn=sm_arn,
                input=case.get("input", {}),
                name=settings["name"],
                execution_type=settings["type"],
                sync=stop is None,
            )
            stopper = stop_later(host, record.execution_arn, stop) if stop is not None else None
        if stopper is not None:
            record = host.wait(record.execution_arn, timeout=RUN_TIMEOUT_SECONDS)
            stopper.join(timeout=RUN_TIMEOUT_SECONDS)
            assert record.status != "RUNNING", "the execution did not end after the stop step"
        yield host, record, services
        answers.join()
        if isinstance(host.task_tokens.on_issue, CallbackAnswers):
            host.task_tokens.on_issue.join()  # a redrive's answers


def stop_later(host: ExecutionHost, execution_arn: str, stop: dict[str, Any]) -> threading.Thread:
    """The fixture's ``stop`` step: a thread that takes part in the virtual clock sleeps
    ``after_seconds`` of the execution's time, then calls StopExecution with the step's error and
    cause (so the execution is stopped while whatever it runs then is waiting on the clock)."""

    def run() -> None:
        host.clock.sleep(float(stop.get("after_seconds", 0)))
        host.stop(execution_arn, error=stop.get("error"), cause=stop.get("cause"))

    run_on_clock = host.clock.bind_participant(run)
    thread = threading.Thread(target=run_on_clock, name="conformance-stopper", daemon=True)
    thread.start()
    return thread


def run_case(case: dict[str, Any]) -> None:
    expected = case["expected"]
    definition = case["definition"]
    if expected["status"] == "INVALID_DEFINITION":
        check_definition_errors(definition, expected)
        return
    problems = validate_definition(definition)
    assert not problems, f"the definition should be valid: {[str(p) for p in problems]}"
    with started(case) as (host, record, services):
        check_result(host, record.execution_arn, expected)
        redrive = case.get("redrive")
        if redrive:
            services.replace(redrive.get("services") or {})
            if "callbacks" in (redrive.get("services") or {}):
                host.task_tokens.on_issue = CallbackAnswers(host, redrive["services"]["callbacks"])
            if "after_seconds" in redrive:  # time passes between the end and the redrive
                assert isinstance(host.clock, VirtualClock)
                host.clock.advance(float(redrive["after_seconds"]))
            redrive_once(host, record.execution_arn, redrive.get("refused"))
            check_result(host, record.execution_arn, redrive["expected"])


def redrive_once(host: ExecutionHost, execution_arn: str, refused: dict[str, Any] | None) -> None:
    """RedriveExecution; when the fixture expects it ``refused``, the API error and its message."""
    try:
        host.redrive(execution_arn, sync=True)
    except ExecutionNotRedrivable as exc:
        assert refused is not None, f"the redrive was refused: ExecutionNotRedrivable: {exc}"
        assert ("ExecutionNotRedrivable", str(exc)) == (refused["error"], refused["message"])
        return
    assert refused is None, f"the redrive should have been refused with {refused}"


def check_definition_errors(definition: Any, expected: dict[str, Any]) -> None:
    problems = validate_definition(definition)
    assert problems, "the definition should be rejected"
    shown = "\n".join(f"  {p.path}: {p.code}: {p.message}" for p in problems)
    for want in expected.get("definition_errors", []):
        matching = [p for p in problems if p.path == want["path"]]
        assert matching, f"no problem reported at {want['path']}; reported:\n{shown}"
        needle = want.get("contains", "").lower()
        assert any(needle in f"{p.code}: {p.message}".lower() for p in matching), (
            f"no problem at {want['path']} mentions {want.get('contains')!r}; reported:\n{shown}"
        )


def check_result(host: ExecutionHost, arn: str, expected: dict[str, Any]) -> None:
    record = host.describe(arn)
    history = host.history(arn)
    types = [e["type"] for e in history]
    context = (
        f"status={record.status} error={record.error} cause={record.cause} output={record.output}\n"
        f"history={types}"
    )
    assert record.status == expected["status"], context
    if "output" in expected:
        assert record.output == expected["output"], context
    if "error" in expected:
        assert record.error == expected["error"], context
    if "cause" in expected:
        assert record.cause == expected["cause"], context
    if "cause_contains" in expected:
        assert expected["cause_contains"] in (record.cause or ""), context
    if "history" in expected:
        assert types == expected["history"], context
    if "history_contains" in expected:
        assert _in_order(expected["history_contains"], types), context
    if "history_events" in expected:
        wanted = expected["history_events"]
        include = wanted.get("include_execution_data", True)
        events = host.history(arn, include_execution_data=include)
        assert [_without_ids(e) for e in events] == wanted["events"], context
    check_history_shape(history)


def _without_ids(event: dict[str, Any]) -> dict[str, Any]:
    """An event as ``history_events`` lists it: its type and details (ids and timestamp are
    checked for every case by :func:`check_history_shape`)."""
    return {k: v for k, v in event.items() if k not in ("id", "previousEventId", "timestamp")}


def _in_order(wanted: list[str], types: list[str]) -> bool:
    it: Iterator[str] = iter(types)
    return all(any(t == w for t in it) for w in wanted)


def check_history_shape(history: list[dict[str, Any]]) -> None:
    """Every event has AWS's fields: consecutive ids, a previous id before it, a timestamp."""
    for index, event in enumerate(history, start=1):
        assert event["id"] == index
        assert 0 <= event["previousEventId"] < index
        assert isinstance(event["timestamp"], dt.datetime)
