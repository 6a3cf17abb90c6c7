"""The history of processing dates, and one execution's timeline.

``day_history`` is one line per processing date: its latest run's status, start, duration,
items written and redrive count. ``timeline`` reads an execution's events (GetExecutionHistory)
into one span per state it entered: start, duration, retries, the Athena query id and bytes
scanned, the map run and its item counts, the error and cause where it failed. Each event is
attributed to its state by following ``previousEventId`` back to the state's ``*StateEntered``
event, which keeps Parallel branches apart.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from meterpipe.aws import error_code
from meterpipe.definitions import MAP_RESULTS_PREFIX
from meterpipe.errors import MeterpipeError
from meterpipe.ops.dates import DateRange, iso_utc, parse_date
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.runs import Run, UnknownExecution, list_runs, run_from_description, runs_by_day

NEVER = "NEVER"
STATUSES = ("SUCCEEDED", "FAILED", "RUNNING", "ABORTED", "TIMED_OUT", "PENDING_REDRIVE", NEVER)
_MAP_LABELS = {"hourly": "hour", "daily": "day", "monthly": "month"}
_CAUSE_LIMIT = 400


@dataclass(frozen=True)
class DayLine:
    """One processing date: its latest run, how many runs it had."""

    date: dt.date
    latest: Run | None
    runs: int

    @property
    def status(self) -> str:
        return self.latest.status if self.latest else NEVER

    def to_json(self, now: dt.datetime) -> dict[str, Any]:
        latest = self.latest
        return {
            "date": self.date.isoformat(),
            "status": self.status,
            "runs": self.runs,
            "start": iso_utc(latest.start) if latest else None,
            "durationSeconds": round(latest.duration(now), 3) if latest else None,
            "itemsWritten": latest.items_written if latest else None,
            "redriveCount": latest.redrive_count if latest else None,
            "origin": latest.origin if latest else None,
            "execution": latest.name if latest else None,
            "executionArn": latest.arn if latest else None,
            "error": latest.error if latest else None,
            "cause": latest.cause if latest else None,
        }


def day_history(
    pipeline: Pipeline, days: DateRange | None = None, status: str | None = None
) -> list[DayLine]:
    """One line per processing date with runs (and, for a bounded range, every date in it)."""
    grouped = runs_by_day(list_runs(pipeline, days))
    lines = [DayLine(day, group.latest, len(group.runs)) for day, group in grouped.items()]
    if days is not None and days.start != dt.date.min and days.end != dt.date.max:
        seen = {line.date for line in lines}
        lines += [DayLine(day, None, 0) for day in days.days if day not in seen]
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
    item_counts: dict[str, int] | None = None
    error: str | None = None
    cause: str | None = None

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
    days: list[Run] = field(default_factory=list)  # backfill: each day's latest daily_rollup run

    def to_json(self, now: dt.datetime) -> dict[str, Any]:
        return {
            "stateMachine": self.machine,
            "execution": self.execution.to_json(),
            "redrives": [iso_utc(when) for when in self.redrives],
            "error": self.error,
            "cause": self.cause,
            "rootCause": self.root_cause,
            "states": [span.to_json(now) for span in self.spans],
            "days": [run.to_json() for run in self.days],
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
        group = runs_by_day(list_runs(pipeline, DateRange(day, day))).get(day)
        if group is None:
            raise UnknownExecution(f"{day} has never been run (see `meterpipe history`)")
        return find_execution(pipeline, group.latest.arn)
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
    for span in spans:
        if span.map_run_arn:
            try:
                counts = pipeline.sfn.describe_map_run(mapRunArn=span.map_run_arn)["itemCounts"]
                span.item_counts = {key: int(value) for key, value in counts.items()}
            except (ClientError, BotoCoreError):
                span.item_counts = None
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
    return result


def backfill_child_name(day: dt.date, backfill_name: str, redrive_count: int) -> str:
    """The name backfill.asl.json gives a day's daily_rollup execution."""
    suffix = f"_r{redrive_count}"
    parent = re.sub(r"[^A-Za-z0-9_-]", "_", backfill_name)
    return f"{day.isoformat()}_{parent[: 80 - 11 - len(suffix)]}{suffix}"


def backfill_days(pipeline: Pipeline, backfill: Run, runs: list[Run] | None = None) -> list[Run]:
    """The daily_rollup runs a backfill started, the latest attempt of each date."""
    given = backfill.input if isinstance(backfill.input, dict) else {}
    try:
        days = DateRange.parse(str(given.get("from")), str(given.get("to")))
    except MeterpipeError:
        return []
    runs = runs if runs is not None else list_runs(pipeline, days)
    by_name = {run.name: run for run in runs}
    found: list[Run] = []
    for day in days.days:
        for attempt in range(backfill.redrive_count, -1, -1):
            run = by_name.get(backfill_child_name(day, backfill.name, attempt))
            if run is not None:
                found.append(run)
                break
    return found
