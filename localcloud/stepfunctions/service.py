"""The Step Functions API (botocore's ``stepfunctions`` model, JSON 1.0) on the interpreter's host.

State machines live in the ``states.machines`` collection; executions, their histories and map
runs in :class:`SqliteExecutionStore`. One :class:`ExecutionHost` runs every execution on
localcloud's clock; the Task integrations call AWS APIs through boto3 clients pointed back at
the endpoint (so a Lambda task reaches localcloud's Lambda, an Athena task its Athena).

Restarts: executions that were running when localcloud stopped end FAILED (``States.Runtime``)
with a cause saying why; after a clean stop the top-level ones are redriven at once. Every rule
is in ``restart`` (its ``RULES`` table).

Every status change of a STANDARD execution (those failures included) is sent to localcloud's
EventBridge as a "Step Functions Execution Status Change" event (``status_events``), published
with the checkpoint that saves it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from localcloud.asl import ExecutionNotFound, ExecutionRecord, StateMachine
from localcloud.asl import service_errors as asl_errors
from localcloud.asl import tokens as asl_tokens
from localcloud.asl.distributed.map_run import MapRun, MapRunNotFound
from localcloud.asl.history import view
from localcloud.asl.mocking import MockConfigError, MockConfigFile, UnknownTestCase
from localcloud.asl.registrations import default_factory
from localcloud.asl.store import RUNNING, SUCCEEDED
from localcloud.asl.test_state import TestStateRefused, TestStateRequest, TestStateRunner
from localcloud.events.models import ServiceEvent
from localcloud.server.errors import ValidationException
from localcloud.server.pagination import BadToken, decode_token, encode_token, page
from localcloud.server.protocols import JsonProtocol
from localcloud.server.registry import ProtocolService, ServiceContext
from localcloud.state import Collection
from localcloud.stepfunctions import restart
from localcloud.stepfunctions.clock import ServerClock
from localcloud.stepfunctions.exceptions import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    InvalidDefinition,
    InvalidExecutionInput,
    InvalidOutput,
    InvalidToken,
    MissingRequiredParameter,
    ResourceNotFound,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    StateMachineTypeNotSupported,
    TaskDoesNotExist,
    TaskTimedOut,
)
from localcloud.stepfunctions.executions import SqliteExecutionStore, Summary, summary_date
from localcloud.stepfunctions.host import EndpointHost
from localcloud.stepfunctions.machines import (
    DEFAULT_LOGGING,
    DEFAULT_TRACING,
    EXPRESS,
    STANDARD,
    StateMachineRecord,
    check_execution_arn,
    check_machine_arn,
    check_name,
    definition_problems,
    raise_invalid,
)
from localcloud.stepfunctions.mocks import mock_file_from_environment, split_test_case
from localcloud.stepfunctions.status_events import status_change

log = logging.getLogger("localcloud.states")

CHECKPOINT_SECONDS = 1.0
MAX_PAYLOAD = 256 * 1024
NOT_TRUNCATED = {"included": True}
# The members of DescribeExecution's answer that StartSyncExecution's has too.
_SYNC_FIELDS = frozenset(
    {
        "executionArn",
        "stateMachineArn",
        "name",
        "startDate",
        "stopDate",
        "status",
        "error",
        "cause",
        "input",
        "inputDetails",
        "output",
        "outputDetails",
    }
)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _limit(value: int | None, default: int = 100, maximum: int = 1000) -> int:
    if not value:
        return default
    if value > maximum:
        raise ValidationException(f"maxResults must be at most {maximum}")
    return value


class StepFunctionsService(ProtocolService):
    signing_name = "states"
    title = "Step Functions"
    blocking = True  # operations touch SQLite and the host's locks: run them off the event loop

    def __init__(self) -> None:
        self.protocol = JsonProtocol("stepfunctions")
        self._context: ServiceContext | None = None
        self._machines: Collection | None = None
        self._executions: SqliteExecutionStore | None = None
        self._host: EndpointHost | None = None
        self._clock: ServerClock | None = None
        self._parsed: dict[tuple[str, str], StateMachine] = {}
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._to_redrive: list[str] = []
        self._mock_file: MockConfigFile | None = None
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="states-api")
        self.executor = self._pool

    # -- lifecycle ------------------------------------------------------------------------------
    async def recover(self, context: ServiceContext) -> None:
        """Executions still RUNNING in the store were interrupted by the last run's end: they end
        FAILED, and after a clean stop the top-level ones are redriven at ``start`` (the rules:
        ``restart.RULES``)."""
        self._open(context)
        cause = restart.interruption_cause(context.previous_shutdown)
        if cause is None:
            return
        now = context.clock.now()
        marked = await asyncio.to_thread(self.executions.fail_interrupted, now, cause)
        if marked:
            log.warning("%d execution(s) interrupted by the last %s", len(marked), context.previous_shutdown)
        summaries = [self.executions.summary(arn) or {} for arn in marked]
        self._to_redrive = [
            s["executionArn"]
            for s in summaries
            if s and restart.redriven_at_start(context.previous_shutdown, s)
        ]

    async def start(self, context: ServiceContext) -> None:
        self._open(context)
        self._loop = asyncio.get_running_loop()
        for arn in self._to_redrive:  # after a clean stop: carry on
            await asyncio.to_thread(self.host.redrive, arn)
        if self._to_redrive:
            log.info("redrove %d execution(s) the last stop interrupted", len(self._to_redrive))
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="states-checkpoint", daemon=True
        )
        self._checkpointer.start()

    async def quiesce(self) -> None:
        """Save the running executions as they stand and accept no more writes: what they do
        while the server goes down (calls failing) must not be recorded as their outcome."""
        self._stopping.set()
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.join, 5)
        if self._executions is not None:
            await asyncio.to_thread(self._executions.close, self._flush_storage)

    async def checkpoint(self) -> int | None:
        """The running executions written now (after MiniStack's data), as the periodic checkpoint
        writes them."""
        if self._executions is None:
            return None
        return await asyncio.to_thread(self._executions.checkpoint, self._flush_storage)

    async def stop(self) -> None:
        await self.quiesce()  # already done by a clean stop's signal; closing twice is harmless
        if self._clock is not None:
            self._clock.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _open(self, context: ServiceContext) -> None:
        if self._context is not None:
            return
        self._context = context
        self._machines = context.store.collection("states.machines")
        self._executions = SqliteExecutionStore(context.store)
        self._executions.on_status_change = self._status_event
        self._executions.publish = self._publish_status_events
        self._clock = ServerClock(context.clock)
        self._mock_file = mock_file_from_environment()
        self._host = EndpointHost(
            clock=self._clock,
            client_factory=context.shared_client,  # boto3 service names (aws-sdk:sfn asks "stepfunctions")
            store=self._executions,
            integrations=default_factory(),
            machine_resolver=self._resolve,
            region=context.region,
            account=context.account_id,
            mock_config=self._mock_file.current if self._mock_file is not None else None,
        )
        self._host.faults = context.faults

    def _checkpoint_loop(self) -> None:
        interval = CHECKPOINT_SECONDS
        while not self._stopping.wait(interval):
            began = time.perf_counter()
            try:
                self.executions.checkpoint(self._flush_storage)
            except Exception:  # never let the loop die: the next tick tries again
                log.exception("saving running executions failed")
            # A checkpoint may wait for a snapshot of MiniStack's: keep checkpoints under ~10% of the time.
            interval = max(CHECKPOINT_SECONDS, 10 * (time.perf_counter() - began))

    def _flush_storage(self) -> None:
        """MiniStack's data made durable (on the event loop), from the checkpoint thread."""
        flush = self.context.flush_storage
        if flush is not None and self._loop is not None and not self._loop.is_closed():
            asyncio.run_coroutine_threadsafe(flush(), self._loop).result(timeout=60)

    def _status_event(self, record: ExecutionRecord) -> ServiceEvent | None:
        """The EventBridge event of the status ``record`` was just put in (STANDARD only, as AWS)."""
        if record.execution_type != STANDARD:
            return None
        if record.status == RUNNING:
            when = record.redrive_date or record.start_date
        else:
            when = record.stop_date or self.context.clock.now()
        return status_change(self._describe(record), when)

    def _publish_status_events(self, events: list[ServiceEvent]) -> None:
        """Hand the events to localcloud's EventBridge (when it is served), inside the checkpoint's
        transaction: its outbox takes them in that same transaction."""
        publish = getattr(self.context.service("events"), "publish", None)
        if publish is not None:
            publish(events)

    @property
    def context(self) -> ServiceContext:
        assert self._context is not None, "the Step Functions service was not started"
        return self._context

    @property
    def host(self) -> EndpointHost:
        assert self._host is not None, "the Step Functions service was not started"
        return self._host

    @property
    def executions(self) -> SqliteExecutionStore:
        assert self._executions is not None, "the Step Functions service was not started"
        return self._executions

    @property
    def machines(self) -> Collection:
        assert self._machines is not None, "the Step Functions service was not started"
        return self._machines

    # -- state machines -----------------------------------------------------------------------------
    def _machine(self, arn: str) -> StateMachineRecord:
        check_machine_arn(arn)
        doc = self.machines.get(arn)
        if doc is None:
            raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
        return StateMachineRecord.from_json(doc)

    def _parse(self, record: StateMachineRecord) -> StateMachine:
        key = (record.arn, record.revision_id)
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = self.host.parse(record.definition, record.type)
            self._parsed[key] = parsed
        return parsed

    def _resolve(self, arn: str) -> StateMachine:
        """The host's machine resolver (states:startExecution, Distributed Map children)."""
        doc = self.machines.get(arn.split("/", 1)[0])
        if doc is None:
            raise LookupError(f"State Machine Does Not Exist: '{arn}'")
        return self._parse(StateMachineRecord.from_json(doc))

    def _check_definition(self, definition: str, machine_type: str) -> None:
        problems = definition_problems(definition, machine_type, self.host.integrations)
        if problems:
            raise_invalid(problems)

    def create_state_machine(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["name"]
        check_name(name)
        machine_type = params.get("type") or STANDARD
        definition = params["definition"]
        self._check_definition(definition, machine_type)
        arn = self.context.arn("states", f"stateMachine:{name}")
        logging_config = params.get("loggingConfiguration") or dict(DEFAULT_LOGGING)
        tracing = params.get("tracingConfiguration") or dict(DEFAULT_TRACING)
        with self._lock:
            existing = self.machines.get(arn)
            if existing is not None:
                # CreateStateMachine is idempotent on name, definition, type, logging and tracing
                # (a different roleArn or tags are ignored, as AWS does).
                current = StateMachineRecord.from_json(existing)
                same = (current.definition, current.type, current.logging, current.tracing) == (
                    definition,
                    machine_type,
                    logging_config,
                    tracing,
                )
                if not same:
                    raise StateMachineAlreadyExists(f"State Machine Already Exists: '{arn}'")
                return {"stateMachineArn": arn, "creationDate": current.creation_date}
            record = StateMachineRecord(
                arn=arn,
                name=name,
                definition=definition,
                role_arn=params["roleArn"],
                type=machine_type,
                creation_date=self.context.clock.now(),
                logging=logging_config,
                tracing=tracing,
                tags={tag["key"]: tag.get("value", "") for tag in params.get("tags") or []},
            )
            self.machines.put(arn, record.to_json())
        return {"stateMachineArn": arn, "creationDate": record.creation_date}

    def describe_state_machine(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._machine(params["stateMachineArn"]).describe()

    def update_state_machine(self, params: dict[str, Any]) -> dict[str, Any]:
        changes = ("definition", "roleArn", "loggingConfiguration", "tracingConfiguration")
        if not any(params.get(key) is not None for key in changes):
            raise MissingRequiredParameter(
                "Either the definition, the role ARN, the LoggingConfiguration, or the "
                "TracingConfiguration must be specified"
            )
        with self._lock:
            record = self._machine(params["stateMachineArn"])
            if params.get("definition") is not None:
                self._check_definition(params["definition"], record.type)
                record.definition = params["definition"]
            record.role_arn = params.get("roleArn") or record.role_arn
            record.logging = params.get("loggingConfiguration") or record.logging
            record.tracing = params.get("tracingConfiguration") or record.tracing
            record.update_date = self.context.clock.now()
            record.revision_id = str(uuid.uuid4())
            self.machines.put(record.arn, record.to_json())
        return {"updateDate": record.update_date, "revisionId": record.revision_id}

    def delete_state_machine(self, params: dict[str, Any]) -> dict[str, Any]:
        """The machine goes at once; executions still running finish with the definition they
        started with (AWS marks it DELETING until then)."""
        arn = params["stateMachineArn"]
        check_machine_arn(arn)
        self.machines.delete(arn)
        return {}

    def list_state_machines(self, params: dict[str, Any]) -> dict[str, Any]:
        records = sorted(
            (StateMachineRecord.from_json(doc) for doc in self.machines.values()), key=lambda r: r.name
        )
        chosen, token = self._page(records, "ListStateMachines", params)
        answer: dict[str, Any] = {"stateMachines": [r.list_item() for r in chosen]}
        if token:
            answer["nextToken"] = token
        return answer

    def validate_state_machine_definition(self, params: dict[str, Any]) -> dict[str, Any]:
        problems = definition_problems(
            params["definition"], params.get("type") or STANDARD, self.host.integrations
        )
        limit = params.get("maxResults") or 100
        diagnostics = [
            {"severity": "ERROR", "code": p.code, "message": p.message, "location": p.path or "/"}
            for p in problems
        ]
        # Every diagnostic localcloud reports is an ERROR, so both severity filters list them all.
        return {
            "result": "FAIL" if problems else "OK",
            "diagnostics": diagnostics[:limit],
            "truncated": len(diagnostics) > limit,
        }

    def test_state(self, params: dict[str, Any]) -> dict[str, Any]:
        """TestState: one state run once, with AWS's statuses and inspection data (``asl.test_state``)."""
        runner = TestStateRunner(
            integrations=self.host.integrations,
            client_factory=self.context.shared_client,
            region=self.context.region,
            account=self.context.account_id,
            clock_now=self.context.clock.now,
        )
        try:
            return runner.run(TestStateRequest.from_params(params))
        except TestStateRefused as exc:
            refusal = {
                "InvalidDefinition": InvalidDefinition,
                "InvalidExecutionInput": InvalidExecutionInput,
            }.get(exc.code, ValidationException)
            raise refusal(exc.message) from exc

    # -- tags ------------------------------------------------------------------------------------------
    def tag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            record = self._tagged(params["resourceArn"])
            record.tags.update({tag["key"]: tag.get("value", "") for tag in params["tags"]})
            self.machines.put(record.arn, record.to_json())
        return {}

    def untag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            record = self._tagged(params["resourceArn"])
            for key in params["tagKeys"]:
                record.tags.pop(key, None)
            self.machines.put(record.arn, record.to_json())
        return {}

    def list_tags_for_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._tagged(params["resourceArn"])
        return {"tags": [{"key": key, "value": value} for key, value in sorted(record.tags.items())]}

    def _tagged(self, arn: str) -> StateMachineRecord:
        doc = self.machines.get(arn)
        if doc is None:
            raise ResourceNotFound(f"Resource not found: '{arn}'", resourceName=arn)
        return StateMachineRecord.from_json(doc)

    # -- executions ---------------------------------------------------------------------------------
    def _input(self, params: dict[str, Any]) -> tuple[str, Any]:
        text = params.get("input")
        if text is None:
            text = "{}"
        if len(text.encode()) > MAX_PAYLOAD:
            raise InvalidExecutionInput(
                f"Invalid State Machine Execution Input: 'the input is {len(text.encode())} bytes, "
                f"more than the {MAX_PAYLOAD} bytes allowed'"
            )
        try:
            return text, json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{exc}'") from exc

    def start_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._start(params, sync=False)
        return {"executionArn": record.execution_arn, "startDate": record.start_date}

    def start_sync_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        machine = self._machine(split_test_case(params["stateMachineArn"])[0])
        if machine.type != EXPRESS:
            raise StateMachineTypeNotSupported(
                "This operation is not supported by this type of state machine"
            )
        record = self._start(params, sync=True, machine=machine)
        answer = {key: value for key, value in self._describe(record).items() if key in _SYNC_FIELDS}
        answer["billingDetails"] = {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": 100}
        return answer

    def _start(
        self, params: dict[str, Any], *, sync: bool, machine: StateMachineRecord | None = None
    ) -> ExecutionRecord:
        machine_arn, test_case = split_test_case(params["stateMachineArn"])
        machine = machine or self._machine(machine_arn)
        text, value = self._input(params)
        name = params.get("name")
        if name is not None:
            check_name(name)
            if machine.type == STANDARD:
                arn = self.context.arn("states", f"execution:{machine.name}:{name}")
                existing = self.executions.get_light(arn)
                if existing is not None:
                    # Idempotent while running on the same name and input, as AWS.
                    if existing.status == RUNNING and existing.input == value:
                        return existing
                    raise ExecutionAlreadyExists(f"Execution Already Exists: '{arn}'")
        try:
            return self.host.start_execution(
                self._parse(machine),
                state_machine_arn=machine.arn,
                input=value,
                name=name,
                execution_type=machine.type,
                role_arn=machine.role_arn,
                sync=sync,
                extra={"input_text": text},
                mock_test_case=test_case,
            )
        except asl_errors.ExecutionAlreadyExists as exc:
            raise ExecutionAlreadyExists(str(exc)) from exc
        except (UnknownTestCase, MockConfigError) as exc:
            raise ValidationException(str(exc)) from exc

    def _record(self, arn: str) -> ExecutionRecord:
        check_execution_arn(arn)
        record = self.executions.get_light(arn)
        if record is None:
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
        return record

    def _redrive_status(self, record: ExecutionRecord) -> tuple[str, str | None]:
        if record.extra.get("map_run_arn") and record.status not in (RUNNING, SUCCEEDED):
            return "REDRIVABLE_BY_MAP_RUN", None
        problem = self.host.redrive_problem(record)
        if problem is None:
            return "REDRIVABLE", None
        return "NOT_REDRIVABLE", problem

    def _describe(self, record: ExecutionRecord) -> dict[str, Any]:
        input_text = record.extra.get("input_text")
        answer: dict[str, Any] = {
            "executionArn": record.execution_arn,
            "stateMachineArn": record.state_machine_arn,
            "name": record.name,
            "status": record.status,
            "startDate": record.start_date,
            "stopDate": record.stop_date,
            "input": input_text if isinstance(input_text, str) else _compact(record.input),
            "inputDetails": NOT_TRUNCATED,
            "redriveCount": record.redrive_count,
            "redriveDate": record.redrive_date,
        }
        if record.status == SUCCEEDED:
            answer["output"] = _compact(record.output)
            answer["outputDetails"] = NOT_TRUNCATED
        if record.error is not None:
            answer["error"] = record.error
        if record.cause is not None:
            answer["cause"] = record.cause
        if record.extra.get("map_run_arn"):
            answer["mapRunArn"] = record.extra["map_run_arn"]
        status, reason = self._redrive_status(record)
        answer["redriveStatus"] = status
        if reason is not None:
            answer["redriveStatusReason"] = reason
        return answer

    def describe_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._describe(self._record(params["executionArn"]))

    def describe_state_machine_for_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._record(params["executionArn"])
        doc = self.machines.get(record.state_machine_arn.split("/", 1)[0])
        machine = StateMachineRecord.from_json(doc) if doc is not None else None
        answer: dict[str, Any] = {
            "stateMachineArn": record.state_machine_arn,
            "name": record.state_machine_name,
            "definition": _compact(record.definition)
            if machine is None or json.loads(machine.definition) != record.definition
            else machine.definition,
            "roleArn": record.role_arn or (machine.role_arn if machine else ""),
            "updateDate": (machine.update_date or machine.creation_date) if machine else record.start_date,
            "loggingConfiguration": machine.logging if machine else DEFAULT_LOGGING,
            "tracingConfiguration": machine.tracing if machine else DEFAULT_TRACING,
        }
        if record.extra.get("map_run_arn"):
            answer["mapRunArn"] = record.extra["map_run_arn"]
        if machine is not None:
            answer["revisionId"] = machine.revision_id
        return answer

    def list_executions(self, params: dict[str, Any]) -> dict[str, Any]:
        machine_arn, map_run_arn = params.get("stateMachineArn"), params.get("mapRunArn")
        if bool(machine_arn) == bool(map_run_arn):
            raise ValidationException("Specify either a stateMachineArn or a mapRunArn, not both")
        if machine_arn:
            machine = self._machine(machine_arn)
            if machine.type == EXPRESS:
                raise StateMachineTypeNotSupported(
                    "This operation is not supported by this type of state machine"
                )
            wanted: Callable[[Summary], bool] = lambda s: s["stateMachineArn"] == machine_arn  # noqa: E731
        else:
            self._map_run(map_run_arn or "")
            wanted = lambda s: s.get("mapRunArn") == map_run_arn  # noqa: E731
        status = params.get("statusFilter")
        redrive = params.get("redriveFilter")
        chosen = [
            s
            for s in self.executions.summaries()
            if wanted(s)
            and (status is None or s["status"] == status)
            and (redrive is None or (s["redriveCount"] > 0) == (redrive == "REDRIVEN"))
        ]
        chosen.sort(key=lambda s: (s["startDate"], s["executionArn"]), reverse=True)
        items, token = self._page(chosen, f"ListExecutions:{machine_arn or map_run_arn}", params)
        answer: dict[str, Any] = {"executions": [self._list_item(s) for s in items]}
        if token:
            answer["nextToken"] = token
        return answer

    @staticmethod
    def _list_item(summary: Summary) -> dict[str, Any]:
        item: dict[str, Any] = {
            "executionArn": summary["executionArn"],
            "stateMachineArn": summary["stateMachineArn"],
            "name": summary["name"],
            "status": summary["status"],
            "startDate": summary_date(summary, "startDate"),
            "stopDate": summary_date(summary, "stopDate"),
            "redriveCount": summary["redriveCount"],
            "redriveDate": summary_date(summary, "redriveDate"),
        }
        if summary.get("mapRunArn"):
            item["mapRunArn"] = summary["mapRunArn"]
            item["itemCount"] = summary.get("itemCount") or 1
        return item

    def get_execution_history(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["executionArn"]
        self._record(arn)
        reverse = bool(params.get("reverseOrder"))
        limit = _limit(params.get("maxResults"))
        after = None
        if params.get("nextToken"):
            after = self._token(f"GetExecutionHistory:{arn}:{reverse}", params["nextToken"])
        events = self.executions.history(arn, after=after, limit=limit + 1, reverse=reverse)
        more = len(events) > limit
        events = events[:limit]
        if not params.get("includeExecutionData", True):
            events = view(events, include_execution_data=False)
        answer: dict[str, Any] = {"events": events}
        if more and events:
            answer["nextToken"] = encode_token(f"GetExecutionHistory:{arn}:{reverse}", events[-1]["id"])
        return answer

    def stop_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._record(params["executionArn"])
        if record.status == RUNNING:
            error, cause = params.get("error"), params.get("cause")
            record = self.host.stop(record.execution_arn, error=error, cause=cause)
        return {"stopDate": record.stop_date}

    def redrive_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            record = self._record(params["executionArn"])
            if record.extra.get("map_run_arn") and record.status not in (RUNNING, SUCCEEDED):
                raise ExecutionNotRedrivable(
                    "Execution is a child workflow execution of a Map Run: redrive its parent "
                    "execution to redrive the Map Run"
                )
            try:
                redriven = self.host.redrive(record.execution_arn)
            except asl_errors.ExecutionNotRedrivable as exc:
                raise ExecutionNotRedrivable(str(exc)) from exc
            except ExecutionNotFound as exc:
                raise ExecutionDoesNotExist(str(exc)) from exc
        return {"redriveDate": redriven.redrive_date}

    # -- task tokens ------------------------------------------------------------------------------------
    def send_task_success(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            output = json.loads(params["output"])
        except json.JSONDecodeError as exc:
            raise InvalidOutput(f"Invalid Output: '{exc}'") from exc
        self._token_call(lambda: self.host.send_task_success(params["taskToken"], output))
        return {}

    def send_task_failure(self, params: dict[str, Any]) -> dict[str, Any]:
        token = params["taskToken"]
        self._token_call(
            lambda: self.host.send_task_failure(token, error=params.get("error"), cause=params.get("cause"))
        )
        return {}

    def send_task_heartbeat(self, params: dict[str, Any]) -> dict[str, Any]:
        self._token_call(lambda: self.host.send_task_heartbeat(params["taskToken"]))
        return {}

    @staticmethod
    def _token_call(call: Callable[[], None]) -> None:
        try:
            call()
        except asl_tokens.InvalidToken as exc:
            raise TaskDoesNotExist(f"Task Does Not Exist: {exc}") from exc
        except asl_tokens.TaskTimedOut as exc:
            raise TaskTimedOut(str(exc)) from exc

    # -- map runs ------------------------------------------------------------------------------------------
    def _map_run(self, map_run_arn: str) -> MapRun:
        """The Map Run, found through the summaries: they list every execution's Map Runs, a
        running one's as soon as its Map state registers it (the store refreshes the summaries
        of the records it holds live)."""
        parent = next(
            (s["executionArn"] for s in self.executions.summaries() if map_run_arn in s.get("mapRuns", [])),
            None,
        )
        record = self.executions.get_light(parent) if parent else None
        if record is None or map_run_arn not in record.map_runs:
            raise ResourceNotFound(f"Map Run Does Not Exist: '{map_run_arn}'", resourceName=map_run_arn)
        return record.map_runs[map_run_arn]

    def describe_map_run(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._map_run(params["mapRunArn"]).describe()

    def list_map_runs(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._record(params["executionArn"])
        runs = sorted(record.map_runs.values(), key=lambda run: run.start_date, reverse=True)
        chosen, token = self._page(runs, f"ListMapRuns:{record.execution_arn}", params)
        answer: dict[str, Any] = {"mapRuns": [run.list_item() for run in chosen]}
        if token:
            answer["nextToken"] = token
        return answer

    def update_map_run(self, params: dict[str, Any]) -> dict[str, Any]:
        run = self._map_run(params["mapRunArn"])
        settings = {
            "max_concurrency": params.get("maxConcurrency"),
            "tolerated_failure_percentage": params.get("toleratedFailurePercentage"),
            "tolerated_failure_count": params.get("toleratedFailureCount"),
        }
        try:
            with self._lock:
                parent = self.executions.get(run.execution_arn)
                if parent is None or parent.status == RUNNING:  # the live Map Run picks it up
                    self.host.update_map_run(run.map_run_arn, **settings)
                else:  # a finished one: change the stored record (the host holds no live copy)
                    parent.map_runs[run.map_run_arn].update(**settings)
                    self.executions.put(parent)
        except ValueError as exc:
            raise ValidationException(str(exc)) from exc
        except MapRunNotFound as exc:
            raise ResourceNotFound(str(exc), resourceName=run.map_run_arn) from exc
        return {}

    # -- helpers ----------------------------------------------------------------------------------
    def _page(self, items: list[Any], scope: str, params: dict[str, Any]) -> tuple[list[Any], str | None]:
        try:
            return page(items, scope, params.get("nextToken"), _limit(params.get("maxResults")))
        except BadToken as exc:
            raise InvalidToken(f"Invalid Token: '{params.get('nextToken')}'") from exc

    @staticmethod
    def _token(scope: str, token: str) -> int:
        try:
            position = decode_token(scope, token)
        except BadToken as exc:
            raise InvalidToken(f"Invalid Token: '{token}'") from exc
        if not isinstance(position, int):
            raise InvalidToken(f"Invalid Token: '{token}'")
        return position
