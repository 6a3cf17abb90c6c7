"""Redriving: every day of a range that has no success, completed in one command.

The days come from the per-day ledger (one Query), not from listing executions: a day failed,
incomplete, aborted or without data, a day whose execution a crash interrupted (a RUNNING record
whose execution ended, or no longer exists), and, for a bounded range, a day with no record at
all (never started, for example by a backfill killed part-way). For each:

- RedriveExecution of the execution that owns the day (the record's ``Execution``), where AWS
  allows it (``redriveStatus``) and where it can change the outcome: a redrive re-runs only the
  failed states, with the inputs they had;
- otherwise a fresh run: each stretch of consecutive days as one backfill execution (the
  backfill state machine bounds their concurrency), a lone day as one daily_rollup execution.

A backfill is never redriven as a whole: its RunDays Map tolerates every failure and so always
exits, and AWS redrives only states without an ``*Exited`` event. ``redrive <backfill>`` covers
that backfill's range instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from meterpipe.aws import error_code
from meterpipe.errors import MeterpipeError
from meterpipe.ops.backfill import MAX_DAYS, StartedBackfill, start_backfill
from meterpipe.ops.dates import DateRange, contiguous
from meterpipe.ops.history import (
    backfill_range,
    build_spans,
    failed_batch,
    find_execution,
    history_events,
    last_attempt,
)
from meterpipe.ops.ledger import DayRecord, day_record, day_records, execution_record
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.runs import Run, UnknownExecution, describe_run, run_from_description, start_run
from meterpipe.ops.watch import Tracked, Work

Action = Literal["redrive", "fresh run", "backfill", "wait", "nothing"]
# Errors a child batch raises for its input itself: the same rows fail the same way again.
DETERMINISTIC_BATCH_ERRORS = frozenset({"InvalidBatchError"})


class NothingToRedrive(MeterpipeError):
    """The execution or range named has nothing to redrive."""


@dataclass(frozen=True)
class RedriveAction:
    date: dt.date
    action: Action
    reason: str
    execution_arn: str | None  # what runs now: the redriven, fresh, backfill or running execution
    execution_name: str | None
    previous: DayRecord | None = None  # the day's record before
    expected_redrive_count: int = 0  # a redriven execution's count once the redrive shows

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "action": self.action,
            "reason": self.reason,
            "previousExecution": self.previous.execution_name if self.previous else None,
            "previousStatus": self.previous.status if self.previous else None,
            "execution": self.execution_name,
            "executionArn": self.execution_arn,
        }


@dataclass
class Redrive:
    """What one redrive did: an action per day, and the backfills it started for fresh stretches."""

    days: DateRange | None
    actions: list[RedriveAction] = field(default_factory=list)
    backfills: list[StartedBackfill] = field(default_factory=list)
    baseline: dict[dt.date, int] = field(default_factory=dict)  # attempts before anything started

    @property
    def acting(self) -> list[RedriveAction]:
        """The actions that run something (all but "nothing")."""
        return [a for a in self.actions if a.action != "nothing"]

    def tracked(self) -> list[Tracked]:
        """The executions to follow: each redriven, fresh or running one, and each backfill, once."""
        found: dict[str, Tracked] = {}
        for action in self.acting:
            if action.execution_arn and action.execution_name:
                found.setdefault(
                    action.execution_arn,
                    Tracked(action.execution_arn, action.execution_name, action.expected_redrive_count),
                )
        return list(found.values())

    def work(self) -> Work:
        """The work to follow: the days acted on, from their attempts before the redrive."""
        days = tuple(sorted({a.date for a in self.acting}))
        return Work(days, {d: n for d, n in self.baseline.items() if d in days}, self.tracked())

    def to_json(self) -> dict[str, Any]:
        return {
            "actions": [a.to_json() for a in self.actions],
            "backfills": [b.to_json() for b in self.backfills],
        }


def futile_redrive(pipeline: Pipeline, run: Run) -> str | None:
    """Why RedriveExecution cannot change the outcome, or None.

    A redrive re-runs only the states without an *Exited event, with the inputs they had: a run
    that failed in a Fail state (a MeterPipe validation error, MeterPipe.ReconcileFailed) would only
    fail there again, and a map run whose batches write_batch rejected (InvalidBatchError) would
    re-send the same rows, read from the query result before the data was fixed. A fresh run
    reads the lake again.
    """
    try:
        spans, redrives = build_spans(history_events(pipeline, run.arn))
    except (ClientError, BotoCoreError):
        return None
    attempt = last_attempt(spans, redrives)
    for span in attempt:
        if span.type == "Fail":
            return f"it failed in its {span.name} state ({run.error}), which a redrive would only run again"
    failure = failed_batch(pipeline, attempt)
    if failure is not None and failure.error in DETERMINISTIC_BATCH_ERRORS:
        return (
            f"write_batch rejected rows of the day's query result ({failure.error}); a redrive "
            "would re-send the same rows, a fresh run reads the lake again"
        )
    return None


def _owner(pipeline: Pipeline, record: DayRecord) -> Run | None:
    try:
        return describe_run(pipeline, record.execution_arn)
    except UnknownExecution:
        return None


def _why_not_redrive(pipeline: Pipeline, record: DayRecord, run: Run | None, fresh: bool) -> str | None:
    """Why the day's owner is not redriven but the day run afresh; None: redrive it."""
    if fresh:
        return "asked for a fresh run (--fresh)"
    if run is None:
        return f"its execution {record.execution_name} no longer exists"
    if not run.failed:
        return f"its execution {run.name} is {run.status}"
    if run.redrive_status not in (None, "REDRIVABLE"):
        return f"not redrivable ({run.redrive_status_reason or f'redrive status {run.redrive_status}'})"
    futile = futile_redrive(pipeline, run)
    return f"a redrive cannot succeed: {futile}" if futile else None


def _redrive_day(pipeline: Pipeline, record: DayRecord, fresh: bool) -> RedriveAction | str:
    """RedriveExecution of the day's owner, or why the day needs a fresh run."""
    run = _owner(pipeline, record)
    why = _why_not_redrive(pipeline, record, run, fresh)
    if why is not None or run is None:
        return why or "no execution to redrive"
    try:
        pipeline.sfn.redrive_execution(executionArn=run.arn)
    except ClientError as error:
        if error_code(error) not in ("ExecutionNotRedrivable", "ExecutionLimitExceeded"):
            raise
        return (
            f"RedriveExecution refused: {error.response.get('Error', {}).get('Message') or error_code(error)}"
        )
    return RedriveAction(
        record.date,
        "redrive",
        f"{record.status.lower()}, and redrivable: RedriveExecution re-runs only the failed states",
        run.arn,
        run.name,
        record,
        expected_redrive_count=run.redrive_count + 1,
    )


def _describe_state(record: DayRecord | None) -> str:
    if record is None:
        return "never run: no ledger record"
    error = f" ({record.error})" if record.error else ""
    return f"{record.status}{error}"


def redrive_days(
    pipeline: Pipeline,
    days: DateRange | None = None,
    *,
    fresh: bool = False,
    concurrency: int | None = None,
    only: Iterable[dt.date] | None = None,
) -> Redrive:
    """Complete every day of ``days`` (every day with a record when None) that has no success;
    ``only`` limits it to those dates."""
    records = day_records(pipeline, days)
    wanted = set(only) if only is not None else None
    bounded = days is not None and days.start != dt.date.min and days.end != dt.date.max
    candidates = sorted(set(days.days) | set(records) if days is not None and bounded else set(records))
    result = Redrive(days, baseline={day: record.attempts for day, record in records.items()})
    fresh_days: dict[dt.date, tuple[str, DayRecord | None]] = {}
    for day in candidates:
        record = records.get(day)
        if (wanted is not None and day not in wanted) or (record is not None and record.succeeded):
            continue
        if record is None:
            fresh_days[day] = ("never run: no ledger record (never started)", None)
            continue
        if record.running:
            result.actions.append(
                RedriveAction(
                    day,
                    "wait",
                    "running now: waits for it",
                    record.execution_arn,
                    record.execution_name,
                    record,
                )
            )
            continue
        done = _redrive_day(pipeline, record, fresh)
        if isinstance(done, RedriveAction):
            result.actions.append(done)
        else:
            fresh_days[day] = (f"{_describe_state(record)}; {done}", record)
    _start_fresh(pipeline, result, fresh_days, concurrency)
    result.actions.sort(key=lambda action: action.date)
    return result


def _start_fresh(
    pipeline: Pipeline,
    result: Redrive,
    fresh_days: dict[dt.date, tuple[str, DayRecord | None]],
    concurrency: int | None,
) -> None:
    """Fresh runs: each stretch of two or more consecutive days as one backfill execution (a
    longer one than a backfill covers, as several), a lone day as one daily_rollup execution."""
    stretches = [
        DateRange(part[0], part[-1])
        for stretch in contiguous(list(fresh_days))
        for part in (stretch.days[n : n + MAX_DAYS] for n in range(0, len(stretch), MAX_DAYS))
    ]
    lone = [stretch.start for stretch in stretches if len(stretch) == 1]
    longer = [stretch for stretch in stretches if len(stretch) > 1]
    for day in lone:
        why, record = fresh_days[day]
        started = start_run(pipeline, day, origin="redrive")
        result.actions.append(
            RedriveAction(
                day, "fresh run", f"{why}: a fresh run of the day", started.arn, started.name, record
            )
        )
    if not longer:
        return
    for backfill in start_backfill(pipeline, longer, concurrency=concurrency):
        result.backfills.append(backfill)
        for day in backfill.days.days:
            why, record = fresh_days[day]
            result.actions.append(
                RedriveAction(
                    day,
                    "backfill",
                    f"{why}: run afresh by a backfill of {backfill.days}",
                    backfill.arn,
                    backfill.name,
                    record,
                )
            )


def redrive_execution(
    pipeline: Pipeline, reference: str, *, fresh: bool = False, concurrency: int | None = None
) -> Redrive:
    """Redrive a daily_rollup execution's day, or every day without a success of a backfill's
    range (name or ARN)."""
    machine, described = find_execution(pipeline, reference)
    execution = run_from_description(described, pipeline.timezone)
    if machine == "backfill":
        days = backfill_range(execution)
        if not execution.done:
            raise NothingToRedrive(
                f"backfill {execution.name} is still {execution.status}: wait for it to end, or stop it "
                f"with `meterpipe stop {execution.name}`"
            )
        if days is None:
            raise NothingToRedrive(f"backfill {execution.name} names no date range in its input")
        result = redrive_days(pipeline, days, fresh=fresh, concurrency=concurrency)
        if not result.actions:
            raise NothingToRedrive(f"every day of backfill {execution.name} ({days}) has succeeded")
        return result
    if not execution.failed:
        raise NothingToRedrive(
            f"{execution.name} is {execution.status}: only failed, aborted or timed-out runs are redriven"
        )
    found = execution_record(pipeline, execution.arn)
    day = found[0] if found else execution.date
    if day is None:
        raise MeterpipeError(f"{execution.name} names no processing date to run again")
    record = day_record(pipeline, day)
    if record is not None and record.execution_arn != execution.arn and (record.succeeded or record.running):
        state = "succeeded" if record.succeeded else "running"
        note = f"already {state} since, by {record.execution_name}"
        action = RedriveAction(day, "nothing", note, record.execution_arn, record.execution_name, record)
        return Redrive(DateRange(day, day), [action], baseline={day: record.attempts})
    return redrive_days(pipeline, DateRange(day, day), fresh=fresh, concurrency=concurrency)
