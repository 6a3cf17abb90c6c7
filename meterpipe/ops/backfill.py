"""Backfills: which days would run and why, starting the backfill state machine, and following
its days until they end.

``--only-missing`` can leave gaps in a range; each run of consecutive days to do becomes its own
backfill execution (the state machine takes a from..to range), with the same concurrency each.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from meterpipe.definitions import DEFAULT_BACKFILL_MAX_CONCURRENCY_LIMIT
from meterpipe.errors import MeterpipeError
from meterpipe.ops.dates import DateRange, contiguous
from meterpipe.ops.history import backfill_days, readable_cause, root_cause
from meterpipe.ops.pipeline import Pipeline, cdk_context
from meterpipe.ops.runs import FAILED, Run, RunIndex, describe_run, list_runs, runs_by_day

MAX_DAYS = 366  # backfill.asl.json refuses longer ranges


class BackfillError(MeterpipeError):
    """A backfill that cannot start as asked (range too long, concurrency out of bounds)."""


@dataclass(frozen=True)
class PlannedDay:
    date: dt.date
    run: bool
    reason: str
    latest: Run | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "run": self.run,
            "reason": self.reason,
            "latestExecution": self.latest.name if self.latest else None,
            "latestStatus": self.latest.status if self.latest else None,
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


def concurrency_limit() -> int:
    return int(
        cdk_context().get("meterpipe:backfillMaxConcurrencyLimit") or DEFAULT_BACKFILL_MAX_CONCURRENCY_LIMIT
    )


def plan_backfill(pipeline: Pipeline, days: DateRange, *, only_missing: bool = False) -> BackfillPlan:
    """Every day of ``days``: whether it runs, and why (from its latest run)."""
    if len(days) > MAX_DAYS:
        raise BackfillError(
            f"{days} spans {len(days)} days; a backfill covers at most {MAX_DAYS}: split the range"
        )
    latest = {day: group.latest for day, group in runs_by_day(list_runs(pipeline, days)).items()}
    planned = []
    for day in days.days:
        run = latest.get(day)
        if run is None:
            planned.append(PlannedDay(day, True, "never run"))
        elif run.status == "SUCCEEDED":
            when = f"{run.last_start:%Y-%m-%d %H:%M} UTC"
            if only_missing:
                planned.append(PlannedDay(day, False, f"skip: latest run succeeded ({when})", run))
            else:
                planned.append(PlannedDay(day, True, f"run again: latest run succeeded ({when})", run))
        elif run.status == "RUNNING":
            planned.append(PlannedDay(day, True, f"latest run is still RUNNING ({run.name})", run))
        else:
            planned.append(
                PlannedDay(day, True, f"latest run {run.status}: {run.error or 'no error recorded'}", run)
            )
    return BackfillPlan(tuple(planned))


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


def start_backfill(
    pipeline: Pipeline, plan: BackfillPlan, *, concurrency: int | None = None
) -> list[StartedBackfill]:
    """One backfill execution per run of consecutive days to do."""
    limit = concurrency_limit()
    if concurrency is not None and not 1 <= concurrency <= limit:
        raise BackfillError(
            f"--concurrency must be from 1 to {limit} (meterpipe:backfillMaxConcurrencyLimit)"
        )
    started = []
    for days in plan.ranges:
        body: dict[str, Any] = {"from": days.start.isoformat(), "to": days.end.isoformat()}
        if concurrency is not None:
            body["max_concurrency"] = concurrency
        name = backfill_name(days, pipeline.now())
        response = pipeline.sfn.start_execution(
            stateMachineArn=pipeline.deployment.backfill_arn, name=name, input=json.dumps(body)
        )
        started.append(StartedBackfill(str(response["executionArn"]), name, days, response["startDate"]))
    return started


@dataclass
class DayProgress:
    date: dt.date
    run: Run | None = None  # the day's daily_rollup execution, once the backfill started it
    root_cause: str | None = None

    @property
    def status(self) -> str:
        return self.run.status if self.run else "PENDING"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"date": self.date.isoformat(), "status": self.status}
        if self.run:
            data.update(
                execution=self.run.name,
                executionArn=self.run.arn,
                itemsWritten=self.run.items_written,
                error=self.run.error,
                cause=readable_cause(self.run.cause),
                rootCause=self.root_cause,
            )
        return data


@dataclass
class BackfillProgress:
    backfills: list[Run]
    days: dict[dt.date, DayProgress] = field(default_factory=dict)

    def count(self, *statuses: str) -> int:
        return sum(1 for d in self.days.values() if d.status in statuses)

    @property
    def succeeded(self) -> int:
        return self.count("SUCCEEDED")

    @property
    def failed(self) -> int:
        return self.count(*FAILED)

    @property
    def running(self) -> int:
        return self.count("RUNNING", "PENDING_REDRIVE")

    @property
    def pending(self) -> int:
        return self.count("PENDING")

    @property
    def items_written(self) -> int:
        return sum(d.run.items_written or 0 for d in self.days.values() if d.run)

    @property
    def done(self) -> bool:
        return all(b.done for b in self.backfills)

    @property
    def failed_days(self) -> list[DayProgress]:
        return [d for d in self.days.values() if d.status in FAILED or d.status == "PENDING"]

    @property
    def ok(self) -> bool:
        return self.done and all(b.status == "SUCCEEDED" for b in self.backfills) and not self.failed_days

    def to_json(self) -> dict[str, Any]:
        return {
            "backfills": [
                {
                    "execution": b.name,
                    "executionArn": b.arn,
                    "status": b.status,
                    "error": b.error,
                    "cause": b.cause,
                }
                for b in self.backfills
            ],
            "succeeded": self.succeeded,
            "failed": self.failed,
            "running": self.running,
            "pending": self.pending,
            "itemsWritten": self.items_written,
            "days": [d.to_json() for d in sorted(self.days.values(), key=lambda d: d.date)],
        }


def backfill_progress(
    pipeline: Pipeline, backfills: list[Run], index: RunIndex, since: dt.datetime | None
) -> BackfillProgress:
    runs = index.runs(started_after=since)
    progress = BackfillProgress(backfills)
    for backfill in backfills:
        given = backfill.input if isinstance(backfill.input, dict) else {}
        try:
            days = DateRange.parse(str(given.get("from")), str(given.get("to")))
        except MeterpipeError:
            continue
        for day in days.days:
            progress.days.setdefault(day, DayProgress(day))
        for run in backfill_days(pipeline, backfill, runs):
            if run.date is not None:
                progress.days[run.date] = DayProgress(run.date, run)
    return progress


def watch_backfills(
    pipeline: Pipeline,
    started: list[StartedBackfill] | list[Run],
    *,
    on_progress: Callable[[BackfillProgress], None] | None = None,
    poll_seconds: float = 1.0,
) -> BackfillProgress:
    """Follow backfill executions until they end; failed days get their root cause."""
    arns = [item.arn for item in started]
    index = RunIndex(pipeline)
    since = min(item.start for item in started) if started else None
    while True:
        backfills = [describe_run(pipeline, arn) for arn in arns]
        progress = backfill_progress(pipeline, backfills, index, since)
        if on_progress is not None:
            on_progress(progress)
        if progress.done:
            break
        time.sleep(poll_seconds)
    for day in progress.failed_days:
        if day.run is not None and day.run.failed:
            day.root_cause = root_cause(pipeline, day.run.arn)
    return progress
