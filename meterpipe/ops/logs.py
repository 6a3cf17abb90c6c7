"""Lambda log lines: what a function printed for one request, from CloudWatch Logs.

A Lambda function logs into ``/aws/lambda/<function>``, one stream per execution environment, which
runs one invocation at a time; a failed batch's cause names the invocation's request id. The
runtime's own lines name it (``START RequestId: ...``, ``END``, ``REPORT``), and so do Powertools'
(``function_request_id``), but not what else the function prints, nor the runtime's ``[ERROR]``
line of an unhandled exception, the one that says why. So the lines of a request are found in two
FilterLogEvents calls, on AWS and on localcloud alike: the quoted request id as the filter pattern
finds its stream and its START and REPORT lines; then every line of that stream between them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from meterpipe.aws import error_code
from meterpipe.ops.dates import iso_utc
from meterpipe.ops.executions import FAILED_CHILD_STATUSES, ChildExecution, execution_detail
from meterpipe.ops.pipeline import Pipeline

_MAX_LINES = 1000


def log_group(function: str) -> str:
    return f"/aws/lambda/{function}"


@dataclass(frozen=True)
class LogLine:
    group: str
    stream: str
    timestamp: dt.datetime
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "logGroup": self.group,
            "logStream": self.stream,
            "timestamp": iso_utc(self.timestamp),
            "message": self.message,
        }


def request_log_lines(
    pipeline: Pipeline,
    function: str,
    request_id: str,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[LogLine]:
    """The log lines of one invocation of ``function``, oldest first (none if the group does not
    exist yet: a function that never ran has no log group)."""
    group = log_group(function)
    arguments: dict[str, Any] = {"filterPattern": f'"{request_id}"'}
    if start is not None:
        arguments["startTime"] = int(start.timestamp() * 1000)
    if end is not None:
        arguments["endTime"] = int(end.timestamp() * 1000)
    try:
        named = _filtered(pipeline, group, arguments)
        lines: list[LogLine] = []
        for stream in dict.fromkeys(line.stream for line in named):
            own = [line for line in named if line.stream == stream]
            window = _filtered(
                pipeline,
                group,
                {
                    "logStreamNames": [stream],
                    "startTime": _millis(own[0].timestamp),
                    "endTime": _millis(own[-1].timestamp) + 1,
                },
            )
            lines += _invocation(window, request_id) or own
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return []
        raise
    lines.sort(key=lambda line: line.timestamp)  # stable: a stream's lines keep their order
    return lines[:_MAX_LINES]


def _millis(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _invocation(window: list[LogLine], request_id: str) -> list[LogLine]:
    """A stream's lines from the request's START line to its REPORT line (lines of the invocations
    before and after it may share the first and last millisecond)."""
    starts = [i for i, line in enumerate(window) if line.message.startswith(f"START RequestId: {request_id}")]
    reports = [
        i for i, line in enumerate(window) if line.message.startswith(f"REPORT RequestId: {request_id}")
    ]
    if not starts:
        return []
    return window[starts[0] : (reports[-1] if reports else len(window) - 1) + 1]


def _filtered(pipeline: Pipeline, group: str, arguments: dict[str, Any]) -> list[LogLine]:
    lines: list[LogLine] = []
    paginator = pipeline.client("logs").get_paginator("filter_log_events")
    for page in paginator.paginate(logGroupName=group, **arguments):
        for event in page.get("events", []):
            lines.append(
                LogLine(
                    group=group,
                    stream=str(event.get("logStreamName", "")),
                    timestamp=dt.datetime.fromtimestamp(int(event["timestamp"]) / 1000, dt.UTC),
                    message=str(event.get("message", "")).rstrip("\n"),
                )
            )
        if len(lines) >= _MAX_LINES:
            break
    return lines


@dataclass(frozen=True)
class BatchLog:
    """A failed batch of a map run (a child execution) and its function's log lines."""

    execution_arn: str  # the execution whose map run it belongs to
    map_run_arn: str
    state: str | None
    child: ChildExecution
    function: str
    lines: list[LogLine]

    def to_json(self) -> dict[str, Any]:
        return {
            "executionArn": self.execution_arn,
            "mapRunArn": self.map_run_arn,
            "state": self.state,
            "child": self.child.to_json(),
            "function": self.function,
            "logGroup": log_group(self.function),
            "lines": [line.to_json() for line in self.lines],
        }


def failed_batch_logs(pipeline: Pipeline, execution_arn: str) -> list[BatchLog]:
    """The log lines of every failed batch an execution's map runs name (the first 20 of each map
    run); for a backfill, those of its failed days' executions."""
    detail = execution_detail(pipeline, execution_arn)
    found: list[BatchLog] = []
    for run in detail.map_runs:
        for child in run.failed_children:
            if child.request_id is None:
                continue
            for function in run.functions:
                lines = request_log_lines(pipeline, function, child.request_id, start=run.start)
                found.append(BatchLog(detail.arn, run.arn, run.state, child, function, lines))
    for day in detail.children:
        if day.status in FAILED_CHILD_STATUSES:
            found += failed_batch_logs(pipeline, day.arn)
    return found
