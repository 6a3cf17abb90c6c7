"""Backfills: which days would run and why (from the per-day ledger), and starting the backfill
state machine.

``--only-missing`` runs the days without a success; ``--stale`` those too, and the succeeded days
whose lake objects changed since their success (the input fingerprint the ledger recorded differs
from the current one). Either can leave gaps in a range: each stretch of consecutive days to do
becomes its own backfill execution (the state machine takes a from..to range), with the same
concurrency each.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from meterpipe.errors import MeterpipeError
from meterpipe.ops.dates import DateRange, contiguous
from meterpipe.ops.fingerprint import Fingerprint
from meterpipe.ops.ledger import DayRecord, day_records
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.runs import Tolerance

MAX_DAYS = 366  # backfill.asl.json refuses longer ranges
Mode = Literal["all", "missing", "stale"]


class BackfillError(MeterpipeError):
    """A backfill that cannot start as asked (range too long, concurrency out of bounds)."""


@dataclass(frozen=True)
class PlannedDay:
    date: dt.date
    run: bool
    reason: str
    record: DayRecord | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "run": self.run,
            "reason": self.reason,
            "latestExecution": self.record.execution_name if self.record else None,
            "latestStatus": self.record.status if self.record else None,
        }


@dataclass(frozen=True)
class BackfillPlan:
    days: tuple[PlannedDay, ...]

    @property
    def to_run(self) -> list[dt.date]:
        return [d.date for d in self.days if d.run]

    @property
    def ranges(self) -> list[DateRange]:
        return contiguous(self.to_run)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def input_change(record: DayRecord, now: Fingerprint | None) -> str | None:
    """How a succeeded day's input changed since its success, or None if it did not."""
    if now is None or record.fingerprint is None or record.fingerprint == now.value:
        return None
    then = (
        f"{record.input_objects} object(s), {_size(record.input_bytes)}"
        if record.input_objects is not None and record.input_bytes is not None
        else "unrecorded"
    )
    current = f"{now.objects} object(s), {_size(now.bytes)}"
    detail = "objects rewritten" if then == current else f"{then} then, {current} now"
    return f"input changed since its success: {detail}"


def plan_backfill(
    pipeline: Pipeline,
    days: DateRange,
    *,
    mode: Mode = "all",
    inputs: Mapping[dt.date, Fingerprint] | None = None,
) -> BackfillPlan:
    """Every day of ``days``: whether it runs, and why, from its ledger record (one Query).
    ``mode`` "missing" skips the days that succeeded; "stale" skips them too unless their input
    (``inputs``: each day's lake objects now) changed since the success."""
    if len(days) > MAX_DAYS:
        raise BackfillError(
            f"{days} spans {len(days)} days; a backfill covers at most {MAX_DAYS}: split the range"
        )
    records = day_records(pipeline, days)
    planned = [_plan_day(day, records.get(day), mode, (inputs or {}).get(day)) for day in days.days]
    return BackfillPlan(tuple(planned))


def _plan_day(day: dt.date, record: DayRecord | None, mode: Mode, now: Fingerprint | None) -> PlannedDay:
    if record is None:
        return PlannedDay(day, True, "never run")
    when = f"{record.started_at:%Y-%m-%d %H:%M} UTC, " if record.started_at else ""
    latest = f"({when}{record.execution_name})"
    if record.succeeded:
        if mode == "all":
            return PlannedDay(day, True, f"run again: succeeded {latest}", record)
        change = input_change(record, now) if mode == "stale" else None
        if change:
            return PlannedDay(day, True, f"{change} {latest}", record)
        unchanged = ", input unchanged since" if mode == "stale" else ""
        return PlannedDay(day, False, f"skip: succeeded{unchanged} {latest}", record)
    if record.running:
        if mode == "all":
            return PlannedDay(day, True, f"run again: running now {latest}", record)
        return PlannedDay(day, False, f"skip: running now {latest}", record)
    why = f": {record.error}" if record.error else ""
    return PlannedDay(day, True, f"never succeeded: latest attempt {record.status}{why} {latest}", record)


@dataclass(frozen=True)
class StartedBackfill:
    arn: str
    name: str
    days: DateRange
    start: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "execution": self.name,
            "executionArn": self.arn,
            "from": self.days.start.isoformat(),
            "to": self.days.end.isoformat(),
            "days": len(self.days),
        }


def backfill_name(days: DateRange, now: dt.datetime) -> str:
    """``bf_20240101-20240131_20240206T101500_3fa9``: short, so each day's child name (date +
    this + ``_r<n>``) stays within 80 characters untrimmed."""
    stamp = f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%S}"
    return f"bf_{days.start:%Y%m%d}-{days.end:%Y%m%d}_{stamp}_{secrets.token_hex(2)}"


def check_concurrency(pipeline: Pipeline, concurrency: int | None) -> None:
    """Refuse, before anything starts, a concurrency the deployed backfill definition would refuse:
    its limit is the deployment's (a stack output), not this machine's configuration."""
    limit = pipeline.deployment.backfill_max_concurrency_limit
    if concurrency is not None and not 1 <= concurrency <= limit:
        name = pipeline.deployment.stack_name
        where = f"stack {name}" if name else "the deployment"
        raise BackfillError(
            f"--concurrency must be from 1 to {limit}: {where} was deployed with "
            f"backfillMaxConcurrencyLimit {limit}"
        )


def start_backfill(
    pipeline: Pipeline,
    ranges: list[DateRange],
    *,
    concurrency: int | None = None,
    tolerance: Tolerance | None = None,
) -> list[StartedBackfill]:
    """One backfill execution per range (a plan's ``ranges``: its stretches of consecutive days);
    the ``tolerance`` goes into its input, which passes it to every day's run."""
    check_concurrency(pipeline, concurrency)
    started = []
    for days in ranges:
        body: dict[str, Any] = {
            "from": days.start.isoformat(),
            "to": days.end.isoformat(),
            **(tolerance or Tolerance()).to_input(),
        }
        if concurrency is not None:
            body["max_concurrency"] = concurrency
        name = backfill_name(days, pipeline.now())
        response = pipeline.sfn.start_execution(
            stateMachineArn=pipeline.deployment.backfill_arn, name=name, input=json.dumps(body)
        )
        started.append(StartedBackfill(str(response["executionArn"]), name, days, response["startDate"]))
    return started
