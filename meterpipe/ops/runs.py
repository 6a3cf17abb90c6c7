"""daily_rollup executions as an operator reads them, and starting one.

An execution belongs to the date its input names (``{"date": ...}``), or for a scheduled run
(``{"scheduled_time": ...}``) the calendar day before that time in the schedule's zone; a
succeeded run's output names its date too. Which run is a day's latest is the ledger's to say
(``meterpipe.ops.ledger``): executions are never listed to find it.

Execution names say who started a run: ``<date>_run_<stamp>`` (``meterpipe run``),
``<date>_redrive_<stamp>`` (a fresh run by ``meterpipe redrive``), ``<date>_<backfill>_r<n>``
(a backfill's child), anything else with a ``scheduled_time`` input (the schedule).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from botocore.exceptions import ClientError

from meterpipe.aws import error_code
from meterpipe.errors import MeterpipeError
from meterpipe.ops.dates import iso_utc, scheduled_day
from meterpipe.ops.pipeline import Pipeline

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
FAILED = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
GRANULARITY_KEYS = ("hour", "day", "month")
_DATE_PREFIX = re.compile(r"(\d{4}-\d{2}-\d{2})_(.+)")
_BACKFILL_CHILD = re.compile(r".+_r\d+")
# DescribeExecution calls in flight while listing runs (AWS's bucket allows bursts of 250).
_DESCRIBE_WORKERS = 8


class UnknownExecution(MeterpipeError):
    """No execution of that name or ARN in the deployment's state machines."""


@dataclass(frozen=True)
class Run:
    """One daily_rollup execution, as an operator reads it."""

    arn: str
    name: str
    status: str
    start: dt.datetime
    stop: dt.datetime | None
    date: dt.date | None
    origin: str  # run | schedule | backfill | redrive | other
    redrive_count: int = 0
    redrive_date: dt.datetime | None = None
    redrive_status: str | None = None
    redrive_status_reason: str | None = None
    input: Any = None
    output: Any = None
    error: str | None = None
    cause: str | None = None

    @property
    def last_start(self) -> dt.datetime:
        """When it last (re)started: a redrive starts the execution again."""
        return self.redrive_date or self.start

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    @property
    def items_written(self) -> int | None:
        """Items the run wrote (hour + day + month), from a succeeded run's output."""
        if not isinstance(self.output, dict):
            return None
        counts = [
            part.get("items_written")
            for part in (self.output.get(key) for key in GRANULARITY_KEYS)
            if isinstance(part, dict)
        ]
        numbers = [c for c in counts if isinstance(c, int)]
        return sum(numbers) if numbers else None

    def duration(self, now: dt.datetime) -> float:
        """Seconds from the (last) start to the stop, or to ``now`` while running."""
        end = self.stop if self.stop is not None and self.done else now
        return max(0.0, (end - self.last_start).total_seconds())

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat() if self.date else None,
            "execution": self.name,
            "executionArn": self.arn,
            "status": self.status,
            "origin": self.origin,
            "start": iso_utc(self.start),
            "stop": iso_utc(self.stop),
            "redriveCount": self.redrive_count,
            "redriveDate": iso_utc(self.redrive_date),
            "itemsWritten": self.items_written,
            "error": self.error,
            "cause": self.cause,
        }


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def processing_date(name: str, given: Any, output: Any, zone: ZoneInfo) -> dt.date | None:
    """The date a daily_rollup execution processes, from its output, its input or its name."""
    for document, key in ((output, "date"), (given, "date")):
        if isinstance(document, dict) and isinstance(document.get(key), str):
            try:
                return dt.date.fromisoformat(document[key])
            except ValueError:
                pass
    if isinstance(given, dict) and isinstance(given.get("scheduled_time"), str):
        return scheduled_day(given["scheduled_time"], zone)
    match = _DATE_PREFIX.fullmatch(name)
    if match:  # an input that names no date: the name says which day it was meant for
        try:
            return dt.date.fromisoformat(match.group(1))
        except ValueError:
            return None
    return None


def origin_of(name: str, given: Any) -> str:
    if isinstance(given, dict) and "scheduled_time" in given:
        return "schedule"
    match = _DATE_PREFIX.fullmatch(name)
    if match:
        rest = match.group(2)
        if rest.startswith("run_"):
            return "run"
        if rest.startswith("redrive_"):
            return "redrive"
        if _BACKFILL_CHILD.fullmatch(rest):
            return "backfill"
    return "other"


def run_from_description(described: dict[str, Any], zone: ZoneInfo) -> Run:
    """A Run from DescribeExecution's response."""
    given, output = _json(described.get("input")), _json(described.get("output"))
    name = str(described["name"])
    return Run(
        arn=str(described["executionArn"]),
        name=name,
        status=str(described["status"]),
        start=described["startDate"],
        stop=described.get("stopDate"),
        date=processing_date(name, given, output, zone),
        origin=origin_of(name, given),
        redrive_count=int(described.get("redriveCount") or 0),
        redrive_date=described.get("redriveDate"),
        redrive_status=described.get("redriveStatus"),
        redrive_status_reason=described.get("redriveStatusReason"),
        input=given,
        output=output,
        error=described.get("error"),
        cause=described.get("cause"),
    )


def execution_name(day: dt.date, origin: str, now: dt.datetime) -> str:
    """``2024-01-05_run_20240106T101500_3fa9``: the date first, so names sort and say their day."""
    return f"{day.isoformat()}_{origin}_{now.astimezone(dt.UTC):%Y%m%dT%H%M%S}_{secrets.token_hex(2)}"


@dataclass(frozen=True)
class Tolerance:
    """An operator's validation settings for one run or backfill, overriding the deployment's
    (``meterpipe:maxBadReadings``, ``meterpipe:minCompletenessPercent``) where given."""

    max_bad_readings: int | None = None
    min_completeness_percent: float | None = None

    def to_input(self) -> dict[str, Any]:
        """The execution input's fields (daily_rollup's, which backfill passes to every day)."""
        given: dict[str, Any] = {}
        if self.max_bad_readings is not None:
            given["maxBadReadings"] = self.max_bad_readings
        if self.min_completeness_percent is not None:
            percent = self.min_completeness_percent
            given["minCompletenessPercent"] = int(percent) if percent == int(percent) else percent
        return given


def start_run(
    pipeline: Pipeline, day: dt.date, *, origin: str = "run", tolerance: Tolerance | None = None
) -> Run:
    """Start daily_rollup for ``day``, as the schedule would (``{"date": ...}`` input, with the
    ``tolerance`` given)."""
    name = execution_name(day, origin, pipeline.now())
    given = {"date": day.isoformat(), **(tolerance or Tolerance()).to_input()}
    started = pipeline.sfn.start_execution(
        stateMachineArn=pipeline.deployment.daily_rollup_arn, name=name, input=json.dumps(given)
    )
    return Run(
        arn=str(started["executionArn"]),
        name=name,
        status="RUNNING",
        start=started["startDate"],
        stop=None,
        date=day,
        origin=origin,
        input=given,
    )


def describe_run(pipeline: Pipeline, arn: str) -> Run:
    try:
        described = pipeline.sfn.describe_execution(executionArn=arn)
    except ClientError as error:
        if error_code(error) in ("ExecutionDoesNotExist", "InvalidArn"):
            raise UnknownExecution(f"unknown execution {arn}") from None
        raise
    return run_from_description(described, pipeline.timezone)


class RunsFailed(MeterpipeError):
    """The work ran, but some run or day did not succeed (exit code 3)."""

    exit_code = 3
