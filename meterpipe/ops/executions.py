"""Executions of the deployment's state machines: a filtered list, and one execution in full.

The detail of an execution is what an operator needs to follow it: the definition it ran with
(DescribeStateMachineForExecution) as a graph, what each state did (its visits), its events, each
map run it started once (DescribeMapRun's counts, the failed children with their errors and the
Lambda request ids of the failed batches), and its parent and child executions.
"""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from meterpipe.aws import error_code
from meterpipe.errors import MeterpipeError
from meterpipe.ops.dates import DateRange, iso_utc
from meterpipe.ops.history import backfill_child_name, readable_cause
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.runs import UnknownExecution, run_from_description
from meterpipe.ops.statemachine import Flow, StateNode, parse_definition
from meterpipe.ops.visits import Visits, read_visits

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
COUNT_PARTS = ("pending", "running", "succeeded", "failed", "timedOut", "aborted")
FAILED_CHILD_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
_FAILED_CHILDREN_SHOWN = 20


def state_machines(pipeline: Pipeline) -> dict[str, str]:
    """The deployment's state machines: ``{"daily_rollup": ARN, "backfill": ARN, ...}``."""
    return {
        key.removesuffix("_arn"): value
        for key, value in vars(pipeline.deployment).items()
        if key.endswith("_arn") and isinstance(value, str) and ":stateMachine:" in value
    }


_PART_NAMES = {"timedOut": "timed out"}


def describe_counts(counts: dict[str, int], noun: str = "items") -> str:
    """``1,602 items: 1,000 failed, 602 aborted``: the total and every part that is not zero, so
    the figures add up; any shortfall is named (``3 unaccounted``)."""
    total = int(counts.get("total", 0))
    parts = [f"{int(counts[p]):,} {_PART_NAMES.get(p, p)}" for p in COUNT_PARTS if counts.get(p)]
    missing = total - sum(int(counts.get(p, 0)) for p in COUNT_PARTS)
    if missing:
        parts.append(f"{missing:,} unaccounted")
    return f"{total:,} {noun}: " + (", ".join(parts) if parts else "none")


@dataclass(frozen=True)
class ExecutionRow:
    arn: str
    name: str
    machine: str
    status: str
    start: dt.datetime
    stop: dt.datetime | None
    redrive_count: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "executionArn": self.arn,
            "name": self.name,
            "stateMachine": self.machine,
            "status": self.status,
            "start": iso_utc(self.start),
            "stop": iso_utc(self.stop),
            "redriveCount": self.redrive_count,
        }


@dataclass(frozen=True)
class ExecutionList:
    rows: list[ExecutionRow]
    truncated: bool


def list_executions(
    pipeline: Pipeline,
    *,
    machine: str | None = None,
    status: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    limit: int = 200,
) -> ExecutionList:
    """Executions newest first, of one state machine or all, by status and start date (UTC,
    both included). ListExecutions lists newest first, so paging stops at ``since``."""
    machines = state_machines(pipeline)
    if machine is not None and machine not in machines:
        raise MeterpipeError(f"unknown state machine {machine!r}: one of {', '.join(machines)}")
    if status is not None and status not in STATUSES:
        raise MeterpipeError(f"unknown status {status!r}: one of {', '.join(STATUSES)}")
    rows: list[ExecutionRow] = []
    truncated = False
    for label, arn in machines.items():
        if machine is not None and label != machine:
            continue
        arguments: dict[str, Any] = {"stateMachineArn": arn}
        if status is not None:
            arguments["statusFilter"] = status
        count = 0
        for page in pipeline.sfn.get_paginator("list_executions").paginate(**arguments):
            items = page["executions"]
            for item in items:
                day = item["startDate"].astimezone(dt.UTC).date()
                if until is not None and day > until:
                    continue
                if since is not None and day < since:
                    break
                if count == limit:
                    truncated = True
                    break
                count += 1
                rows.append(_row(label, item))
            else:
                continue
            break
    rows.sort(key=lambda row: row.start, reverse=True)
    if len(rows) > limit:
        rows, truncated = rows[:limit], True
    return ExecutionList(rows, truncated)


def _row(machine: str, item: dict[str, Any]) -> ExecutionRow:
    return ExecutionRow(
        arn=str(item["executionArn"]),
        name=str(item["name"]),
        machine=machine,
        status=str(item["status"]),
        start=item["startDate"],
        stop=item.get("stopDate"),
        redrive_count=int(item.get("redriveCount") or 0),
    )


# -- one execution ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildExecution:
    """A child execution of a map run (a batch), or a day a backfill ran."""

    arn: str
    name: str
    status: str
    error: str | None = None
    cause: str | None = None
    request_id: str | None = None  # the Lambda request that failed, when the cause names it
    label: str | None = None  # a backfill's day

    def to_json(self) -> dict[str, Any]:
        return {
            "executionArn": self.arn,
            "name": self.name,
            "status": self.status,
            "error": self.error,
            "cause": self.cause,
            "lambdaRequestId": self.request_id,
            "label": self.label,
        }


@dataclass
class MapRun:
    arn: str
    state: str | None
    status: str
    item_counts: dict[str, int]
    execution_counts: dict[str, int]
    redrive_count: int
    start: dt.datetime | None
    stop: dt.datetime | None
    failed_children: list[ChildExecution] = field(default_factory=list)
    failed_children_total: int = 0
    functions: list[str] = field(default_factory=list)  # the Lambda functions its batches call

    @staticmethod
    def unaccounted(counts: dict[str, int]) -> int:
        """What the parts (pending, running, succeeded, failed, timed out, aborted) leave out of the
        total: 0 when the counts add up."""
        return int(counts.get("total", 0)) - sum(int(counts.get(part, 0)) for part in COUNT_PARTS)

    def to_json(self) -> dict[str, Any]:
        return {
            "mapRunArn": self.arn,
            "state": self.state,
            "status": self.status,
            "itemCounts": self.item_counts,
            "executionCounts": self.execution_counts,
            "itemsUnaccounted": self.unaccounted(self.item_counts),
            "executionsUnaccounted": self.unaccounted(self.execution_counts),
            "redriveCount": self.redrive_count,
            "start": iso_utc(self.start),
            "stop": iso_utc(self.stop),
            "failedChildren": [child.to_json() for child in self.failed_children],
            "failedChildrenTotal": self.failed_children_total,
            "functions": self.functions,
        }


@dataclass
class ExecutionDetail:
    described: dict[str, Any]
    machine: str  # the deployment's label (daily_rollup, backfill), else the state machine's name
    graph: Flow | None
    visits: Visits
    events: list[dict[str, Any]]
    history_note: str | None = None
    map_runs: list[MapRun] = field(default_factory=list)
    parent: ChildExecution | None = None
    children: list[ChildExecution] = field(default_factory=list)

    @property
    def arn(self) -> str:
        return str(self.described["executionArn"])

    @property
    def status(self) -> str:
        return str(self.described["status"])

    def state_status(self, name: str) -> str:
        """What a state did: its last visit's end, or ``not entered``; a visit left open by an
        execution that ended counts as failed when it has an error of its own, else aborted."""
        status = self.visits.status(name)
        if status == "running" and self.status not in ("RUNNING", "PENDING_REDRIVE"):
            # Still open when the execution ended: failed with its own error, else cut short.
            return "failed" if self.visits.of(name)[-1].error else "aborted"
        return status


def execution_detail(pipeline: Pipeline, arn: str) -> ExecutionDetail:
    sfn = pipeline.sfn
    try:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
    except ClientError as error:
        if error_code(error) in ("ExecutionDoesNotExist", "InvalidArn"):
            raise UnknownExecution(f"unknown execution {arn}") from None
        raise
    machines = {value: key for key, value in state_machines(pipeline).items()}
    machine_arn = str(described.get("stateMachineArn", ""))
    machine = machines.get(machine_arn) or machine_arn.rsplit(":", 1)[-1]
    graph = None
    try:
        graph = parse_definition(sfn.describe_state_machine_for_execution(executionArn=arn)["definition"])
    except (ClientError, BotoCoreError, ValueError, KeyError):
        graph = None
    events, note = _events(pipeline, arn)
    visits = read_visits(events)
    detail = ExecutionDetail(described, machine, graph, visits, events, note)
    detail.map_runs = [_map_run(pipeline, run_arn, graph) for run_arn in visits.map_runs()]
    detail.parent = _parent(pipeline, described, machine)
    if machine == "backfill":
        detail.children = _backfill_children(pipeline, described)
    return detail


def _backfill_children(pipeline: Pipeline, described: dict[str, Any]) -> list[ChildExecution]:
    """The daily_rollup executions a backfill started, the latest attempt of each day: found by
    the names backfill.asl.json gives them, among the executions started since the backfill."""
    backfill = run_from_description(described, pipeline.timezone)
    given = backfill.input if isinstance(backfill.input, dict) else {}
    try:
        days = DateRange.parse(str(given.get("from")), str(given.get("to")))
    except MeterpipeError:
        return []
    wanted = {
        backfill_child_name(day, backfill.name, attempt): (day, attempt)
        for day in days.days
        for attempt in range(backfill.redrive_count + 1)
    }
    latest: dict[dt.date, tuple[int, dict[str, Any]]] = {}
    paginator = pipeline.sfn.get_paginator("list_executions")
    for page in paginator.paginate(stateMachineArn=pipeline.deployment.daily_rollup_arn):
        items = page["executions"]
        for item in items:
            if item["name"] in wanted:
                day, attempt = wanted[item["name"]]
                if day not in latest or latest[day][0] < attempt:
                    latest[day] = (attempt, item)
        if items and items[-1]["startDate"] < backfill.start:
            break  # newest first: the rest started before the backfill
    children = []
    for day in sorted(latest):
        item = latest[day][1]
        child = _child(pipeline, item) if item["status"] in FAILED_CHILD_STATUSES else None
        children.append(
            ChildExecution(
                str(item["executionArn"]),
                str(item["name"]),
                str(item["status"]),
                child.error if child else None,
                child.cause if child else None,
                label=day.isoformat(),
            )
        )
    return children


def _events(pipeline: Pipeline, arn: str) -> tuple[list[dict[str, Any]], str | None]:
    events: list[dict[str, Any]] = []
    try:
        paginator = pipeline.sfn.get_paginator("get_execution_history")
        for page in paginator.paginate(executionArn=arn, includeExecutionData=True):
            events.extend(page["events"])
    except ClientError as error:
        # AWS keeps no history of EXPRESS executions (a distributed map's batches).
        return [], f"no event history: {error_code(error)} ({error.response.get('Error', {}).get('Message')})"
    return events, None


def history_document(pipeline: Pipeline, arn: str) -> dict[str, Any]:
    """The execution and its whole event history, as JSON (Export history)."""
    described = pipeline.sfn.describe_execution(executionArn=arn)
    events, note = _events(pipeline, arn)
    return {
        "execution": jsonable({k: v for k, v in described.items() if k != "ResponseMetadata"}),
        "events": jsonable(events),
        "note": note,
    }


def jsonable(value: Any) -> Any:
    """``value`` with its datetimes as ISO 8601 UTC text, as ``json.dumps`` takes it."""
    return json.loads(
        json.dumps(value, default=lambda v: iso_utc(v) if isinstance(v, dt.datetime) else str(v))
    )


def _map_run(pipeline: Pipeline, arn: str, graph: Flow | None) -> MapRun:
    described = pipeline.sfn.describe_map_run(mapRunArn=arn)
    label = arn.rsplit(":", 1)[0].rsplit("/", 1)[-1]
    state = _map_state(graph, label)
    run = MapRun(
        arn=arn,
        state=state.name if state else None,
        status=str(described.get("status")),
        item_counts={k: int(v) for k, v in (described.get("itemCounts") or {}).items()},
        execution_counts={k: int(v) for k, v in (described.get("executionCounts") or {}).items()},
        redrive_count=int(described.get("redriveCount") or 0),
        start=described.get("startDate"),
        stop=described.get("stopDate"),
    )
    if state is not None and state.processor is not None:
        run.functions = sorted({f for inner, _ in state.processor.walk() for f in inner.functions})
    failed: list[dict[str, Any]] = []
    for status in FAILED_CHILD_STATUSES:
        paginator = pipeline.sfn.get_paginator("list_executions")
        for page in paginator.paginate(mapRunArn=arn, statusFilter=status):
            failed.extend(page["executions"])
    run.failed_children_total = len(failed)
    with ThreadPoolExecutor(max_workers=4) as pool:
        run.failed_children = list(
            pool.map(lambda item: _child(pipeline, item), failed[:_FAILED_CHILDREN_SHOWN])
        )
    return run


def _map_state(graph: Flow | None, label: str) -> StateNode | None:
    """The Map state whose map runs carry ``label`` (its Label, else its name)."""
    if graph is None:
        return None
    for state, _ in graph.walk():
        if state.type == "Map" and label in (state.label, state.name):
            return state
    return None


def _child(pipeline: Pipeline, item: dict[str, Any]) -> ChildExecution:
    try:
        described = pipeline.sfn.describe_execution(executionArn=item["executionArn"])
    except (ClientError, BotoCoreError):
        described = item
    cause = described.get("cause")
    return ChildExecution(
        arn=str(item["executionArn"]),
        name=str(item.get("name")),
        status=str(described.get("status", item.get("status"))),
        error=described.get("error"),
        cause=readable_cause(cause, 2000),
        request_id=lambda_request_id(cause),
    )


def lambda_request_id(cause: Any) -> str | None:
    """The Lambda request id in a failed Task's cause (the function's error JSON names it)."""
    if not isinstance(cause, str):
        return None
    try:
        data = json.loads(cause)
    except ValueError:
        return None
    if isinstance(data, dict):
        found = data.get("requestId") or data.get("RequestId")
        return str(found) if found else None
    return None


def _parent(pipeline: Pipeline, described: dict[str, Any], machine: str) -> ChildExecution | None:
    """The execution that started this one: a map run's parent, or the backfill of a day."""
    sfn = pipeline.sfn
    try:
        if described.get("mapRunArn"):
            parent_arn = str(sfn.describe_map_run(mapRunArn=described["mapRunArn"])["executionArn"])
            parent = sfn.describe_execution(executionArn=parent_arn)
            return ChildExecution(parent_arn, str(parent["name"]), str(parent["status"]))
        if machine != "daily_rollup" or "backfill" not in state_machines(pipeline):
            return None
        run = run_from_description(described, pipeline.timezone)
        if run.origin != "backfill" or run.date is None:
            return None
        paginator = sfn.get_paginator("list_executions")
        for page in paginator.paginate(stateMachineArn=pipeline.deployment.backfill_arn):
            for item in page["executions"]:
                if item["startDate"] > run.start:
                    continue
                for attempt in range(int(item.get("redriveCount") or 0) + 1):
                    if backfill_child_name(run.date, str(item["name"]), attempt) == run.name:
                        return ChildExecution(
                            str(item["executionArn"]), str(item["name"]), str(item["status"])
                        )
    except (ClientError, BotoCoreError, KeyError):
        return None
    return None
