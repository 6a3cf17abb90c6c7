"""Lambda log lines: what a function printed for one request, from CloudWatch Logs.

A Lambda function logs into ``/aws/lambda/<function>``; every line of one invocation carries its
request id (``START RequestId: ...``, Powertools' ``function_request_id``, ``REPORT ...``), and a
failed batch's cause names that id. So the lines of a failed batch are one FilterLogEvents call
with the quoted request id as the filter pattern, on AWS and on localcloud alike.
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
    arguments: dict[str, Any] = {"logGroupName": group, "filterPattern": f'"{request_id}"'}
    if start is not None:
        arguments["startTime"] = int(start.timestamp() * 1000)
    if end is not None:
        arguments["endTime"] = int(end.timestamp() * 1000)
    lines: list[LogLine] = []
    try:
        for page in pipeline.client("logs").get_paginator("filter_log_events").paginate(**arguments):
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
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return []
        raise
    lines.sort(key=lambda line: line.timestamp)
    return lines[:_MAX_LINES]


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
