"""Redriving failed days.

AWS redrives only the states of an execution that have no ``*Exited`` event. A backfill's
RunDays Map tolerates every failure and so always exits: RedriveExecution of a failed backfill
would re-run only its final DaysFailed state. So days are redriven through their own
daily_rollup executions: RedriveExecution when DescribeExecution says the execution is
redrivable, else (for example more than 14 days after it ended) a fresh run of that day,
saying which it did and why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from meterpipe.aws import error_code
from meterpipe.errors import MeterpipeError
from meterpipe.ops.dates import DateRange
from meterpipe.ops.history import (
    backfill_days,
    build_spans,
    failed_batch,
    find_execution,
    history_events,
    last_attempt,
)
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.runs import Run, list_runs, run_from_description, runs_by_day, start_run

Action = Literal["redrive", "fresh run", "nothing"]
# Errors a child batch raises for its input itself: the same rows fail the same way again.
DETERMINISTIC_BATCH_ERRORS = frozenset({"InvalidBatchError"})


class NothingToRedrive(MeterpipeError):
    """The execution named did not fail."""


@dataclass(frozen=True)
class RedriveAction:
    date: dt.date | None
    action: Action
    reason: str
    previous: Run  # the failed execution
    execution_arn: str  # what runs now: the redriven execution or the fresh one
    execution_name: str
    expected_redrive_count: int = 0  # a redriven execution's count once the redrive shows

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat() if self.date else None,
            "action": self.action,
            "reason": self.reason,
            "failedExecution": self.previous.name,
            "failedStatus": self.previous.status,
            "execution": self.execution_name,
            "executionArn": self.execution_arn,
        }


def futile_redrive(pipeline: Pipeline, run: Run) -> str | None:
    """Why RedriveExecution cannot change the outcome, or None.

    A redrive re-runs only the states without an *Exited event, with the inputs they had: a run
    that failed in a Fail state (MeterPipe.ReconcileFailed, MeterPipe.InvalidInput) would only
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


def redrive_run(pipeline: Pipeline, run: Run, *, fresh: bool = False) -> RedriveAction:
    """RedriveExecution if AWS allows it and it can change the outcome, else a fresh run of the
    same day (always, with ``fresh``)."""
    if fresh:
        return _fresh_run(pipeline, run, "asked for a fresh run (--fresh)")
    if run.redrive_status in (None, "REDRIVABLE"):
        futile = futile_redrive(pipeline, run)
        if futile:
            return _fresh_run(pipeline, run, f"a redrive cannot succeed: {futile}")
        try:
            pipeline.sfn.redrive_execution(executionArn=run.arn)
        except ClientError as error:
            if error_code(error) not in ("ExecutionNotRedrivable", "ExecutionLimitExceeded"):
                raise
            why = str(error.response.get("Error", {}).get("Message", "")) or error_code(error)
            return _fresh_run(pipeline, run, f"RedriveExecution refused: {why}")
        return RedriveAction(
            run.date,
            "redrive",
            f"RedriveExecution: {run.status.lower()} and redrivable; re-runs only the failed states",
            run,
            run.arn,
            run.name,
            expected_redrive_count=run.redrive_count + 1,
        )
    reason = run.redrive_status_reason or f"redrive status {run.redrive_status}"
    return _fresh_run(pipeline, run, f"not redrivable ({reason})")


def _fresh_run(pipeline: Pipeline, run: Run, why: str) -> RedriveAction:
    if run.date is None:
        raise MeterpipeError(
            f"{run.name} cannot be redriven ({why}) and names no processing date to run again"
        )
    fresh = start_run(pipeline, run.date, origin="redrive")
    return RedriveAction(
        run.date, "fresh run", f"{why}: started a fresh run of the day", run, fresh.arn, fresh.name
    )


def redrive_execution(pipeline: Pipeline, reference: str, *, fresh: bool = False) -> list[RedriveAction]:
    """Redrive a daily_rollup execution, or each failed day of a backfill (name or ARN)."""
    machine, described = find_execution(pipeline, reference)
    execution = run_from_description(described, pipeline.timezone)
    if machine == "daily_rollup":
        if not execution.failed:
            raise NothingToRedrive(
                f"{execution.name} is {execution.status}: only failed, aborted or timed-out runs are redriven"
            )
        return [redrive_run(pipeline, execution, fresh=fresh)]
    if not execution.done:
        raise NothingToRedrive(f"backfill {execution.name} is still {execution.status}: wait for it to end")
    # One listing of daily_rollup's runs (each described) serves both: the backfill's days, and
    # whether a failed day has run again since.
    runs = list_runs(pipeline)
    days = backfill_days(pipeline, execution, runs)
    failed = [run for run in days if run.failed]
    if not failed:
        raise NothingToRedrive(f"backfill {execution.name} has no failed days ({len(days)} days ran)")
    latest = runs_by_day(runs)
    actions = []
    for run in failed:
        newest = latest[run.date].latest if run.date in latest else run
        if newest.arn != run.arn and not newest.failed:
            note = f"already {newest.status.lower()} since, by {newest.name}"
            actions.append(RedriveAction(run.date, "nothing", note, run, newest.arn, newest.name))
            continue
        actions.append(redrive_run(pipeline, newest, fresh=fresh))
    return actions


def failed_days(pipeline: Pipeline, days: DateRange | None = None) -> list[Run]:
    """The latest run of every day (in ``days``) whose latest run failed, aborted or timed out."""
    grouped = runs_by_day(list_runs(pipeline, days))
    return [group.latest for group in grouped.values() if group.latest.failed]


def redrive_failed(
    pipeline: Pipeline, days: DateRange | None = None, *, fresh: bool = False
) -> list[RedriveAction]:
    """Every day (in ``days``) whose latest run failed, redriven."""
    return [redrive_run(pipeline, run, fresh=fresh) for run in failed_days(pipeline, days)]
