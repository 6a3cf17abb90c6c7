"""The history of processing dates, and one execution's timeline.

``day_history`` is one line per processing date: its latest run's status, start, duration,
items written and redrive count. ``timeline`` reads an execution's events (GetExecutionHistory)
into one span per state it entered: start, duration, retries, the Athena query id and bytes
scanned, the map run and its item counts, the error and cause where it failed. Each event is
attributed to its state by following ``previousEventId`` back to the state's ``*StateEntered``
event, which keeps Parallel branches apart; the spans are then grouped by branch along the
definition the execution ran (each Parallel's branches after it, one at a time). A map run that a
redrive ran again is one map run: its counts (DescribeMapRun's, whose parts add up to the total)
and redrive count go with its last span only.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handlers import ledger_format as lf
from meterpipe.aws import error_code
from meterpipe.definitions import MAP_RESULTS_PREFIX
from meterpipe.errors import MeterpipeError
from meterpipe.ops.dates import DateRange, iso_utc, parse_date
from meterpipe.ops.ledger import DayRecord, attempt_records, day_record, day_records, execution_record
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.runs import Run, UnknownExecution, run_from_description
from meterpipe.ops.statemachine import Flow, group_by_branch, parse_definition

NEVER = "NEVER"
STATUSES = (*lf.STATUSES, NEVER)
_MAP_LABELS = {"hourly": "hour", "daily": "day", "monthly": "month"}
_CAUSE_LIMIT = 400


@dataclass(frozen=True)
class DayLine:
    """One processing date: its ledger record (None: never run) and its latest attempt's record."""

    date: dt.date
    record: DayRecord | None
    latest: DayRecord | None = None  # the attempt record of record.attempts

    @property
    def status(self) -> str:
        return self.record.status if self.record else NEVER

    def to_json(self, now: dt.datetime) -> dict[str, Any]:
        if self.record is None:
            return {"date": self.date.isoformat(), "status": NEVER, "attempts": 0}
        data = self.record.to_json(now)
        data["origin"] = self.latest.origin if self.latest else None
        data["redriveCount"] = self.latest.redrive_count if self.latest else None
        return data


def day_history(
    pipeline: Pipeline, days: DateRange | None = None, status: str | None = None
) -> list[DayLine]:
    """One line per processing date with a ledger record (and, for a bounded range, every date in
    it): one Query of day records and one of attempt records, whatever the number of executions."""
    records = day_records(pipeline, days)
    attempts = attempt_records(pipeline, days)

    def latest(record: DayRecord) -> DayRecord | None:
        found = [a for a in attempts.get(record.date, []) if a.attempt == record.attempts]
        return found[-1] if found else None

    lines = [DayLine(day, record, latest(record)) for day, record in records.items()]
    if days is not None and days.start != dt.date.min and days.end != dt.date.max:
        lines += [DayLine(day, None) for day in days.days if day not in records]
    lines.sort(key=lambda line: line.date)
    if status is not None:
        lines = [line for line in lines if line.status == status.upper()]
    return lines


# -- one execution ---------------------------------------------------------------------------------


@dataclass
class StateSpan:
    """One entry into a state, and what happened inside it."""

    name: str
    type: str
    entered_id: int
    start: dt.datetime
    end: dt.datetime | None = None
    status: str = "running"  # running | succeeded | failed | aborted | timed out
    attempts: int = 0  # TaskScheduled events: 1 plus the retries
    query_execution_id: str | None = None
    bytes_scanned: int | None = None
    map_run_arn: str | None = None
    item_counts: dict[str, int] | None = None  # on the map run's last span only
    map_run_redrives: int = 0
    map_run_again: bool = False  # a redrive ran this span's map run again, in a later span
    error: str | None = None
    cause: str | None = None
    branch: tuple[str, ...] = ()  # the enclosing states: ("WriteRollups", "branch 1")
    day_outcomes: dict[str, int] | None = None  # a backfill's map of days: the days by ledger status

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)

    def duration(self, now: dt.datetime) -> float:
        return max(0.0, ((self.end or now) - self.start).total_seconds())

    def to_json(self, now: dt.datetime) -> dict[str, Any]:
        return {
            "state": self.name,
            "type": self.type,
            "start": iso_utc(self.start),
            "end": iso_utc(self.end),
            "durationSeconds": round(self.duration(now), 3),
            "status": self.status,
            "retries": self.retries,
            "queryExecutionId": self.query_execution_id,
            "bytesScanned": self.bytes_scanned,
            "mapRunArn": self.map_run_arn,
            "itemCounts": self.item_counts,
            "mapRunRedriveCount": self.map_run_redrives if self.map_run_arn else None,
            "dayOutcomes": self.day_outcomes,
            "branch": list(self.branch),
            "error": self.error,
            "cause": self.cause,
        }


@dataclass
class Timeline:
    machine: str  # daily_rollup | backfill
    execution: Run
    spans: list[StateSpan]
    redrives: list[dt.datetime] = field(default_factory=list)
    error: str | None = None
    cause: str | None = None
    root_cause: str | None = None  # the first failed batch's error, when a map run failed
    ledger: DayRecord | None = None  # daily_rollup: the ledger's record of this execution's attempt
    days: list[DayRecord] = field(default_factory=list)  # backfill: its latest attempt of each day

    def to_json(self, now: dt.datetime) -> dict[str, Any]:
        return {
            "stateMachine": self.machine,
            "execution": self.execution.to_json(),
            "redrives": [iso_utc(when) for when in self.redrives],
            "error": self.error,
            "cause": self.cause,
            "rootCause": self.root_cause,
            "ledger": self.ledger.to_json(now) if self.ledger else None,
            "states": [span.to_json(now) for span in self.spans],
            "days": [day.to_json(now) for day in self.days],
        }


def find_execution(pipeline: Pipeline, reference: str) -> tuple[str, dict[str, Any]]:
    """``(machine, DescribeExecution)`` of an execution given by ARN or by name (either state
    machine's); machine is ``daily_rollup`` or ``backfill``."""
    deployment = pipeline.deployment
    machines = {deployment.daily_rollup_arn: "daily_rollup", deployment.backfill_arn: "backfill"}
    if reference.startswith("arn:"):
        candidates = [reference]
    else:
        candidates = [deployment.execution_arn(arn, reference) for arn in machines]
    for arn in candidates:
        try:
            described: dict[str, Any] = pipeline.sfn.describe_execution(executionArn=arn)
        except ClientError as error:
            if error_code(error) in ("ExecutionDoesNotExist", "InvalidArn"):
                continue
            raise
        machine = machines.get(str(described.get("stateMachineArn")))
        if machine is None:
            raise MeterpipeError(
                f"{reference} is an execution of {described.get('stateMachineArn')}, not meterpipe's"
            )
        return machine, described
    where = f"{deployment.daily_rollup_name} or {deployment.backfill_name}"
    raise UnknownExecution(f"unknown execution {reference!r}: no such execution of {where}")


def resolve_reference(pipeline: Pipeline, reference: str) -> tuple[str, dict[str, Any]]:
    """A processing date (its latest run) or an execution name or ARN."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", reference.strip()):
        day = parse_date(reference)
        record = day_record(pipeline, day, repair=False)
        if record is None:
            raise UnknownExecution(f"{day} has never been run (see `meterpipe history`)")
        return find_execution(pipeline, record.execution_arn)
    return find_execution(pipeline, reference)


def history_events(pipeline: Pipeline, execution_arn: str) -> list[dict[str, Any]]:
    paginator = pipeline.sfn.get_paginator("get_execution_history")
    events: list[dict[str, Any]] = []
    for page in paginator.paginate(executionArn=execution_arn, includeExecutionData=True):
        events.extend(page["events"])
    return events


_ENDS_OPEN_STATES = {"ExecutionAborted": "aborted", "ExecutionTimedOut": "timed out"}


def build_spans(events: list[dict[str, Any]]) -> tuple[list[StateSpan], list[dt.datetime]]:
    """Spans of the states entered, in order of entry, and the times the execution was redriven."""
    spans: dict[int, StateSpan] = {}
    owner: dict[int, int] = {}  # event id -> entered event id of its state
    redrives: list[dt.datetime] = []
    for event in sorted(events, key=lambda e: e["id"]):
        kind, event_id = str(event["type"]), int(event["id"])
        if kind.endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails", {})
            spans[event_id] = StateSpan(
                name=str(details.get("name", "?")),
                type=kind.removesuffix("StateEntered"),
                entered_id=event_id,
                start=event["timestamp"],
            )
            owner[event_id] = event_id
            if kind == "FailStateEntered":
                spans[event_id].status = "failed"
                spans[event_id].end = event["timestamp"]
            continue
        if kind == "ExecutionRedriven":
            redrives.append(event["timestamp"])
            continue
        if kind in _ENDS_OPEN_STATES:
            # A stop or an execution timeout records no exit for the states still running (AWS
            # writes ExecutionAborted / ExecutionTimedOut alone): they end with the execution.
            for span in spans.values():
                if span.end is None:
                    span.status, span.end = _ENDS_OPEN_STATES[kind], event["timestamp"]
            continue
        span_id = _owner_of(event, spans, owner)
        if span_id is None:
            continue
        owner[event_id] = span_id
        _apply(spans[span_id], kind, event)
    return list(spans.values()), redrives


def _owner_of(event: dict[str, Any], spans: dict[int, StateSpan], owner: dict[int, int]) -> int | None:
    """The state an event belongs to: the one its previousEventId chain leads to, unless the event
    names a state of another type or name (a Parallel state's own events follow its last branch's
    last event): then the latest entry of that state still open."""
    kind = str(event["type"])
    span_id = owner.get(int(event.get("previousEventId") or 0))
    state_type, found, _ = kind.partition("State")
    if not found:
        return span_id
    name = event.get("stateExitedEventDetails", {}).get("name")
    candidate = spans.get(span_id) if span_id is not None else None
    if candidate is not None and candidate.type == state_type and (name is None or candidate.name == name):
        return span_id
    open_spans = [
        s
        for s in spans.values()
        if s.type == state_type and s.end is None and (name is None or s.name == name)
    ]
    return open_spans[-1].entered_id if open_spans else span_id


def _apply(span: StateSpan, kind: str, event: dict[str, Any]) -> None:
    when = event["timestamp"]
    if kind.endswith("StateExited"):
        span.end = when
        if span.status == "running":
            span.status = "succeeded"
        return
    if kind in ("TaskScheduled", "ActivityScheduled", "LambdaFunctionScheduled"):
        span.attempts += 1
        span.error = span.cause = None  # a retry: only the last attempt's failure counts
        return
    if kind in ("TaskSucceeded", "TaskSubmitted"):
        details = event.get("taskSucceededEventDetails") or event.get("taskSubmittedEventDetails") or {}
        if details.get("resourceType") == "athena":
            _read_query(span, details.get("output"))
        return
    if kind in ("MapRunStarted", "MapRunRedriven"):
        details = event.get("mapRunStartedEventDetails") or event.get("mapRunRedrivenEventDetails") or {}
        span.map_run_arn = details.get("mapRunArn") or span.map_run_arn
        return
    failure_keys = {
        "TaskFailed": "taskFailedEventDetails",
        "TaskTimedOut": "taskTimedOutEventDetails",
        "TaskStartFailed": "taskStartFailedEventDetails",
        "TaskSubmitFailed": "taskSubmitFailedEventDetails",
        "MapRunFailed": "mapRunFailedEventDetails",
        "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
        "EvaluationFailed": "evaluationFailedEventDetails",
    }
    if kind in failure_keys:
        details = event.get(failure_keys[kind], {})
        span.error, span.cause = details.get("error"), details.get("cause")
        return
    if kind.endswith("StateFailed") or kind == "MapRunAborted":
        span.status, span.end = "failed", when
    elif kind.endswith("StateAborted"):
        span.status, span.end = "aborted", when


def _read_query(span: StateSpan, output: Any) -> None:
    try:
        data = json.loads(output) if isinstance(output, str) else None
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    query = data.get("QueryExecution", data)
    if isinstance(query, dict):
        span.query_execution_id = query.get("QueryExecutionId") or span.query_execution_id
        scanned = (query.get("Statistics") or {}).get("DataScannedInBytes")
        if isinstance(scanned, int):
            span.bytes_scanned = scanned


def readable_cause(cause: str | None, limit: int = _CAUSE_LIMIT) -> str | None:
    """A cause as a person reads it, on one line: a Lambda error's JSON becomes ``Type: message``;
    of a message of many lines (write_batch lists every bad row) the first two are kept."""
    if not cause:
        return cause
    text = cause
    try:
        data = json.loads(cause)
    except ValueError:
        data = None
    if isinstance(data, dict) and ("errorMessage" in data or "Cause" in data):
        if "errorMessage" in data:
            text = f"{data.get('errorType', 'Error')}: {data['errorMessage']}"
        else:
            text = f"{data.get('Error', 'Error')}: {data.get('Cause')}"
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    text = "; ".join(lines[:2]) + (f" (+{len(lines) - 2} more lines)" if len(lines) > 2 else "")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class ChildFailure:
    """A failed child workflow of a map run: its error, (readable) cause and, when its input says,
    the batch it was writing (``hour batch of 2024-01-05, 96 rows``)."""

    error: str
    cause: str | None
    batch: str | None = None

    def __str__(self) -> str:
        if self.cause and self.cause.startswith(self.error):
            text = self.cause
        else:
            text = f"{self.error}: {self.cause}" if self.cause else self.error
        # write_batch's own errors name their batch already ("rejected the hour batch for ...").
        if self.batch and self.batch.split(",")[0] not in text.replace(" for ", " of "):
            return f"{self.batch}: {text}"
        return text


def batch_label(child_input: Any) -> str | None:
    """``hour batch of 2024-01-05, 96 rows`` from a write_batch child's input (a JSON string or
    dict: ``{"BatchInput": {"granularity", "date", ...}, "Items": [...]}``)."""
    try:
        data = json.loads(child_input) if isinstance(child_input, str) else child_input
        batch, items = data["BatchInput"], data["Items"]
        return f"{batch['granularity']} batch of {batch['date']}, {len(items)} rows"
    except (ValueError, TypeError, KeyError):
        return None


def first_failed_child(pipeline: Pipeline, map_run_arn: str) -> ChildFailure | None:
    """The first failed child of a map run: from the ResultWriter's manifest in the results bucket
    (AWS's record of every child, EXPRESS ones included), else from ListExecutions of the map
    run's children. None when neither says."""
    run_id = map_run_arn.rsplit(":", 1)[-1]
    label = map_run_arn.rsplit(":", 1)[0].rsplit("/", 1)[-1]
    granularity = _MAP_LABELS.get(label)
    if granularity:
        found = _failure_from_manifest(pipeline, f"{MAP_RESULTS_PREFIX}daily_rollup/{granularity}/{run_id}/")
        if found:
            return found
    try:
        listed = pipeline.sfn.list_executions(mapRunArn=map_run_arn, statusFilter="FAILED", maxResults=1)
        for item in listed.get("executions", []):
            child = pipeline.sfn.describe_execution(executionArn=item["executionArn"])
            return ChildFailure(
                str(child.get("error") or "Error"),
                readable_cause(child.get("cause")),
                batch_label(child.get("input")),
            )
    except (ClientError, BotoCoreError):
        return None
    return None


def _failure_from_manifest(pipeline: Pipeline, prefix: str) -> ChildFailure | None:
    s3 = pipeline.client("s3")
    bucket = pipeline.deployment.results_bucket
    try:
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=prefix + "manifest.json")["Body"].read())
        for entry in manifest.get("ResultFiles", {}).get("FAILED", []):
            failures = json.loads(s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read())
            for failure in failures if isinstance(failures, list) else []:
                if failure.get("Error") or failure.get("Cause"):
                    return ChildFailure(
                        str(failure.get("Error") or "Error"),
                        readable_cause(failure.get("Cause")),
                        batch_label(failure.get("Input")),
                    )
    except (ClientError, BotoCoreError, ValueError, KeyError, TypeError):
        return None
    return None


def last_attempt(spans: list[StateSpan], redrives: list[dt.datetime]) -> list[StateSpan]:
    """The spans of the execution's last attempt (since its last redrive)."""
    if not redrives:
        return spans
    since = max(redrives)
    return [span for span in spans if span.start >= since]


def failed_batch(pipeline: Pipeline, spans: list[StateSpan]) -> ChildFailure | None:
    """The first failed child (batch) of the first failed map run among ``spans``."""
    for span in spans:
        if span.map_run_arn and span.status == "failed":
            found = first_failed_child(pipeline, span.map_run_arn)
            if found is not None:
                return found
    return None


def root_cause(pipeline: Pipeline, execution_arn: str) -> str | None:
    """Why a failed daily_rollup execution failed, at the bottom: the first failed batch of a
    failed map run (the batch's own error, e.g. the rows write_batch refused)."""
    try:
        spans, _ = build_spans(history_events(pipeline, execution_arn))
    except (ClientError, BotoCoreError):
        return None
    found = failed_batch(pipeline, spans)
    return str(found) if found else None


def timeline(pipeline: Pipeline, reference: str) -> Timeline:
    """The timeline of an execution given by name or ARN, or of a date's latest run."""
    machine, described = resolve_reference(pipeline, reference)
    execution = run_from_description(described, pipeline.timezone)
    spans, redrives = build_spans(history_events(pipeline, execution.arn))
    spans = grouped_by_branch(_graph(pipeline, execution.arn), spans)
    last_span = {span.map_run_arn: span for span in spans if span.map_run_arn}
    for span in spans:
        span.map_run_again = span.map_run_arn is not None and last_span[span.map_run_arn] is not span
    for arn, span in last_span.items():
        try:
            described_run = pipeline.sfn.describe_map_run(mapRunArn=arn)
        except (ClientError, BotoCoreError):
            continue
        span.item_counts = {key: int(value) for key, value in described_run["itemCounts"].items()}
        span.map_run_redrives = int(described_run.get("redriveCount") or 0)
    result = Timeline(
        machine=machine,
        execution=execution,
        spans=spans,
        redrives=redrives,
        error=execution.error,
        cause=readable_cause(execution.cause, 2000),
    )
    if execution.failed:
        found = failed_batch(pipeline, spans)
        result.root_cause = str(found) if found else None
    if machine == "backfill":
        result.days = backfill_days(pipeline, execution)
        # Its map tolerates every day's failure (each item "succeeds"): what counts is each day's own
        # outcome, from the ledger.
        outcomes: dict[str, int] = {}
        for day in result.days:
            outcomes[day.status] = outcomes.get(day.status, 0) + 1
        for span in last_span.values():
            span.day_outcomes = outcomes
    else:
        result.ledger = execution_attempt(pipeline, execution.arn)
    return result


def _graph(pipeline: Pipeline, execution_arn: str) -> Flow | None:
    """The definition the execution ran, as a graph (None if it cannot be read)."""
    try:
        described = pipeline.sfn.describe_state_machine_for_execution(executionArn=execution_arn)
        return parse_definition(described["definition"])
    except (ClientError, BotoCoreError, ValueError, KeyError, TypeError):
        return None


def grouped_by_branch(graph: Flow | None, spans: list[StateSpan]) -> list[StateSpan]:
    """The spans with each Parallel's branches after it, one branch at a time (and a Map's inline
    processor after the Map), each span knowing its branch; as entered when there is no graph."""
    if graph is None:
        return spans
    order = group_by_branch(graph, [span.name for span in spans])
    for index, path in order:
        spans[index].branch = path
    return [spans[index] for index, _path in order]


def execution_attempt(pipeline: Pipeline, execution_arn: str) -> DayRecord | None:
    """The ledger's attempt record of a daily_rollup execution (its latest attempt)."""
    found = execution_record(pipeline, execution_arn)
    if found is None:
        return None
    day, attempt = found
    return next(
        (a for a in attempt_records(pipeline, DateRange(day, day)).get(day, []) if a.attempt == attempt), None
    )


def backfill_child_name(day: dt.date, backfill_name: str, redrive_count: int) -> str:
    """The name backfill.asl.json gives a day's daily_rollup execution."""
    suffix = f"_r{redrive_count}"
    parent = re.sub(r"[^A-Za-z0-9_-]", "_", backfill_name)
    return f"{day.isoformat()}_{parent[: 80 - 11 - len(suffix)]}{suffix}"


def backfill_range(backfill: Run) -> DateRange | None:
    """The processing dates a backfill execution covers, from its input."""
    given = backfill.input if isinstance(backfill.input, dict) else {}
    try:
        return DateRange.parse(str(given.get("from")), str(given.get("to")))
    except MeterpipeError:
        return None


def is_child_of(backfill: Run, day: dt.date, execution_name: str) -> bool:
    """Whether ``execution_name`` is the backfill's daily_rollup execution of ``day`` (any attempt)."""
    return any(
        execution_name == backfill_child_name(day, backfill.name, count)
        for count in range(backfill.redrive_count, -1, -1)
    )


def backfill_days(pipeline: Pipeline, backfill: Run) -> list[DayRecord]:
    """The latest attempt the backfill's own executions made at each of its days (attempt records:
    one Query for the range)."""
    days = backfill_range(backfill)
    if days is None:
        return []
    found: list[DayRecord] = []
    for day, attempts in sorted(attempt_records(pipeline, days).items()):
        mine = [a for a in attempts if is_child_of(backfill, day, a.execution_name)]
        if mine:
            found.append(mine[-1])
    return found
