"""An in-memory Step Functions for the operator library's tests, behind a real boto3 client.

It answers through botocore's ``before-call`` hook (as botocore's Stubber does), so the code
under test makes ordinary boto3 calls, paginators included; request parameters are validated by
botocore, and every response is validated against the service model's output shape, so the
shapes the library reads are AWS's. Errors are raised as the ClientErrors AWS would give.

Behaviour is deliberately simple and scripted: a daily_rollup execution ends with the outcome
``day_outcome(date)`` returns; a backfill starts one child per date named as backfill.asl.json
names them, and fails with MeterPipe.DaysFailed when any child failed. Executions finish after
``polls_to_finish`` DescribeExecution calls (0: at once). History events follow AWS's
HistoryEvent shapes for the states of daily_rollup.asl.json.

With a ``ledger`` (``LedgerWriter``), daily_rollup executions write the per-day ledger as
docs/ledger.md says: the claim (RUNNING, a new attempt) at the start and at each redrive,
SUCCEEDED / NO_DATA / FAILED (validation) at their end, and what ledger_sync records for the other
ends (INCOMPLETE or FAILED, ABORTED) unless ``ledger_sync_lag`` holds those back, as a slow
EventBridge delivery would.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

from meterpipe.ops.fingerprint import Fingerprint, fingerprint_pages
from tests.unit.ops.ledger_records import LedgerWriter

ACCOUNT = "123456789012"
REGION = "us-east-1"
PREFIX = f"arn:aws:states:{REGION}:{ACCOUNT}"
DAILY_ROLLUP_ARN = f"{PREFIX}:stateMachine:meterpipe-daily-rollup"
BACKFILL_ARN = f"{PREFIX}:stateMachine:meterpipe-backfill"


@dataclass
class Outcome:
    status: str = "SUCCEEDED"
    items: tuple[int, int, int] = (48, 2, 2)  # hour, day, month items written
    error: str | None = None
    cause: str | None = None
    redrivable: bool = True
    redrive_reason: str | None = None
    failed_state: str = "WriteHourlyRollups"
    writes_started: bool = True  # a failure after the first item write (INCOMPLETE in the ledger)

    @property
    def ledger_status(self) -> str:
        """The day's status once the attempt's end is recorded."""
        if self.status == "SUCCEEDED":
            return "SUCCEEDED"
        if self.status == "ABORTED":
            return "ABORTED"
        if self.error == "MeterPipe.NoReadings":
            return "NO_DATA"
        return "INCOMPLETE" if self.writes_started else "FAILED"

    @property
    def written_by_the_state_machine(self) -> bool:
        """daily_rollup records success and validation failures itself; ledger_sync the rest."""
        return self.status == "SUCCEEDED" or self.error in VALIDATION_ERRORS


def succeeded(items: tuple[int, int, int] = (48, 2, 2)) -> Outcome:
    return Outcome(items=items)


def failed(
    error: str = "States.ExceedToleratedFailureThreshold",
    cause: str = "The specified tolerated failure threshold was exceeded",
    *,
    redrivable: bool = True,
    reason: str | None = None,
    writes: bool = True,
) -> Outcome:
    """A failed run: in its hourly Distributed Map, or (MeterPipe.ReconcileFailed) in the
    ReconcileFailed Fail state, or (a MeterPipe validation error) in a Fail state before any write."""
    validation = error in VALIDATION_ERRORS
    state = "ReconcileFailed" if error == "MeterPipe.ReconcileFailed" else "WriteHourlyRollups"
    return Outcome(
        status="FAILED",
        error=error,
        cause=cause,
        redrivable=redrivable,
        redrive_reason=reason,
        failed_state="ValidationFailed" if validation else state,
        writes_started=writes and not validation,
        items=(0, 0, 0) if validation else (48, 2, 2),
    )


NO_INPUT = fingerprint_pages([[]])  # a day whose test put no objects in the lake
VALIDATION_ERRORS = frozenset(
    {
        "MeterPipe.BadReadings",
        "MeterPipe.NoReadings",
        "MeterPipe.BadCustomers",
        "MeterPipe.IncompleteReadings",
    }
)


class FakeError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Execution:
    arn: str
    machine: str
    name: str
    input: Any
    start: dt.datetime
    status: str = "RUNNING"
    stop: dt.datetime | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    redrive_count: int = 0
    redrive_date: dt.datetime | None = None
    redrivable: bool = True
    redrive_reason: str | None = None
    polls_left: int = 0
    outcome: Outcome | None = None
    children: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)


class FakeStepFunctions:
    def __init__(
        self,
        *,
        day_outcome: Callable[[dt.date], Outcome] | None = None,
        polls_to_finish: int = 0,
        start: dt.datetime = dt.datetime(2024, 2, 1, 10, 0, tzinfo=dt.UTC),
    ) -> None:
        self.day_outcome = day_outcome or (lambda day: succeeded())
        self.polls_to_finish = polls_to_finish
        self._now = start
        self.executions: dict[str, Execution] = {}
        self.map_runs: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.ledger: LedgerWriter | None = None
        self.ledger_sync_lag = False
        self.fingerprints: dict[dt.date, Fingerprint] = {}  # what a run records as its day's input

    # -- wiring ------------------------------------------------------------------------------------
    def attach(self, client: Any) -> Any:
        self._model = client.meta.service_model
        client.meta.events.register("before-parameter-build.sfn.*", self._remember_params)
        client.meta.events.register("before-call.sfn.*", self._answer)
        return client

    def _remember_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["fake_params"] = dict(params)

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        params = context.get("fake_params", {})
        self.calls.append((model.name, params))
        handler = getattr(self, "op_" + re.sub(r"(?<!^)(?=[A-Z])", "_", model.name).lower(), None)
        try:
            if handler is None:
                raise FakeError("UnknownOperationException", f"the fake does not do {model.name}")
            body = handler(params)
        except FakeError as error:
            response = AWSResponse("https://states.fake", error.status, {}, None)
            return response, {
                "Error": {"Code": error.code, "Message": error.message},
                "ResponseMetadata": {"HTTPStatusCode": error.status},
            }
        if model.output_shape is not None:
            validate_parameters(body, model.output_shape)
        return AWSResponse("https://states.fake", 200, {}, None), {
            **body,
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    def tick(self, seconds: float = 1.0) -> dt.datetime:
        self._now += dt.timedelta(seconds=seconds)
        return self._now

    # -- operations --------------------------------------------------------------------------------
    def op_start_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        machine = params["stateMachineArn"]
        if machine not in (DAILY_ROLLUP_ARN, BACKFILL_ARN):
            raise FakeError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{machine}'")
        name = params.get("name") or str(uuid.uuid4())
        arn = machine.replace(":stateMachine:", ":execution:") + ":" + name
        if arn in self.executions:
            raise FakeError("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
        given = json.loads(params.get("input") or "{}")
        execution = Execution(arn, machine, name, given, self.tick(), polls_left=self.polls_to_finish)
        self.executions[arn] = execution
        if machine == BACKFILL_ARN:
            self._start_backfill(execution)
        else:
            execution.outcome = self.day_outcome(self._date_of(given))
            self._claim(execution)
        if execution.polls_left == 0:
            self._finish(execution)
        return {"executionArn": arn, "startDate": execution.start}

    def _claim(self, execution: Execution) -> None:
        """daily_rollup claims its day as it starts, and ledger_sync at each redrive."""
        if self.ledger is None or execution.machine != DAILY_ROLLUP_ARN:
            return
        name = execution.name
        origin = "schedule" if "scheduled_time" in execution.input else "other"
        for marker, kind in (("_run_", "run"), ("_redrive_", "redrive"), ("_bf_", "backfill")):
            if marker in name:
                origin = kind
        if execution.redrive_count:
            origin = "redrive"
        self.ledger.record(
            self._date_of(execution.input),
            "RUNNING",
            execution.arn,
            origin=origin,
            redrive_count=execution.redrive_count,
            started=execution.redrive_date or execution.start,
        )

    def _record_end(self, execution: Execution, outcome: Outcome) -> None:
        if self.ledger is None:
            return
        day = self._date_of(execution.input)
        if outcome.writes_started:  # daily_rollup marks it before its first item write
            self.ledger.update(day, execution.arn, "RUNNING", writes_started=True)
        if self.ledger_sync_lag and not outcome.written_by_the_state_machine:
            return
        counts: dict[str, Any] = {"ended": execution.stop, "writes_started": outcome.writes_started}
        if outcome.status == "SUCCEEDED":
            hours, days, months = outcome.items
            counts.update(
                writes_started=True,
                items_hour=hours,
                items_day=days,
                items_month=months,
                readings=hours * 2,
                readings_expected=hours * 2,
                bad_readings=0,
                bad_readings_skipped=0,
                sensors_reporting=days,
                sensors_known=days,
                fingerprint=self.fingerprints.get(day, NO_INPUT).value,
                input_objects=self.fingerprints.get(day, NO_INPUT).objects,
                input_bytes=self.fingerprints.get(day, NO_INPUT).bytes,
            )
        else:
            counts.update(error=outcome.error, cause=outcome.cause)
        self.ledger.update(day, execution.arn, outcome.ledger_status, **counts)

    def add_execution(self, machine: str, name: str, given: Any, outcome: Outcome) -> Execution:
        """An execution started by someone else (the schedule, the console), already finished."""
        arn = machine.replace(":stateMachine:", ":execution:") + ":" + name
        execution = Execution(arn, machine, name, given, self.tick(), outcome=outcome)
        self.executions[arn] = execution
        self._claim(execution)
        self._finish(execution)
        return execution

    def _date_of(self, given: Any) -> dt.date:
        if "date" in given:
            return dt.date.fromisoformat(given["date"])
        when = dt.datetime.fromisoformat(given["scheduled_time"].replace("Z", "+00:00"))
        return when.date() - dt.timedelta(days=1)

    def _start_backfill(self, backfill: Execution) -> None:
        first = dt.date.fromisoformat(backfill.input["from"])
        last = dt.date.fromisoformat(backfill.input["to"])
        for n in range((last - first).days + 1):
            self._start_child(backfill, first + dt.timedelta(days=n))

    def _start_child(self, backfill: Execution, day: dt.date) -> Execution:
        name = f"{day.isoformat()}_{backfill.name}_r{backfill.redrive_count}"
        child = Execution(
            DAILY_ROLLUP_ARN.replace(":stateMachine:", ":execution:") + ":" + name,
            DAILY_ROLLUP_ARN,
            name,
            {"date": day.isoformat()},
            self.tick(),
            outcome=self.day_outcome(day),
            polls_left=self.polls_to_finish,
        )
        self.executions[child.arn] = child
        backfill.children.append(child.arn)
        self._claim(child)
        return child

    def _finish(self, execution: Execution) -> None:
        execution.stop = self.tick(3)
        if execution.machine == BACKFILL_ARN:
            children = [self.executions[arn] for arn in execution.children]
            for child in children:
                if child.status == "RUNNING":
                    self._finish(child)
            recent = [c for c in children if c.name.endswith(f"_r{execution.redrive_count}")]
            bad = [c for c in recent if c.status != "SUCCEEDED"]
            if bad:
                execution.status, execution.error = "FAILED", "MeterPipe.DaysFailed"
                execution.cause = (
                    f"{len(bad)} of {len(recent)} days failed: "
                    + ", ".join(c.input["date"] for c in bad)
                    + ". Each day ran as its own daily_rollup execution: redrive those "
                    "(meterpipe redrive --failed), not this backfill."
                )
                execution.output = None
                execution.redrivable = True
            else:
                execution.status = "SUCCEEDED"
                dates = [c.input["date"] for c in recent]
                execution.output = {
                    "from": dates[0],
                    "to": dates[-1],
                    "dates": dates,
                    "executions": [{"date": c.input["date"], "executionArn": c.arn} for c in recent],
                }
            execution.history = self._backfill_history(execution)
            return
        outcome = execution.outcome or succeeded()
        day = self._date_of(execution.input)
        execution.status = outcome.status
        execution.history = self._daily_history(execution, outcome, day)
        if outcome.status == "SUCCEEDED":
            execution.output = self._daily_output(execution, outcome, day)
            execution.error = execution.cause = None
        else:
            execution.output = None
            execution.error, execution.cause = outcome.error, outcome.cause
            execution.redrivable = outcome.redrivable
            execution.redrive_reason = outcome.redrive_reason
        self._record_end(execution, outcome)

    def _map_run(self, execution: Execution, label: str, total: int, failed_items: int) -> str:
        arn = f"{PREFIX}:mapRun:{execution.machine.rsplit(':', 1)[-1]}/{label}:{uuid.uuid4()}"
        self.map_runs[arn] = {
            "mapRunArn": arn,
            "executionArn": execution.arn,
            "status": "FAILED" if failed_items else "SUCCEEDED",
            "startDate": self._now,
            "stopDate": self._now,
            "maxConcurrency": 20,
            "toleratedFailurePercentage": 0.0,
            "toleratedFailureCount": 0,
            "itemCounts": {
                "pending": 0,
                "running": 0,
                "succeeded": total - failed_items,
                "failed": failed_items,
                "timedOut": 0,
                "aborted": 0,
                "total": total,
                "resultsWritten": total,
            },
            "executionCounts": {
                "pending": 0,
                "running": 0,
                "succeeded": 1 if not failed_items else 0,
                "failed": 1 if failed_items else 0,
                "timedOut": 0,
                "aborted": 0,
                "total": 1,
                "resultsWritten": 1,
            },
        }
        return arn

    def _daily_output(self, execution: Execution, outcome: Outcome, day: dt.date) -> dict[str, Any]:
        out: dict[str, Any] = {"date": day.isoformat()}
        for key, items in zip(("hour", "day", "month"), outcome.items, strict=True):
            out[key] = {
                "granularity": key,
                "query_execution_id": f"q-{key}-{execution.name}",
                "bytes_scanned": 1000 * items,
                "rows": items,
                "rows_source": "athena",
                "items_written": items,
                "map_run_arn": f"{PREFIX}:mapRun:meterpipe-daily-rollup/{key}:x",
            }
        return out

    def _daily_history(self, execution: Execution, outcome: Outcome, day: dt.date) -> list[dict[str, Any]]:
        events = HistoryBuilder(execution.start, execution.history)
        if not execution.history:
            events.add(
                "ExecutionStarted", executionStartedEventDetails={"input": json.dumps(execution.input)}
            )
            events.state("Pass", "ResolveDate")
            events.state("Choice", "CheckInput")
        else:
            events.add(
                "ExecutionRedriven", executionRedrivenEventDetails={"redriveCount": execution.redrive_count}
            )
        parallel = events.enter("Parallel", "RollUp")
        events.add("ParallelStateStarted", previous=parallel)
        failing = outcome.status != "SUCCEEDED"
        for key, label, items in zip(
            ("hour", "day", "month"), ("Hourly", "Daily", "Monthly"), outcome.items, strict=True
        ):
            entered = events.enter("Task", f"Run{label}Query", previous=parallel)
            scheduled = events.add(
                "TaskScheduled",
                previous=entered,
                taskScheduledEventDetails={
                    "resourceType": "athena",
                    "resource": "startQueryExecution.sync",
                    "region": REGION,
                    "parameters": json.dumps({"QueryString": "SELECT ...", "WorkGroup": "meterpipe"}),
                },
            )
            started = events.add(
                "TaskStarted",
                previous=scheduled,
                taskStartedEventDetails={"resourceType": "athena", "resource": "startQueryExecution.sync"},
            )
            query = {
                "QueryExecution": {
                    "QueryExecutionId": f"q-{key}-{execution.name}",
                    "Status": {"State": "SUCCEEDED"},
                    "Statistics": {"DataScannedInBytes": 1000 * items},
                }
            }
            done = events.add(
                "TaskSucceeded",
                previous=started,
                taskSucceededEventDetails={
                    "resourceType": "athena",
                    "resource": "startQueryExecution.sync",
                    "output": json.dumps(query),
                },
            )
            events.exit("Task", f"Run{label}Query", previous=done)
            map_entered = events.enter("Map", f"Write{label}Rollups")
            map_started = events.add(
                "MapStateStarted", previous=map_entered, mapStateStartedEventDetails={"length": 0}
            )
            fails_here = failing and key == "hour" and outcome.failed_state == "WriteHourlyRollups"
            run_arn = self._map_run(execution, label.lower(), items, 1 if fails_here else 0)
            run_started = events.add(
                "MapRunStarted", previous=map_started, mapRunStartedEventDetails={"mapRunArn": run_arn}
            )
            if fails_here:
                run_failed = events.add(
                    "MapRunFailed",
                    previous=run_started,
                    mapRunFailedEventDetails={"error": outcome.error or "", "cause": outcome.cause or ""},
                )
                events.add("MapStateFailed", previous=run_failed)
                continue
            run_done = events.add("MapRunSucceeded", previous=run_started)
            map_done = events.add("MapStateSucceeded", previous=run_done)
            events.exit("Map", f"Write{label}Rollups", previous=map_done)
        if failing and outcome.failed_state == "ReconcileFailed":
            events.add("ParallelStateSucceeded", previous=parallel)
            events.exit("Parallel", "RollUp")
            events.state("Choice", "Reconcile")
            events.enter("Fail", "ReconcileFailed")
            events.add(
                "ExecutionFailed",
                executionFailedEventDetails={"error": outcome.error or "", "cause": outcome.cause or ""},
            )
        elif failing:
            events.add("ParallelStateFailed", previous=parallel)
            events.add(
                "ExecutionFailed",
                executionFailedEventDetails={"error": outcome.error or "", "cause": outcome.cause or ""},
            )
        else:
            events.add("ParallelStateSucceeded", previous=parallel)
            events.exit("Parallel", "RollUp")
            events.state("Choice", "Reconcile")
            events.state("Succeed", "Done")
            events.add("ExecutionSucceeded", executionSucceededEventDetails={"output": "{}"})
        return events.events

    def _backfill_history(self, execution: Execution) -> list[dict[str, Any]]:
        events = HistoryBuilder(execution.start, execution.history)
        if not execution.history:
            events.add(
                "ExecutionStarted", executionStartedEventDetails={"input": json.dumps(execution.input)}
            )
            events.state("Pass", "ValidateRange")
            events.state("Choice", "CheckRange")
            entered = events.enter("Map", "RunDays")
            started = events.add(
                "MapStateStarted", previous=entered, mapStateStartedEventDetails={"length": 0}
            )
            total = len(execution.children)
            run_arn = self._map_run(execution, "days", total, 0)
            run_started = events.add(
                "MapRunStarted", previous=started, mapRunStartedEventDetails={"mapRunArn": run_arn}
            )
            done = events.add("MapRunSucceeded", previous=run_started)
            map_done = events.add("MapStateSucceeded", previous=done)
            events.exit("Map", "RunDays", previous=map_done)
            events.state("Choice", "CheckDays")
        else:
            events.add(
                "ExecutionRedriven", executionRedrivenEventDetails={"redriveCount": execution.redrive_count}
            )
        if execution.status == "FAILED":
            events.enter("Fail", "DaysFailed")
            events.add(
                "ExecutionFailed",
                executionFailedEventDetails={"error": execution.error or "", "cause": execution.cause or ""},
            )
        else:
            events.state("Succeed", "Done")
            events.add(
                "ExecutionSucceeded", executionSucceededEventDetails={"output": json.dumps(execution.output)}
            )
        return events.events

    def _get(self, arn: str) -> Execution:
        if not arn.startswith("arn:aws:states:"):
            raise FakeError("InvalidArn", f"Invalid Arn: '{arn}'")
        if arn not in self.executions:
            raise FakeError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")
        return self.executions[arn]

    def op_describe_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        execution = self._get(params["executionArn"])
        if execution.status == "RUNNING":
            execution.polls_left -= 1
            if execution.polls_left <= 0:
                self._finish(execution)
        out: dict[str, Any] = {
            "executionArn": execution.arn,
            "stateMachineArn": execution.machine,
            "name": execution.name,
            "status": execution.status,
            "startDate": execution.start,
            "input": json.dumps(execution.input),
            "redriveCount": execution.redrive_count,
        }
        if execution.stop and execution.status != "RUNNING":
            out["stopDate"] = execution.stop
        if execution.output is not None:
            out["output"] = json.dumps(execution.output)
        if execution.error:
            out["error"] = execution.error
        if execution.cause:
            out["cause"] = execution.cause
        if execution.redrive_date:
            out["redriveDate"] = execution.redrive_date
        if execution.status in ("FAILED", "ABORTED", "TIMED_OUT"):
            out["redriveStatus"] = "REDRIVABLE" if execution.redrivable else "NOT_REDRIVABLE"
            if not execution.redrivable:
                out["redriveStatusReason"] = execution.redrive_reason or "Execution is NOT_REDRIVABLE"
        else:
            out["redriveStatus"] = "NOT_REDRIVABLE"
            out["redriveStatusReason"] = f"Execution is {execution.status}"
        return out

    def op_list_executions(self, params: dict[str, Any]) -> dict[str, Any]:
        machine = params.get("stateMachineArn")
        if machine not in (DAILY_ROLLUP_ARN, BACKFILL_ARN):
            raise FakeError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{machine}'")
        found = [e for e in self.executions.values() if e.machine == machine]
        if params.get("statusFilter"):
            found = [e for e in found if e.status == params["statusFilter"]]
        found.sort(key=lambda e: e.start, reverse=True)
        start = int(params.get("nextToken") or 0)
        size = int(params.get("maxResults") or 3)  # small pages: pagination is exercised
        page = found[start : start + size]
        items = []
        for e in page:
            item: dict[str, Any] = {
                "executionArn": e.arn,
                "stateMachineArn": e.machine,
                "name": e.name,
                "status": e.status,
                "startDate": e.start,
                "redriveCount": e.redrive_count,
            }
            if e.stop and e.status != "RUNNING":
                item["stopDate"] = e.stop
            if e.redrive_date:
                item["redriveDate"] = e.redrive_date
            items.append(item)
        out: dict[str, Any] = {"executions": items}
        if start + size < len(found):
            out["nextToken"] = str(start + size)
        return out

    def op_redrive_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        execution = self._get(params["executionArn"])
        if execution.status not in ("FAILED", "ABORTED", "TIMED_OUT") or not execution.redrivable:
            raise FakeError(
                "ExecutionNotRedrivable",
                f"Execution is not redrivable: {execution.redrive_reason or execution.status}",
            )
        execution.redrive_count += 1
        execution.redrive_date = self.tick()
        execution.status = "RUNNING"
        execution.stop = None
        execution.polls_left = self.polls_to_finish
        if execution.machine == DAILY_ROLLUP_ARN:
            execution.outcome = self.day_outcome(self._date_of(execution.input))
            self._claim(execution)
        if execution.polls_left == 0:
            self._finish(execution)
        return {"redriveDate": execution.redrive_date}

    def op_stop_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        execution = self._get(params["executionArn"])
        if execution.status != "RUNNING":  # as AWS: stopping an ended execution changes nothing
            return {"stopDate": execution.stop or execution.start}
        execution.status, execution.stop = "ABORTED", self.tick()
        execution.error, execution.cause = params.get("error"), params.get("cause")
        execution.redrivable = True
        if execution.machine == DAILY_ROLLUP_ARN:
            self._record_end(execution, Outcome(status="ABORTED"))
        return {"stopDate": execution.stop}

    def op_get_execution_history(self, params: dict[str, Any]) -> dict[str, Any]:
        execution = self._get(params["executionArn"])
        events = list(execution.history)
        if params.get("reverseOrder"):
            events.reverse()
        start = int(params.get("nextToken") or 0)
        size = int(params.get("maxResults") or 10)
        out: dict[str, Any] = {"events": events[start : start + size]}
        if start + size < len(events):
            out["nextToken"] = str(start + size)
        return out

    def op_describe_map_run(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["mapRunArn"]
        if arn not in self.map_runs:
            raise FakeError("ResourceNotFound", f"Map Run Does Not Exist: '{arn}'")
        return dict(self.map_runs[arn])


class HistoryBuilder:
    """Events with consecutive ids, each pointing at the one it follows (AWS's previousEventId)."""

    def __init__(self, start: dt.datetime, events: list[dict[str, Any]]) -> None:
        self.events = list(events)
        self._time = start if not events else events[-1]["timestamp"]

    def add(self, kind: str, *, previous: int | None = None, **details: Any) -> int:
        self._time += dt.timedelta(milliseconds=250)
        event: dict[str, Any] = {
            "timestamp": self._time,
            "type": kind,
            "id": len(self.events) + 1,
            "previousEventId": len(self.events) if previous is None else previous,
        }
        event.update(details)
        self.events.append(event)
        return int(event["id"])

    def enter(self, kind: str, name: str, *, previous: int | None = None) -> int:
        return self.add(
            f"{kind}StateEntered", previous=previous, stateEnteredEventDetails={"name": name, "input": "{}"}
        )

    def exit(self, kind: str, name: str, *, previous: int | None = None) -> int:
        return self.add(
            f"{kind}StateExited", previous=previous, stateExitedEventDetails={"name": name, "output": "{}"}
        )

    def state(self, kind: str, name: str) -> int:
        entered = self.enter(kind, name)
        return self.exit(kind, name, previous=entered)
